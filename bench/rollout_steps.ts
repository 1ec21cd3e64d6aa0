/**
 * The rollout scenario of `deno task bench:reload --rollout`: a candidate is
 * copied into the repository (`"stage": "candidate"`), then, one step every
 * few seconds, a shadow starts, a canary for half the devices starts, the
 * candidate is promoted and rolled back, all through the admin API. The
 * caller keeps its clients sending and buckets their replies by the step
 * that was under way (`phaseAt`).
 *
 * @example
 * ```ts
 * import { ROLLOUT_STEPS } from "./rollout_steps.ts";
 *
 * console.log(ROLLOUT_STEPS.map((s) => s.name).join(", ")); // shadow, canary, promote, rollback
 * ```
 * @module
 */

/** One step: its name, and the API call that starts it. */
export interface RolloutStep {
  name: string;
  method: "POST";
  path: string;
  body: Record<string, unknown> | null;
}

/** The steps, in order: version 2 is the candidate, version 1 serves. */
export const ROLLOUT_STEPS: readonly RolloutStep[] = [
  {
    name: "shadow",
    method: "POST",
    path: "/v2/models/mnist/shadow",
    body: { version: 2, sample: 0.1 },
  },
  {
    name: "canary",
    method: "POST",
    path: "/v2/models/mnist/canary",
    body: { version: 2, share: 0.5 },
  },
  { name: "promote", method: "POST", path: "/v2/models/mnist/promote", body: { version: 2 } },
  { name: "rollback", method: "POST", path: "/v2/models/mnist/rollback", body: null },
];

/** Copies the version folder `from` in as candidate `version` of model mnist: aside, then `mv`. */
export async function addCandidate(root: string, from: string, version: number): Promise<void> {
  const staging = `${root}/.incoming-${version}`;
  await Deno.mkdir(staging);
  await Deno.copyFile(`${from}/model.onnx`, `${staging}/model.onnx`);
  const metadata = JSON.parse(await Deno.readTextFile(`${from}/model.json`));
  await Deno.writeTextFile(
    `${staging}/model.json`,
    JSON.stringify({ ...metadata, stage: "candidate" }),
  );
  await Deno.rename(staging, `${root}/mnist/${version}`);
}

/**
 * Runs the steps against the server's HTTP port, `everyMs` apart; tells
 * `onStep(name, at)` as each starts. Throws when a step is refused.
 */
export async function runRolloutSteps(
  httpPort: number,
  adminToken: string,
  everyMs: number,
  onStep: (name: string, at: number) => void,
): Promise<void> {
  for (const step of ROLLOUT_STEPS) {
    onStep(step.name, performance.now());
    const response = await fetch(`http://127.0.0.1:${httpPort}${step.path}`, {
      method: step.method,
      headers: { authorization: `Bearer ${adminToken}` },
      body: step.body ? JSON.stringify(step.body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${step.name}: ${response.status} ${text}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

import assert from "node:assert/strict";
import { Status, statusName, WireError } from "../../shared/errors.ts";
import { errorResponse, httpStatusOf } from "./errors.ts";

// protocol.md's table of error codes is what clients read: each code's HTTP column lists the
// statuses it may have, the first one being the code's own (a route may answer another it lists).
const table = await Deno.readTextFile(new URL("../../docs/protocol.md", import.meta.url));

function documentedStatuses(): Map<string, number[]> {
  const rows = new Map<string, number[]>();
  for (const line of table.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim());
    const code = cells[2]?.match(/^`([A-Z_]+)`$/)?.[1];
    if (!code || !/^\d+$/.test(cells[1])) continue;
    rows.set(code, cells.at(-2)!.split(",").map((s) => Number(s.trim())));
  }
  return rows;
}

Deno.test("every wire code has protocol.md's HTTP status", () => {
  const rows = documentedStatuses();
  const codes = Object.values(Status);
  assert.equal(rows.size, codes.length, "protocol.md has a row for every code");
  for (const status of codes) {
    const name = statusName(status);
    const listed = rows.get(name);
    assert.ok(listed, `protocol.md has no row for ${name}`);
    if (status === Status.OK) continue; // OK is no error: 200, never an error response
    assert.equal(httpStatusOf(new WireError(status, "x")), listed[0], name);
  }
});

Deno.test("an error response carries the code's status and its sentence", async () => {
  const response = errorResponse(new WireError(Status.BAD_UPDATE, "rollout 3 is stopped"));
  assert.equal(response.status, 409);
  assert.deepEqual(await response.json(), { error: "BAD_UPDATE: rollout 3 is stopped" });
  const unauthorized = errorResponse(new WireError(Status.UNAUTHORIZED, "no token"));
  assert.equal(unauthorized.headers.get("www-authenticate"), 'Bearer realm="mnist"');
  await unauthorized.body?.cancel();
});

// The firmware names itself as the update tests expect.
import assert from "node:assert/strict";
import { NAME } from "../server/testing/releases.ts";
import { clientName } from "./build.ts";

Deno.test("the firmware's name in its client string is the one the update tests use", () => {
  assert.ok(clientName("1a2b3c4d").startsWith(`${NAME} `));
});

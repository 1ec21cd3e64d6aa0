// SharedBoardLimits: one set of counters for every thread that builds one over
// the same buffer, and a per-address table that keeps its counts through any
// order of adds and removes (checked against the in-process BoardLimits).
import assert from "node:assert/strict";
import { prng } from "../../shared/testing.ts";
import { BoardLimits } from "../tcp/limits.ts";
import { SharedBoardLimits } from "./shared_limits.ts";

const options = {
  maxConnections: 1000,
  maxConnectionsPerAddress: 3,
  maxBufferedBytes: 1000,
  maxQueued: 64,
  minQueueShare: 4,
};

Deno.test("two SharedBoardLimits over one buffer keep one count of connections, bytes and busy", () => {
  const a = SharedBoardLimits.create({ ...options, maxConnections: 3 });
  const b = new SharedBoardLimits({ ...options, maxConnections: 3 }, a.buffer);
  assert.deepEqual([a.addConnection(), b.addConnection(), b.addConnection(), a.addConnection()], [
    true,
    true,
    true,
    false,
  ]);
  b.removeConnection();
  assert.equal(a.open, 2);
  assert.equal(a.charge(600), true);
  assert.equal(b.charge(600), false, "one budget: 600 + 600 passes 1000");
  assert.equal(b.charge(-100), true);
  assert.equal(a.buffered, 500);
  const share = b.queueShare();
  assert.equal(share.admit(), null);
  assert.equal(a.busy, 1, "a connection with digits waiting counts for every thread");
  share.release();
  assert.equal(a.busy, 0);
});

Deno.test("the shared per-address table agrees with BoardLimits through random adds and removes", () => {
  const shared = SharedBoardLimits.create(options);
  const other = new SharedBoardLimits(options, shared.buffer);
  const model = new BoardLimits(options);
  const random = prng(7);
  // Many addresses, some sharing hash slots' runs: removals must keep later entries findable.
  const addresses = Array.from(
    { length: 300 },
    (_, i) => i % 3 === 0 ? `10.0.${i >> 8}.${i & 255}` : `fd00::${i.toString(16)}`,
  );
  const held: string[] = [];
  for (let step = 0; step < 20_000; step++) {
    const limits = random() < 0.5 ? shared : other;
    if (held.length > 0 && random() < 0.45) {
      const address = held.splice(Math.floor(random() * held.length), 1)[0];
      limits.removeAddress(address);
      model.removeAddress(address);
    } else {
      const address = addresses[Math.floor(random() * addresses.length)];
      const added = limits.addAddress(address);
      assert.equal(added, model.addAddress(address), `step ${step}: ${address}`);
      if (added) held.push(address);
    }
  }
  for (const address of held.splice(0)) shared.removeAddress(address);
  for (const address of addresses.slice(0, 20)) {
    assert.equal(other.addAddress(address), true, "every count back to zero");
  }
});

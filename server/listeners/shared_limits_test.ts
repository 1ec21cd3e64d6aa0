// SharedBoardLimits: one set of counters for every thread that builds one over
// the same buffer, a per-address table that keeps its counts through any
// order of adds and removes (checked against the in-process BoardLimits), and
// what a thread that has ended held given back, whatever the others hold.
import assert from "node:assert/strict";
import { prng } from "../../shared/testing.ts";
import { BoardLimits, httpBudget } from "../tcp/limits.ts";
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

Deno.test("HTTP bodies take at most half the buffer budget; board messages the whole, in process and shared", () => {
  const shared = SharedBoardLimits.create(options, 2);
  for (const limits of [new BoardLimits(options), shared]) {
    const http = httpBudget(limits);
    assert.equal(http.charge(400), true);
    assert.equal(http.charge(101), false, "401 + 100 passes 500, half of 1000");
    assert.equal(http.charge(100), true);
    assert.equal(limits.charge(499), true, "a board's message takes the rest");
    assert.equal(http.charge(1), false);
    assert.equal(http.charge(-500) && limits.charge(-499), true);
    assert.equal(limits.buffered, 0);
  }
  assert.deepEqual(shared.held(0).buffered, 0);
});

Deno.test("a buffer budget past 2 GiB never wraps the shared count around", () => {
  const limits = SharedBoardLimits.create({ ...options, maxBufferedBytes: 3_000_000_000 });
  assert.equal(limits.charge(2_000_000_000), true);
  assert.equal(limits.charge(500_000_000), false, "2.5 GB does not fit a 32-bit count");
  assert.equal(limits.buffered, 2_000_000_000);
});

Deno.test("the shared per-address table agrees with BoardLimits through random adds and removes", () => {
  const shared = SharedBoardLimits.create(options, 2);
  const other = new SharedBoardLimits(options, shared.buffer, 1);
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

Deno.test("release gives back what one thread held; the others' counts and entries stay", () => {
  const threads = [SharedBoardLimits.create(options, 3)];
  for (const t of [1, 2]) threads.push(new SharedBoardLimits(options, threads[0].buffer, t));
  const random = prng(11);
  const addresses = Array.from({ length: 200 }, (_, i) => `192.168.${i >> 4}.${i & 15}`);
  /** What each thread holds: its addresses (with repeats), connections and bytes. */
  const held = threads.map(() => ({ addresses: [] as string[], open: 0, buffered: 0 }));
  for (let step = 0; step < 5_000; step++) {
    const t = Math.floor(random() * 3);
    const [limits, mine] = [threads[t], held[t]];
    const address = addresses[Math.floor(random() * addresses.length)];
    if (mine.addresses.length > 0 && random() < 0.4) {
      limits.removeAddress(mine.addresses.pop()!);
      limits.removeConnection();
      mine.open--;
    } else if (limits.addAddress(address) && limits.addConnection()) {
      mine.addresses.push(address);
      mine.open++;
    }
    const bytes = Math.floor(random() * 20) - (mine.buffered > 10 ? 10 : 0);
    if (limits.charge(bytes)) mine.buffered += bytes;
  }
  const main = threads[0];
  const theirs = {
    open: held[1].open,
    buffered: held[1].buffered,
    addresses: held[1].addresses.length,
  };
  assert.ok(theirs.open > 0 && theirs.buffered > 0);
  assert.deepEqual(main.held(1), theirs);
  assert.deepEqual(main.release(1), theirs);
  assert.deepEqual(main.held(1), { open: 0, buffered: 0, addresses: 0 }, "nothing left, once");
  assert.deepEqual(main.release(1), { open: 0, buffered: 0, addresses: 0 });
  assert.equal(main.open, held[0].open + held[2].open);
  assert.equal(main.buffered, held[0].buffered + held[2].buffered);
  // Each address has exactly the places the living threads do not hold.
  const model = new BoardLimits(options);
  for (const address of [...held[0].addresses, ...held[2].addresses]) model.addAddress(address);
  for (const address of addresses) {
    let added = 0;
    while (threads[1].addAddress(address)) added++;
    let room = 0;
    while (model.addAddress(address)) room++;
    assert.equal(added, room, address);
  }
  main.release(1);
  // The living threads' entries are still found: removing them all empties the table.
  for (const t of [0, 2]) {
    for (const address of held[t].addresses) threads[t].removeAddress(address);
  }
  for (const t of [0, 1, 2]) assert.equal(main.held(t).addresses, 0);
  for (const address of addresses.slice(0, 10)) {
    assert.deepEqual([1, 2, 3, 4].map(() => threads[2].addAddress(address)), [
      true,
      true,
      true,
      false,
    ]);
  }
});

Deno.test("release takes the address table's lock from the thread that ended holding it", () => {
  const main = SharedBoardLimits.create(options, 2);
  const worker = new SharedBoardLimits(options, main.buffer, 1);
  assert.equal(worker.addAddress("10.0.0.7"), true);
  // Word 0 is the lock, holding its holder's thread + 1: the Worker ended inside it.
  Atomics.store(new Int32Array(main.buffer), 0, 2);
  assert.deepEqual(main.release(1), { open: 0, buffered: 0, addresses: 1 });
  assert.equal(main.addAddress("10.0.0.7"), true, "the lock is free again");
});

Deno.test("a thread outside the ones the limits were made for is refused", () => {
  const main = SharedBoardLimits.create(options, 2);
  assert.throws(() => new SharedBoardLimits(options, main.buffer, 2), RangeError);
});

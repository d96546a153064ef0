import assert from "node:assert/strict";
import { test } from "node:test";

import { changesWrite, readStored, rowKey, stateWrite, WriteQueue } from "../../extension/src/storage";
import { STATE_KEY, type StoredState } from "../../extension/src/state";
import { EVERYTHING } from "../shared/interest";
import { applyChange, rowsFromLists, rowsFromSnapshot, type ChangeEvent } from "../shared/rows";
import { RealtimeStore } from "../src/realtime-store";

const META: StoredState = { cursor: "e-9-0", status: "connected", liveAt: 5, interest: null, apiBase: "http://x", problem: null, dropped: [], unreachableSince: null, updateCheck: null };

function trade(action: ChangeEvent["action"], id: number, price: string, lsn: number): ChangeEvent {
  return { table: "trades", action, record: { id, price }, changes: null, commit_lsn: lsn, commit_idx: 0, commit_timestamp: null };
}

test("a failed write does not stop the writes after it", async () => {
  const errors: unknown[] = [];
  const done: string[] = [];
  const queue = new WriteQueue((error) => errors.push(error));
  void queue.enqueue(async () => void done.push("first"));
  void queue.enqueue(async () => {
    throw new Error("QUOTA_BYTES quota exceeded");
  });
  await queue.enqueue(async () => void done.push("cursor moved on"));
  assert.deepEqual(done, ["first", "cursor moved on"]);
  assert.equal(errors.length, 1);
});

test("writes run in order, each after the previous finished", async () => {
  const order: number[] = [];
  const queue = new WriteQueue(() => {});
  const slow = () => new Promise<void>((resolve) => setTimeout(resolve, 5));
  void queue.enqueue(async () => {
    await slow();
    order.push(1);
  });
  await queue.enqueue(async () => void order.push(2));
  assert.deepEqual(order, [1, 2]);
});

test("an event writes the rows it changed and the cursor, nothing else", () => {
  const rows = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [1, 2, 3].map((id) => ({ id, price: "1" })) } });
  const changed = applyChange(rows, trade("update", 2, "2.50", 20), "e-2-0")!;
  const deleted = applyChange(rows, trade("delete", 3, "1", 21), "e-2-1")!;
  const write = changesWrite([changed, deleted], META);
  assert.deepEqual(Object.keys(write.set).sort(), [STATE_KEY, rowKey("trades", "2")].sort());
  assert.deepEqual(write.set[rowKey("trades", "2")], { table: "trades", row: { id: 2, price: "2.50" }, version: [20, 0] });
  assert.deepEqual(write.remove, [rowKey("trades", "3")]);
});

test("a queued write carries the version its change was applied with, not the row's later one", async () => {
  // The background applies changes as they arrive and queues their storage writes: c2 is applied
  // before c1's write has run. Stored with version 30 and c1's price, the row would stay stale after
  // a restart (replaying c2 would be skipped as not newer).
  const rows = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [{ id: 1, price: "1.00" }] } });
  const storage: Record<string, unknown> = {};
  const queue = new WriteQueue((error) => assert.fail(String(error)));
  const c1 = applyChange(rows, trade("update", 1, "2.00", 20), "e-2-0")!;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const c1Written = queue.enqueue(async () => {
    await held; // storage is slow: c2 arrives meanwhile
    Object.assign(storage, changesWrite([c1], META).set);
  });
  const c2 = applyChange(rows, trade("update", 1, "3.00", 30), "e-3-0")!;
  assert.deepEqual(rows.versions.get("trades:1"), [30, 0]);
  release();
  await c1Written; // only c1's write has run
  assert.deepEqual(storage[rowKey("trades", "1")], { table: "trades", row: { id: 1, price: "2.00" }, version: [20, 0] });
  // After a restart from what was stored, c2 is newer and applies.
  const restored = readStored(storage);
  const again = rowsFromLists(restored.rows, restored.versions);
  assert.ok(applyChange(again, trade("update", 1, "3.00", 30), "e-3-0"));
  assert.equal(again.tables.trades.get("1")?.price, "3.00");
  assert.deepEqual(changesWrite([c2], META).set[rowKey("trades", "1")], { table: "trades", row: { id: 1, price: "3.00" }, version: [30, 0] });
});

test("a row deleted and inserted again in one batch ends up written", () => {
  const rows = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [{ id: 1, price: "1" }] } });
  const gone = applyChange(rows, trade("delete", 1, "1", 30), "e-2-0")!;
  const back = applyChange(rows, trade("insert", 1, "5", 31), "e-2-1")!;
  const write = changesWrite([gone, back], META);
  assert.deepEqual(write.remove, []);
  assert.ok(rowKey("trades", "1") in write.set);
});

test("a new state replaces every row key and the stored view reads back what was written", () => {
  const rows = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [{ id: 7, price: "7" }], games: [{ id: 1 }] } });
  applyChange(rows, trade("update", 7, "7.70", 40), "e-2-0");
  const write = stateWrite(rows, [rowKey("trades", "7"), rowKey("trades", "99"), "apiBase", STATE_KEY], META);
  assert.deepEqual(write.remove, [rowKey("trades", "99")]);
  const view = readStored({ ...write.set, apiBase: "http://x" });
  assert.deepEqual(view.meta, META);
  assert.deepEqual(view.rows, { trades: [{ id: 7, price: "7.70" }], games: [{ id: 1 }] });
  assert.deepEqual(view.versions, [["trades:7", 40, 0]]);
});

test("a tab tells each applied id to its observer, keeps none, and forgets the flashes of deleted rows", () => {
  const store = new RealtimeStore();
  const applied: string[] = [];
  store.onApplied = (eventId) => applied.push(eventId);
  const count = 600;
  const rows = Array.from({ length: count }, (_, n) => ({ id: n, symbol: `S${n}`, price: "1.00" }));
  store.handle({ type: "state", rows: { trades: rows, games: [] }, cursor: "e-1-0", status: "connected", liveAt: 1, problem: null, interest: EVERYTHING });
  const change = (n: number, deleted: boolean) => ({
    table: "trades" as const,
    key: String(n),
    row: deleted ? null : { id: n, symbol: `S${n}`, price: "2.00" },
    eventId: `e-${deleted ? 3 : 2}-${n}`,
  });
  store.handle({ type: "changes", changes: Array.from({ length: count }, (_, n) => change(n, false)) });
  store.handle({ type: "changes", changes: Array.from({ length: count / 2 }, (_, n) => change(2 * n + 1, true)) });
  assert.equal(applied.length, count + count / 2);
  assert.equal(applied.at(-1), `e-3-${count - 1}`);
  assert.ok(!Object.values(store).some((value) => Array.isArray(value) && value.includes(applied[0])), "the tab kept an applied id");
  const flashing = [...store.getSnapshot().flashes.keys()];
  assert.equal(flashing.length, count / 2);
  assert.ok(flashing.every((key) => Number(key.split(":")[1]) % 2 === 0 && key.endsWith(":price")));
  assert.equal(store.getSnapshot().flashes.get("trades:0:price")?.direction, "up");
});

test("a new owner asking for interest is told this tab's access token first, so its stream is signed in", () => {
  const store = new RealtimeStore();
  const said: string[] = [];
  store.sendAuth = (token) => said.push(`auth ${token}`);
  store.sendInterest = () => said.push("interest");
  store.handle({ type: "askInterest" });
  assert.deepEqual(said, ["interest"]); // signed out: nothing to tell but the interest
  store.setAuth("token-1");
  said.length = 0;
  store.handle({ type: "askInterest" });
  assert.deepEqual(said, ["auth token-1", "interest"]);
  store.setAuth(null);
  said.length = 0;
  store.handle({ type: "askInterest" });
  assert.deepEqual(said, ["interest"]);
});

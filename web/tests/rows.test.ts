import assert from "node:assert/strict";
import { test } from "node:test";

import { applyChange, DELETED_VERSIONS_KEPT, isAfter, rowsFromSnapshot, truncateTable, type ChangeEvent } from "../shared/rows";

function change(action: ChangeEvent["action"], id: number, price: string, lsn: number, idx = 0): ChangeEvent {
  return { table: "trades", action, record: { id, price }, changes: null, commit_lsn: lsn, commit_idx: idx, commit_timestamp: null };
}

test("a change replaces the row whole; delete removes it", () => {
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [{ id: 1, price: "1.00" }] } });
  assert.deepEqual(applyChange(state, change("update", 1, "2.00", 10), "e-2-0")?.row, { id: 1, price: "2.00" });
  assert.equal(state.tables.trades.get("1")?.price, "2.00");
  assert.equal(applyChange(state, change("delete", 1, "2.00", 11), "e-3-0")?.row, null);
  assert.equal(state.tables.trades.size, 0);
});

test("re-applying an older or equal change is harmless", () => {
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: {} });
  applyChange(state, change("insert", 1, "1.00", 10), "e-2-0");
  applyChange(state, change("update", 1, "3.00", 12), "e-3-0");
  assert.equal(applyChange(state, change("update", 1, "2.00", 11), "e-4-0"), null);
  assert.equal(applyChange(state, change("update", 1, "3.00", 12), "e-4-0"), null);
  assert.equal(state.tables.trades.get("1")?.price, "3.00");
  assert.notEqual(applyChange(state, change("update", 1, "4.00", 12, 1), "e-5-0"), null);
});

test("unknown tables are ignored", () => {
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: {} });
  assert.equal(applyChange(state, { ...change("insert", 1, "1", 1), table: "users" }, "e-2-0"), null);
});

test("isAfter orders stream ids within an epoch", () => {
  assert.ok(isAfter("ab-10-1", "ab-10-0"));
  assert.ok(isAfter("ab-11-0", "ab-10-9"));
  assert.ok(!isAfter("ab-10-0", "ab-10-0"));
  assert.ok(!isAfter("ab-9-5", "ab-10-0"));
  assert.ok(isAfter("zz-1-0", "ab-10-0"));
  assert.ok(isAfter("ab-1-0", null));
});

test("versions survive a round trip through storage lists", async () => {
  const { rowsFromLists, rowsToLists, versionsToList } = await import("../shared/rows");
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: {} });
  applyChange(state, change("insert", 1, "1.00", 10), "e-2-0");
  const restored = rowsFromLists(rowsToLists(state), versionsToList(state));
  assert.equal(applyChange(restored, change("insert", 1, "1.00", 10), "e-2-0"), null);
  assert.equal(restored.tables.trades.get("1")?.price, "1.00");
});

test("a deleted row keeps no version, and only the latest deleted versions are remembered", () => {
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: {} });
  for (let id = 0; id < DELETED_VERSIONS_KEPT + 50; id++) {
    applyChange(state, change("insert", id, "1.00", 10 * id + 1), `e-${id}-0`);
    applyChange(state, change("delete", id, "1.00", 10 * id + 2), `e-${id}-1`);
  }
  assert.equal(state.versions.size, 0);
  assert.equal(state.deleted.size, DELETED_VERSIONS_KEPT);
  // A recently deleted row can't be brought back by an older change...
  const last = DELETED_VERSIONS_KEPT + 49;
  assert.equal(applyChange(state, change("update", last, "9.99", 10 * last + 1), "e-x-0"), null);
  // ...and a newer insert brings it back, with its version held again.
  assert.notEqual(applyChange(state, change("insert", last, "9.99", 10 * last + 3), "e-x-1"), null);
  assert.equal(state.versions.size, 1);
  assert.equal(state.deleted.size, DELETED_VERSIONS_KEPT - 1);
});

test("a truncate drops every row of its table and their versions, and no other table's", () => {
  const state = rowsFromSnapshot({ cursor: "e-1-0", rows: { trades: [{ id: 1, price: "1.00" }], games: [{ id: 1 }] } });
  applyChange(state, change("update", 2, "2.00", 20), "e-2-0");
  applyChange(state, change("delete", 3, "3.00", 21), "e-3-0");
  const removed = truncateTable(state, "trades", "e-4-0");
  assert.deepEqual(removed.map((c) => [c.table, c.key, c.row]).sort(), [["trades", "1", null], ["trades", "2", null]]);
  assert.equal(state.tables.trades.size, 0);
  assert.equal(state.tables.games.size, 1);
  assert.equal(state.versions.size + state.deleted.size, 0);
  // A new row 2 after the truncate has its own, lower-or-higher version: nothing older blocks it.
  assert.notEqual(applyChange(state, change("insert", 2, "5.00", 5), "e-5-0"), null);
  assert.deepEqual(truncateTable(state, "users", "e-6-0"), []);
});

import assert from "node:assert/strict";
import { test } from "node:test";

import { goneViews, newViewId, VIEW_TTL_MS } from "../shared/views";

test("a view id is a v4 UUID made from getRandomValues, and two differ", () => {
  const id = newViewId();
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(newViewId(), id);
  // Only getRandomValues is needed: crypto.randomUUID is missing outside secure contexts.
  assert.equal(newViewId((bytes) => bytes.fill(0xff)), "ffffffff-ffff-4fff-bfff-ffffffffffff");
});

test("without Web Locks a view unheard for longer than the TTL is gone, a recent one stays", () => {
  const heard = new Map([
    ["old", 1_000],
    ["recent", 1_000 + VIEW_TTL_MS],
    ["edge", 1_000 + 1],
  ]);
  assert.deepEqual(goneViews(heard, 1_000 + VIEW_TTL_MS + 1, null, (v) => v), ["old"]);
});

test("with Web Locks a view is gone exactly when its lock is, however long ago it spoke", () => {
  const heard = new Map([
    ["a", 0],
    ["b", 0],
  ]);
  assert.deepEqual(goneViews(heard, 10 * VIEW_TTL_MS, new Set(["lock-a"]), (v) => `lock-${v}`), ["b"]);
});

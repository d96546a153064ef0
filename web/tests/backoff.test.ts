import assert from "node:assert/strict";
import { test } from "node:test";

import { ceilingMs, jitteredDelayMs } from "../shared/backoff";

test("ceiling doubles from about 1 s and caps at about 30 s", () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 6, 50].map((n) => ceilingMs(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test("full jitter stays within [0, ceiling)", () => {
  for (const attempt of [0, 3, 10]) {
    assert.equal(jitteredDelayMs(attempt, () => 0), 0);
    assert.equal(jitteredDelayMs(attempt, () => 0.999999), Math.floor(0.999999 * ceilingMs(attempt)));
    for (let i = 0; i < 200; i++) {
      const delay = jitteredDelayMs(attempt, Math.random);
      assert.ok(delay >= 0 && delay < ceilingMs(attempt));
    }
  }
});

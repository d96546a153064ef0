import assert from "node:assert/strict";
import { test } from "node:test";

import { ceilingMs, DEFAULT_BACKOFF, jitteredDelayMs, ReconnectPolicy } from "../shared/backoff";

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

const table: Array<{ name: string; events: Array<["fail" | "open", number]>; attempts: number[] }> = [
  { name: "consecutive failures grow the attempt", events: [["fail", 0], ["fail", 1], ["fail", 2]], attempts: [1, 2, 3] },
  {
    name: "a short-lived connection does not reset the count",
    events: [["fail", 0], ["fail", 1], ["open", 2], ["fail", 2 + DEFAULT_BACKOFF.stableMs - 1]],
    attempts: [1, 2, 2, 3],
  },
  {
    name: "a connection that stayed up resets the count",
    events: [["fail", 0], ["fail", 1], ["open", 2], ["fail", 2 + DEFAULT_BACKOFF.stableMs]],
    attempts: [1, 2, 2, 1],
  },
];

for (const { name, events, attempts } of table) {
  test(`reconnect policy: ${name}`, () => {
    const policy = new ReconnectPolicy(() => 0.5);
    const seen: number[] = [];
    for (const [kind, now] of events) {
      if (kind === "open") policy.onOpen(now);
      else policy.onFailure(now);
      seen.push(policy.attempt);
    }
    assert.deepEqual(seen, attempts);
  });
}

test("the delay after a reset is drawn from the first ceiling again", () => {
  const policy = new ReconnectPolicy(() => 0.999);
  for (let i = 0; i < 8; i++) policy.onFailure(i);
  assert.ok(policy.onFailure(9) > 20_000);
  policy.onOpen(10);
  assert.ok(policy.onFailure(10 + DEFAULT_BACKOFF.stableMs) < 1000);
});

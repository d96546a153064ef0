import assert from "node:assert/strict";
import { test } from "node:test";

import type { Status } from "../shared/protocol";
import { StreamClient } from "../shared/stream-client";

/** An EventSource stand-in that the test drives: opens, errors, closes. */
class FakeEventSource {
  static readonly CLOSED = 2;
  static last: FakeEventSource | null = null;
  readyState = 0;
  onopen: (() => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(): void {}
  close(): void {
    this.readyState = FakeEventSource.CLOSED;
  }
  failForGood(): void {
    this.readyState = FakeEventSource.CLOSED;
    this.onerror?.();
  }
}

function respond(status: number, body: unknown = {}, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
}

function client(probeAnswer: Response) {
  const statuses: Status[] = [];
  const timers: number[] = [];
  const requests: string[] = [];
  const fetchImpl = (async (url: string, init?: RequestInit) => {
    requests.push(`${init?.method ?? "GET"} ${url}`);
    if (String(url).endsWith("/snapshot")) return respond(200, { cursor: "e-1-0", rows: { trades: [], games: [] } });
    return probeAnswer;
  }) as typeof fetch;
  const stream = new StreamClient({
    apiBase: "http://relay",
    listener: { onState: () => {}, onChanges: () => {}, onStatus: (s) => statuses.push(s) },
    fetchImpl,
    eventSourceImpl: FakeEventSource as unknown as typeof EventSource,
    random: () => 0.5,
    now: () => 0,
    setTimer: (_fn, ms) => timers.push(ms),
    clearTimer: () => {},
  });
  return { stream, statuses, timers, requests };
}

test("a stream refused with 503 and Retry-After waits at least that long", async () => {
  const { stream, timers, requests } = client(respond(503, {}, { "retry-after": "12" }));
  stream.start();
  await settle();
  FakeEventSource.last!.failForGood();
  await settle();
  assert.ok(requests.includes("HEAD http://relay/events?lastEventId=e-1-0"), requests.join(", "));
  assert.deepEqual(timers, [12_000]);
  assert.equal(stream.phase, "backoff");
});

test("a stream refused with 400 is shown as an error, not retried for ever", async () => {
  const { stream, statuses, timers } = client(respond(400, { error: "bad cursor" }));
  stream.start();
  await settle();
  FakeEventSource.last!.failForGood();
  await settle();
  assert.equal(stream.status, "error");
  assert.equal(statuses.at(-1), "error");
  assert.deepEqual(timers, []);
  assert.deepEqual(stream.error, { kind: "http", status: 400, retryAfterMs: null });
  stream.retryNow(); // `online`, or the user: try again
  assert.equal(stream.phase, "connecting");
});

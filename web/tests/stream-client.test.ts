import assert from "node:assert/strict";
import { test } from "node:test";

import type { AccountPreferences } from "../shared/account-sync";
import type { Interest } from "../shared/interest";
import type { Status } from "../shared/protocol";
import { type ClientListener, StreamClient } from "../shared/stream-client";

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
  private readonly listeners = new Map<string, (message: MessageEvent<string>) => void>();
  addEventListener(type: string, listener: (message: MessageEvent<string>) => void): void {
    this.listeners.set(type, listener);
  }
  /** An event of this type arrives, with this data. */
  emit(type: string, data: string, lastEventId = ""): void {
    this.listeners.get(type)?.({ data, lastEventId } as MessageEvent<string>);
  }
  /** The connection dropped; EventSource would retry the same URL by itself. */
  drop(): void {
    this.onerror?.();
  }
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

function client(probeAnswer: Response, interest?: Interest, extra: Partial<ClientListener> = {}) {
  const statuses: Status[] = [];
  const timers: number[] = [];
  const callbacks: Array<() => void> = [];
  const requests: string[] = [];
  const fetchImpl = (async (url: string, init?: RequestInit) => {
    requests.push(`${init?.method ?? "GET"} ${url}`);
    if (String(url).includes("/snapshot")) return respond(200, { cursor: "e-1-0", rows: { trades: [], games: [] } });
    return probeAnswer;
  }) as typeof fetch;
  const stream = new StreamClient({
    apiBase: "http://relay",
    interest,
    listener: { onState: () => {}, onChanges: () => {}, onStatus: (s) => statuses.push(s), ...extra },
    fetchImpl,
    eventSourceImpl: FakeEventSource as unknown as typeof EventSource,
    random: () => 0.5,
    now: () => 0,
    setTimer: (fn, ms) => {
      callbacks.push(fn);
      return timers.push(ms) - 1;
    },
    clearTimer: (handle) => {
      callbacks[handle as number] = () => {};
    },
  });
  return { stream, statuses, timers, callbacks, requests };
}

test("a stream refused with 503 and Retry-After waits at least that long", async () => {
  const { stream, timers, requests } = client(respond(503, {}, { "retry-after": "12" }));
  stream.start();
  await settle();
  FakeEventSource.last!.failForGood();
  await settle();
  assert.ok(requests.includes("HEAD http://relay/events?lastEventId=e-1-0"), requests.join(", "));
  assert.deepEqual(timers, [37_500, 12_000]); // the stream's watchdog (2.5 heartbeats of 15 s), then the wait
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
  assert.deepEqual(timers, [37_500]); // only the stream's watchdog: no retry
  assert.deepEqual(stream.error, { kind: "http", status: 400, retryAfterMs: null });
  stream.retryNow(); // `online`, or the user: try again
  assert.equal(stream.phase, "connecting");
});

test("a silent stream is closed by the watchdog and resumed from its cursor", async () => {
  const { stream, timers, callbacks, statuses } = client(respond(200));
  stream.start();
  await settle();
  const first = FakeEventSource.last!;
  first.onopen?.();
  assert.equal(stream.status, "connected");
  callbacks[timers.lastIndexOf(37_500)](); // nothing arrived for 2.5 heartbeats
  assert.equal(first.readyState, FakeEventSource.CLOSED);
  assert.equal(stream.phase, "backoff");
  assert.equal(statuses.at(-1), "reconnecting");
  callbacks[timers.length - 1](); // the backoff ends
  assert.equal(FakeEventSource.last!.url, "http://relay/events?lastEventId=e-1-0");
});

test("the filter goes on the snapshot and the stream, and a new one reloads the rows it chooses", async () => {
  const { stream, requests } = client(respond(200), { symbols: ["AAPL", "BRK.B"], leagues: null });
  stream.start();
  await settle();
  assert.deepEqual(requests, ["GET http://relay/snapshot?symbols=AAPL,BRK.B"]);
  assert.equal(FakeEventSource.last!.url, "http://relay/events?symbols=AAPL,BRK.B&lastEventId=e-1-0");
  FakeEventSource.last!.onopen?.();
  const before = FakeEventSource.last!;
  stream.setInterest({ symbols: ["BRK.B", "AAPL"], leagues: null }); // the same choice: nothing to do
  assert.equal(requests.length, 1);
  stream.setInterest({ symbols: [], leagues: ["NFL"] });
  assert.equal(before.readyState, FakeEventSource.CLOSED);
  assert.equal(stream.status, "connected"); // a change of filter isn't a lost connection
  await settle();
  assert.equal(requests.at(-1), "GET http://relay/snapshot?symbols=&leagues=NFL");
  assert.equal(FakeEventSource.last!.url, "http://relay/events?symbols=&leagues=NFL&lastEventId=e-1-0");
});

test("heartbeats saying the server can't read its bus show the stream as delayed, until they don't", async () => {
  const { stream, statuses } = client(respond(200));
  stream.start();
  await settle();
  const source = FakeEventSource.last!;
  source.onopen?.();
  source.emit("heartbeat", '{"interval_ms":1000,"delayed":true}');
  assert.equal(stream.status, "delayed");
  source.emit("heartbeat", '{"interval_ms":1000}');
  assert.equal(stream.status, "connected");
  assert.deepEqual(statuses.slice(-2), ["delayed", "connected"]);
});

test("signed in, each stream attempt has a fresh ticket, and private events advance the cursor", async () => {
  const accounts: number[] = [];
  const { stream, callbacks, requests } = client(respond(200), undefined, { onAccount: (a: AccountPreferences) => accounts.push(a.version) });
  let issued = 0;
  stream.start();
  await settle();
  stream.setTickets(async () => `t${++issued}`);
  await settle();
  const first = FakeEventSource.last!;
  assert.equal(first.url, "http://relay/events?lastEventId=e-1-0&ticket=t1");
  first.onopen?.();
  const preferences = { symbols: ["AAPL"], leagues: null, favouriteTeams: {}, display: {} };
  first.emit("preferences", JSON.stringify({ version: 2, preferences }), "e-2-0");
  assert.deepEqual(accounts, [2]);
  assert.equal(stream.cursor, "e-2-0");
  first.emit("token_expired", "{}");
  await settle();
  const second = FakeEventSource.last!;
  assert.equal(second.url, "http://relay/events?lastEventId=e-2-0&ticket=t2"); // a new ticket, same place
  assert.equal(first.readyState, FakeEventSource.CLOSED);
  second.drop(); // a used ticket can't be retried: probe, back off, then a new ticket
  await settle();
  assert.ok(requests.includes("HEAD http://relay/events?lastEventId=e-2-0"), requests.join(", "));
  assert.equal(stream.phase, "backoff");
  callbacks.at(-1)!();
  await settle();
  assert.equal(FakeEventSource.last!.url, "http://relay/events?lastEventId=e-2-0&ticket=t3");
  stream.setTickets(null); // signed out: public only, from the cursor
  await settle();
  assert.equal(FakeEventSource.last!.url, "http://relay/events?lastEventId=e-2-0");
});

test("a reset is told to the listener: what else the client keeps (the account's) is read again", async () => {
  let resets = 0;
  const { stream } = client(respond(200), undefined, { onReset: () => resets++ });
  stream.start();
  await settle();
  FakeEventSource.last!.onopen?.();
  FakeEventSource.last!.emit("reset", JSON.stringify({ reason: "history_trimmed", cursor: "e-9-0" }));
  assert.equal(resets, 1);
  assert.equal(stream.phase, "snapshot");
});

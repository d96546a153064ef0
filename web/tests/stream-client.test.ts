import assert from "node:assert/strict";
import { test } from "node:test";

import type { AccountPreferences } from "../shared/account-sync";
import type { Interest } from "../shared/interest";
import type { Status } from "../shared/protocol";
import { RESET_SPREAD_MS } from "../shared/client-machine";
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
  assert.deepEqual(timers, [12_500, 12_500]); // the stream's watchdog (2.5 heartbeats of 5 s), then the wait (12 s and the jitter)
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
  assert.deepEqual(timers, [12_500]); // only the stream's watchdog: no retry
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
  callbacks[timers.lastIndexOf(10_000)](); // nothing arrived for 2 heartbeats: delayed, still open
  assert.equal(stream.status, "delayed");
  assert.notEqual(first.readyState, FakeEventSource.CLOSED);
  callbacks[timers.lastIndexOf(2_500)](); // nor for half a heartbeat more: dead
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

test("a truncate empties its table at once, then reloads the rows from a snapshot after a spread wait", async () => {
  const changes: Array<[string, string, unknown]> = [];
  const timers: Array<[() => void, number]> = [];
  let snapshots = 0;
  const stream = new StreamClient({
    apiBase: "http://relay",
    listener: { onState: () => {}, onChanges: (cs) => changes.push(...cs.map((c) => [c.table, c.key, c.row] as [string, string, unknown])), onStatus: () => {} },
    fetchImpl: (async () => {
      snapshots += 1;
      const trades = snapshots === 1 ? [{ id: 1, price: "1.00" }, { id: 2, price: "2.00" }] : [{ id: 9, price: "9.00" }];
      return respond(200, { cursor: `e-${snapshots}-0`, rows: { trades, games: [{ id: 5 }] } });
    }) as typeof fetch,
    eventSourceImpl: FakeEventSource as unknown as typeof EventSource,
    now: () => 0,
    random: () => 0.25,
    setTimer: (fn, ms) => timers.push([fn, ms]),
    clearTimer: () => {},
  });
  stream.start();
  await settle();
  FakeEventSource.last!.onopen?.();
  timers.length = 0;
  FakeEventSource.last!.emit("truncate", JSON.stringify({ table: "trades", action: "truncate", record: {} }));
  assert.deepEqual(changes.sort(), [["trades", "1", null], ["trades", "2", null]]);
  assert.equal(stream.rows.tables.trades.size, 0);
  assert.equal(stream.rows.tables.games.size, 1);
  assert.equal(stream.status, "connected"); // a reload, not a lost connection
  await settle();
  assert.equal(snapshots, 1); // not at once: every client of the table heard it in this instant
  const spread = timers.find(([, ms]) => ms === 0.25 * RESET_SPREAD_MS);
  assert.ok(spread, `timers: ${timers.map(([, ms]) => ms).join(", ")}`);
  spread[0]();
  await settle();
  assert.equal(snapshots, 2);
  assert.deepEqual([...stream.rows.tables.trades.keys()], ["9"]);
  assert.equal(FakeEventSource.last!.url, "http://relay/events?lastEventId=e-2-0");
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
  assert.equal(stream.phase, "backoff"); // every reset's snapshot is spread over RESET_SPREAD_MS
});

test("a relay that no longer serves this client's protocol stops the stream and says outdated", async () => {
  const { stream, statuses, requests } = client(respond(200));
  stream.start();
  await settle();
  const source = FakeEventSource.last!;
  source.onopen?.();
  source.emit("protocol", JSON.stringify({ version: 1, oldest_client: 1 }));
  assert.equal(stream.status, "connected"); // served: nothing changes
  source.emit("protocol", JSON.stringify({ version: 9, oldest_client: 9 }));
  assert.equal(stream.status, "outdated");
  assert.equal(stream.phase, "stopped");
  assert.equal(source.readyState, FakeEventSource.CLOSED);
  assert.deepEqual(statuses.slice(-1), ["outdated"]);
  const asked = requests.length;
  stream.retryNow(); // `online` doesn't bring back a client the relay no longer serves
  await settle();
  assert.equal(requests.length, asked);
});

test("a snapshot refused with 400 keeps the relay's reason, and a new filter asks again at once", async () => {
  const bad = { symbols: ["BAD$SYM"], leagues: null };
  const requests: string[] = [];
  const fetchImpl = (async (url: string) => {
    requests.push(String(url));
    if (String(url).includes("BAD")) return respond(400, { error: "bad_filter", detail: "symbols value 'BAD$SYM' is not a valid symbol" });
    return respond(200, { cursor: "e-1-0", rows: { trades: [], games: [] } });
  }) as typeof fetch;
  const stream = new StreamClient({
    apiBase: "http://relay",
    interest: bad,
    listener: { onState: () => {}, onChanges: () => {}, onStatus: () => {} },
    fetchImpl,
    eventSourceImpl: FakeEventSource as unknown as typeof EventSource,
    setTimer: () => 0,
    clearTimer: () => {},
  });
  stream.start();
  await settle();
  assert.equal(stream.status, "error");
  assert.deepEqual(stream.error, { kind: "http", status: 400, retryAfterMs: null, detail: "symbols value 'BAD$SYM' is not a valid symbol" });
  stream.setInterest({ symbols: ["AAPL"], leagues: null });
  await settle();
  assert.equal(requests.at(-1), "http://relay/snapshot?symbols=AAPL");
  assert.equal(stream.phase, "connecting");
});

test("a refusal's body is read only up to its bound: an endless one doesn't hold the client", async () => {
  let pulled = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled += 1;
      controller.enqueue(new TextEncoder().encode(`{"detail":"${"x".repeat(1000)}`));
    },
  });
  const stream = new StreamClient({
    apiBase: "http://relay",
    listener: { onState: () => {}, onChanges: () => {}, onStatus: () => {} },
    fetchImpl: (async () => new Response(endless, { status: 400 })) as typeof fetch,
    eventSourceImpl: FakeEventSource as unknown as typeof EventSource,
    setTimer: () => 0,
    clearTimer: () => {},
  });
  stream.start();
  for (let i = 0; i < 50 && stream.status !== "error"; i++) await settle();
  assert.equal(stream.status, "error");
  assert.deepEqual(stream.error, { kind: "http", status: 400, retryAfterMs: null }); // unreadable: no detail
  assert.ok(pulled < 10, `read ${pulled} chunks`);
});

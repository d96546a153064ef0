// The streaming client shared by the dashboard's SharedWorker (or leader tab) and the extension's
// service worker: snapshot, then /events from the snapshot's cursor, applying changes by the rule in
// rows.ts; resume by cursor; refetch the snapshot on `reset`, and on `truncate` after dropping the
// table's rows.
//
// A thin I/O shell: every decision is client-machine.ts's pure transition; this file performs the
// effects it asks for (fetch, EventSource, HEAD probe, timers, status) and feeds back the results.
//
// Signed in, each stream is opened with a fresh single-use ticket (`tickets`), so the account's
// private events (`event: preferences`) come on the same stream under the same cursor. A ticket
// can't be reused, so EventSource's own retry (same URL) is not used for such a stream: its errors
// go the probe-and-backoff way, and each new attempt asks for a new ticket.

import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff";
import {
  type ClientEffect,
  type ClientError,
  type ClientInput,
  type ClientState,
  initialState,
  parseRetryAfter,
  refusalDetail,
  type Phase,
  transition,
} from "./client-machine";
import { type AccountPreferences, parsePreferencesEvent, PREFERENCES_EVENT, TOKEN_EXPIRED_EVENT } from "./account-sync";
import { filterQuery, type Interest, sameInterest, streamQuery } from "./interest";
import {
  CHANGE_EVENT,
  HEARTBEAT_EVENT,
  PROTOCOL_EVENT,
  RESET_EVENT,
  type RowChange,
  type Status,
  TRUNCATE_EVENT,
} from "./protocol";
import { applyChange, emptyRows, parseChange, rowsFromSnapshot, type RowsState, type Snapshot, truncateTable } from "./rows";

/** A control event's JSON fields; none when its data isn't a JSON object. */
function eventFields(message: Event): Record<string, unknown> {
  try {
    const fields: unknown = JSON.parse((message as MessageEvent<string>).data);
    return typeof fields === "object" && fields !== null ? (fields as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export interface ClientListener {
  /** The whole state was replaced (snapshot, reset, restore). */
  onState(rows: RowsState, cursor: string | null): void;
  /** Rows changed by stream events. */
  onChanges(changes: RowChange[], cursor: string): void;
  onStatus(status: Status): void;
  /** Attempts have failed without any answer since this moment (null again once one is answered). */
  onUnreachable?(since: number | null): void;
  /** The signed-in account's preferences changed (a private event on this stream). */
  onAccount?(account: AccountPreferences): void;
  /** The server said `reset`: what this stream missed can't be replayed (the account's private
   * events included), so whatever else the client keeps must be read again too. */
  onReset?(): void;
}

/** A fresh stream ticket for the signed-in user; null: stream signed out. */
export type TicketSource = () => Promise<string | null>;

/** A stream ticket for the holder of `token` (POST /events/ticket); null when refused. */
export async function requestTicket(apiBase: string, token: string, fetchImpl: typeof fetch = fetch): Promise<string | null> {
  const response = await fetchImpl(`${apiBase}/events/ticket`, { method: "POST", headers: { Authorization: `Bearer ${token}` }, cache: "no-store" });
  if (!response.ok) return null;
  const body = (await response.json()) as { ticket?: unknown };
  return typeof body.ticket === "string" ? body.ticket : null;
}

export interface ClientOptions {
  apiBase: string;
  listener: ClientListener;
  /** Which rows to receive (`symbols`/`leagues` filters); everything when absent. */
  interest?: Interest;
  fetchImpl?: typeof fetch;
  eventSourceImpl?: typeof EventSource;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffOptions;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Ask for the stream deflated (`compress=deflate`): about a fifth of the bytes. */
  compress?: boolean;
}

function httpError(response: Response, now: number, detail: string | null = null): ClientError {
  const error: ClientError = { kind: "http", status: response.status, retryAfterMs: parseRetryAfter(response.headers.get("retry-after"), now) };
  return detail === null ? error : { ...error, detail };
}

const REFUSAL_BODY_MAX_BYTES = 4096;

/** A refusal's own words (at most REFUSAL_BODY_MAX_BYTES of its body), so the status can name the cause. */
async function refusal(response: Response): Promise<string | null> {
  const reader = response.body?.getReader();
  if (!reader) return null;
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < REFUSAL_BODY_MAX_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
    void reader.cancel(); // the rest, if any, is not read
  } catch {
    return null;
  }
  const bytes = new Uint8Array(size);
  chunks.reduce((offset, chunk) => (bytes.set(chunk, offset), offset + chunk.length), 0);
  return refusalDetail(new TextDecoder().decode(bytes.subarray(0, REFUSAL_BODY_MAX_BYTES)));
}

export class StreamClient {
  rows: RowsState = emptyRows();
  private state: ClientState = initialState();
  private source: EventSource | null = null;
  private timer: unknown = null;
  private watchdog: unknown = null;
  private interest: Interest;
  private tickets: TicketSource | null = null;
  private readonly fetchImpl: typeof fetch;
  private readonly EventSourceImpl: typeof EventSource;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly backoff: BackoffOptions;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly options: ClientOptions) {
    this.fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
    this.EventSourceImpl = options.eventSourceImpl ?? EventSource;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.interest = options.interest ?? { symbols: null, leagues: null };
  }

  get phase(): Phase {
    return this.state.phase;
  }

  get status(): Status {
    return this.state.status;
  }

  get cursor(): string | null {
    return this.state.cursor;
  }

  get error(): ClientError | null {
    return this.state.error;
  }

  /** When the data was last known current (the last byte of a live stream); null before that. */
  get liveAt(): number | null {
    return this.state.liveAt;
  }

  get currentInterest(): Interest {
    return this.interest;
  }

  /** Follow other rows: the rows of the new filter come from a new snapshot, then its stream. */
  setInterest(interest: Interest): void {
    if (sameInterest(interest, this.interest)) return;
    this.interest = interest;
    this.dispatch({ type: "resubscribe" });
  }

  /** Signed in (a source of tickets) or out (null): the stream reopens from its cursor. */
  setTickets(tickets: TicketSource | null): void {
    if (tickets === this.tickets) return;
    this.tickets = tickets;
    this.dispatch({ type: "reopen" });
  }

  /** Begin from a snapshot, or resume from a restored cursor and rows (the extension's storage). */
  start(restored?: { cursor: string; rows: RowsState }): void {
    if (restored) {
      this.rows = restored.rows;
      this.options.listener.onState(this.rows, restored.cursor);
    }
    this.dispatch({ type: "start", cursor: restored?.cursor ?? null });
  }

  stop(): void {
    this.dispatch({ type: "stop" });
  }

  /** The network came back (`online`): don't wait out the backoff. */
  retryNow(): void {
    this.dispatch({ type: "online" });
  }

  /** The network went away (`offline`): stop trying until it is back. */
  goOffline(): void {
    this.dispatch({ type: "offline" });
  }

  private dispatch(input: ClientInput): void {
    const { state, effects } = transition(this.state, input, { backoff: this.backoff, random: this.random(), now: this.now() });
    const unreachableBefore = this.state.unreachableSince;
    this.state = state;
    if (state.unreachableSince !== unreachableBefore) this.options.listener.onUnreachable?.(state.unreachableSince);
    for (const effect of effects) this.perform(effect);
  }

  private perform(effect: ClientEffect): void {
    switch (effect.type) {
      case "fetchSnapshot":
        void this.fetchSnapshot(effect.generation);
        return;
      case "openStream":
        void this.openStream(effect.generation, effect.cursor);
        return;
      case "probeStream":
        void this.probe(effect.generation, effect.cursor);
        return;
      case "closeStream":
        this.closeSource();
        return;
      case "startTimer":
        this.timer = this.setTimer(() => {
          this.timer = null;
          this.dispatch({ type: "timer" });
        }, effect.ms);
        return;
      case "cancelTimer":
        if (this.timer !== null) this.clearTimer(this.timer);
        this.timer = null;
        return;
      case "armWatchdog": {
        this.disarmWatchdog();
        const generation = effect.generation;
        this.watchdog = this.setTimer(() => {
          this.watchdog = null;
          this.dispatch({ type: "silence", generation });
        }, effect.ms);
        return;
      }
      case "status":
        this.options.listener.onStatus(effect.status);
        return;
    }
  }

  private eventsUrl(cursor: string | null, ticket: string | null = null): string {
    const query = [
      streamQuery(this.interest, this.options.compress),
      cursor ? `lastEventId=${encodeURIComponent(cursor)}` : "",
      ticket ? `ticket=${encodeURIComponent(ticket)}` : "",
    ]
      .filter(Boolean)
      .join("&");
    return `${this.options.apiBase}/events${query ? `?${query}` : ""}`;
  }

  private snapshotUrl(): string {
    const query = filterQuery(this.interest);
    return `${this.options.apiBase}/snapshot${query ? `?${query}` : ""}`;
  }

  private disarmWatchdog(): void {
    if (this.watchdog !== null) this.clearTimer(this.watchdog);
    this.watchdog = null;
  }

  private async fetchSnapshot(generation: number): Promise<void> {
    let snapshot: Snapshot;
    try {
      const response = await this.fetchImpl(this.snapshotUrl(), { cache: "no-store" });
      if (!response.ok) {
        this.dispatch({ type: "snapshotFailed", generation, error: httpError(response, this.now(), await refusal(response)) });
        return;
      }
      snapshot = (await response.json()) as Snapshot;
    } catch {
      this.dispatch({ type: "snapshotFailed", generation, error: { kind: "network" } });
      return;
    }
    if (generation !== this.state.generation || this.state.phase !== "snapshot") return;
    this.rows = rowsFromSnapshot(snapshot);
    this.options.listener.onState(this.rows, snapshot.cursor);
    this.dispatch({ type: "snapshotLoaded", generation, cursor: snapshot.cursor });
  }

  /** EventSource gave up without saying why: the same request as HEAD tells the status. */
  private async probe(generation: number, cursor: string | null): Promise<void> {
    let error: ClientError | null = null;
    try {
      const response = await this.fetchImpl(this.eventsUrl(cursor), { method: "HEAD", cache: "no-store" });
      if (!response.ok) error = httpError(response, this.now());
    } catch {
      error = { kind: "network" };
    }
    this.dispatch({ type: "probed", generation, error });
  }

  /** A ticket for this attempt; without one (signed out, or refused) the stream is public only. */
  private async ticket(): Promise<string | null> {
    if (this.tickets === null) return null;
    try {
      return await this.tickets();
    } catch {
      return null;
    }
  }

  private async openStream(generation: number, cursor: string | null): Promise<void> {
    const ticket = await this.ticket();
    if (generation !== this.state.generation || this.state.phase !== "connecting") return;
    const source = new this.EventSourceImpl(this.eventsUrl(cursor, ticket));
    this.source = source;
    source.onopen = () => this.dispatch({ type: "opened", generation, now: this.now() });
    source.addEventListener(CHANGE_EVENT, (message) => {
      if (source !== this.source) return;
      const event = message as MessageEvent<string>;
      let change: RowChange | null = null;
      try {
        change = applyChange(this.rows, parseChange(event.data), event.lastEventId);
      } catch {
        // a malformed event is skipped; the cursor still moves past it
      }
      if (event.lastEventId) this.dispatch({ type: "change", generation, eventId: event.lastEventId });
      this.options.listener.onChanges(change ? [change] : [], this.state.cursor ?? "");
    });
    source.addEventListener(RESET_EVENT, (message) => {
      if (source !== this.source) return;
      // A reset all the same when its data is unreadable: the reason only decides how soon to reload.
      const { reason } = eventFields(message);
      this.options.listener.onReset?.();
      this.dispatch({ type: "reset", generation, reason: typeof reason === "string" ? reason : undefined });
    });
    source.addEventListener(TRUNCATE_EVENT, (message) => {
      if (source !== this.source) return;
      // The table's rows go at once (views show it empty), then a snapshot reloads what is left.
      const { table } = eventFields(message);
      const eventId = (message as MessageEvent<string>).lastEventId;
      if (typeof table === "string") this.options.listener.onChanges(truncateTable(this.rows, table, eventId), this.state.cursor ?? "");
      this.dispatch({ type: "truncate", generation });
    });
    source.addEventListener(HEARTBEAT_EVENT, (message) => {
      if (source !== this.source) return;
      // Still a sign of life when unreadable; the interval known so far is kept (0: unknown).
      const beat = eventFields(message);
      this.dispatch({ type: "heartbeat", generation, intervalMs: Number(beat.interval_ms) || 0, delayed: beat.delayed === true });
    });
    source.addEventListener(PROTOCOL_EVENT, (message) => {
      if (source !== this.source) return;
      const { oldest_client: oldest } = eventFields(message);
      if (typeof oldest === "number") this.dispatch({ type: "protocol", generation, oldestClient: oldest });
    });
    source.addEventListener(PREFERENCES_EVENT, (message) => {
      if (source !== this.source) return;
      const event = message as MessageEvent<string>;
      const account = parsePreferencesEvent(event.data);
      if (event.lastEventId) this.dispatch({ type: "change", generation, eventId: event.lastEventId });
      if (account !== null) this.options.listener.onAccount?.(account);
    });
    source.addEventListener(TOKEN_EXPIRED_EVENT, () => {
      if (source === this.source) this.dispatch({ type: "reopen" }); // a new ticket, from the cursor
    });
    source.onerror = () => {
      if (source !== this.source) return;
      // A ticket is single-use: EventSource retrying the same URL would only be refused.
      const closed = source.readyState === this.EventSourceImpl.CLOSED || ticket !== null;
      this.dispatch({ type: "streamError", generation, closed });
    };
  }

  private closeSource(): void {
    this.disarmWatchdog();
    if (this.source) {
      this.source.onopen = null;
      this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }
}

// The streaming client shared by the dashboard's SharedWorker (or leader tab) and the extension's
// service worker: snapshot, then /events from the snapshot's cursor, applying changes by the rule
// in rows.ts; resume by cursor; refetch the snapshot on `reset`.
//
//   idle ─start─► snapshot ─ok─► connecting ─open─► live
//                   │  ▲            │   ▲             │ error, EventSource retrying ─► connecting
//                   │  │            │   └─────────────┤ closed for good / too many retries
//                   ▼  │            ▼                 ▼
//                 backoff ◄─────────┴───────────── backoff ── timer or `online` ─► connecting
//   `reset` from any state with a stream ─► snapshot
//
// Timing lives in backoff.ts (pure); this file owns only the I/O and the state transitions.

import { DEFAULT_BACKOFF, type BackoffOptions, ReconnectPolicy } from "./backoff";
import { CHANGE_EVENT, RESET_EVENT, type RowChange, type Status } from "./protocol";
import { applyChange, emptyRows, parseChange, rowsFromSnapshot, type RowsState, type Snapshot } from "./rows";

export type Phase = "idle" | "snapshot" | "connecting" | "live" | "backoff" | "stopped";

/** After this many EventSource retries without an open, stop its fixed-interval retry and back off. */
export const MAX_NATIVE_RETRIES = 3;

export interface ClientListener {
  /** The whole state was replaced (snapshot, reset, restore). */
  onState(rows: RowsState, cursor: string | null): void;
  /** Rows changed by stream events. */
  onChanges(changes: RowChange[], cursor: string): void;
  onStatus(status: Status): void;
}

export interface ClientOptions {
  apiBase: string;
  listener: ClientListener;
  fetchImpl?: typeof fetch;
  eventSourceImpl?: typeof EventSource;
  now?: () => number;
  random?: () => number;
  backoff?: BackoffOptions;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

export class StreamClient {
  phase: Phase = "idle";
  status: Status = "disconnected";
  rows: RowsState = emptyRows();
  cursor: string | null = null;
  private source: EventSource | null = null;
  private timer: unknown = null;
  private nativeRetries = 0;
  private readonly policy: ReconnectPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly EventSourceImpl: typeof EventSource;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly options: ClientOptions) {
    this.policy = new ReconnectPolicy(options.random ?? Math.random, options.backoff ?? DEFAULT_BACKOFF);
    this.fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
    this.EventSourceImpl = options.eventSourceImpl ?? EventSource;
    this.now = options.now ?? Date.now;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
  }

  /** Begin from a snapshot, or resume from a restored cursor and rows (the extension's storage). */
  start(restored?: { cursor: string; rows: RowsState }): void {
    if (restored) {
      this.rows = restored.rows;
      this.cursor = restored.cursor;
      this.options.listener.onState(this.rows, this.cursor);
      this.connect();
    } else {
      void this.loadSnapshot();
    }
  }

  stop(): void {
    this.phase = "stopped";
    this.closeSource();
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  /** The network came back (`online`): don't wait out the backoff. */
  retryNow(): void {
    if (this.phase !== "backoff") return;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
    this.resume();
  }

  private setStatus(status: Status): void {
    if (status === this.status) return;
    this.status = status;
    this.options.listener.onStatus(status);
  }

  private async loadSnapshot(): Promise<void> {
    this.closeSource();
    this.phase = "snapshot";
    this.setStatus(this.status === "connected" ? "reconnecting" : this.status);
    let snapshot: Snapshot;
    try {
      const response = await this.fetchImpl(`${this.options.apiBase}/snapshot`, { cache: "no-store" });
      if (!response.ok) throw new Error(`snapshot: HTTP ${response.status}`);
      snapshot = (await response.json()) as Snapshot;
    } catch {
      if (this.phase === "snapshot") this.backOff();
      return;
    }
    if (this.phase !== "snapshot") return;
    this.rows = rowsFromSnapshot(snapshot);
    this.cursor = snapshot.cursor;
    this.options.listener.onState(this.rows, this.cursor);
    this.connect();
  }

  private resume(): void {
    if (this.cursor === null) void this.loadSnapshot();
    else this.connect();
  }

  private connect(): void {
    this.closeSource();
    this.phase = "connecting";
    const query = this.cursor ? `?lastEventId=${encodeURIComponent(this.cursor)}` : "";
    const source = new this.EventSourceImpl(`${this.options.apiBase}/events${query}`);
    this.source = source;
    source.onopen = () => {
      if (source !== this.source) return;
      this.phase = "live";
      this.nativeRetries = 0;
      this.policy.onOpen(this.now());
      this.setStatus("connected");
    };
    source.addEventListener(CHANGE_EVENT, (message) => {
      if (source !== this.source) return;
      const event = message as MessageEvent<string>;
      let change: RowChange | null = null;
      try {
        change = applyChange(this.rows, parseChange(event.data), event.lastEventId);
      } catch {
        return; // a malformed event is skipped; the cursor still moves past it
      } finally {
        if (event.lastEventId) this.cursor = event.lastEventId;
      }
      this.options.listener.onChanges(change ? [change] : [], this.cursor ?? "");
    });
    source.addEventListener(RESET_EVENT, () => {
      if (source !== this.source) return;
      this.cursor = null;
      void this.loadSnapshot();
    });
    source.onerror = () => {
      if (source !== this.source) return;
      if (source.readyState === this.EventSourceImpl.CLOSED) {
        this.backOff(); // error status or wrong content type: EventSource gave up
        return;
      }
      this.nativeRetries += 1;
      this.phase = "connecting";
      this.setStatus("reconnecting");
      if (this.nativeRetries > MAX_NATIVE_RETRIES) this.backOff();
    };
  }

  private backOff(): void {
    this.closeSource();
    this.nativeRetries = 0;
    this.phase = "backoff";
    this.setStatus("disconnected");
    const delay = this.policy.onFailure(this.now());
    this.timer = this.setTimer(() => {
      this.timer = null;
      if (this.phase !== "backoff") return;
      this.setStatus("reconnecting");
      this.resume();
    }, delay);
  }

  private closeSource(): void {
    if (this.source) {
      this.source.onopen = null;
      this.source.onerror = null;
      this.source.close();
      this.source = null;
    }
  }
}


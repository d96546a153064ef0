// The streaming client's states and transitions, as a pure function: (state, input) → (state,
// effects). No I/O, no clock, no randomness of its own: the shell (stream-client.ts) performs the
// effects and feeds back what happened, so every arrow below is a table test (client-machine.test.ts).
//
//   idle ─start─► snapshot ─loaded─► connecting ─opened─► live
//     │ (restored cursor) ────────────►│  ▲                 │ streamError (EventSource retrying)
//                                      │  └── ≤ 3 retries ◄─┘──► connecting (status reconnecting)
//   snapshot ─failed─┐   connecting/live ─streamError closed─► probing ─probed─┐
//                    ▼                                                           ▼
//   fatal 4xx ─► failed (status error; only `start` or `online` tries again)   backoff
//   live ─silence (no byte for DELAYED_BEATS heartbeats)─► live, status delayed
//   connecting / quiet live ─silence (no byte for WATCHDOG_BEATS heartbeats in all)─► backoff
//   backoff ─timer / online─► connecting (or snapshot without a cursor)
//   connecting/live ─protocol (relay's oldest_client above CLIENT_PROTOCOL)─► stopped (status outdated)
//   any phase with a stream ─resubscribe─► snapshot;  ─reset / truncate─► backoff of a random part
//   of RESET_SPREAD_MS, then snapshot (a truncate keeps the status);   any ─offline─► offline ─online─► resume;   stop
//   connecting/live ─reopen (signed in or out; token expired)─► connecting from the cursor
//
// Failures are typed (ClientError). A 503/429 with Retry-After makes that wait the floor of the
// backoff, and the jittered delay comes on top of it (a herd told "2 s" must not all come back at
// 2 s); a 4xx other than 408/429 won't fix itself, so it is not retried for ever but shown.
//
// Liveness: the server sends a heartbeat event every interval (it says which in each one). Every
// stream that opens arms a watchdog, re-armed by each byte that arrives. A live stream silent for
// DELAYED_BEATS intervals shows *Delayed* (a price must not look live 20 s after the last sign of
// life: 2 × the 5 s default is 10 s); silent for WATCHDOG_BEATS in all, it is dead however open the
// socket looks (a frozen server, a half-open TCP connection): it is closed and the client resumes
// from its cursor. A stream still connecting gets the whole WATCHDOG_BEATS at once.
//
// Status says the situation, once: `connecting` until first live, `connected` while live,
// `delayed` while live but the server says (in its heartbeats) that it can't read its bus, so no
// change can arrive and the data ages, `reconnecting` through every retry and backoff after that
// (it does not flap with each attempt), `disconnected` only while the browser is offline, `error`
// on a refusal retrying won't fix.

import { type BackoffOptions, jitteredDelayMs } from "./backoff";
import { CLIENT_PROTOCOL, type Status } from "./protocol";

export type Phase = "idle" | "snapshot" | "connecting" | "live" | "probing" | "backoff" | "offline" | "failed" | "stopped";

/** After this many EventSource retries without an open, stop its fixed-interval retry and back off. */
export const MAX_NATIVE_RETRIES = 3;
/** Silence of this many heartbeat intervals means the stream is dead. */
export const WATCHDOG_BEATS = 2.5;
/** Silence of this many heartbeat intervals on a live stream: its data is no longer shown as live.
 * One late beat (up to a whole interval late) doesn't make it flap. */
export const DELAYED_BEATS = 2;
/** A reset may reach many clients at once: `history_lost` every client of every relay (Redis
 * restarted or failed over), `history_trimmed` and `unknown_position` every stream of a relay
 * process whose bus reader fell behind or lost its place. The client can't tell such a reset from
 * one meant for it alone, so every reset waits a random part of this before its snapshot: the
 * database (4 snapshot connections per relay) isn't asked by all of them in the same instant. A
 * `truncate` reaches every stream that follows its table: its snapshot is spread the same way. */
export const RESET_SPREAD_MS = 2_000;
/** How long attempts may fail without any answer before the server is reported unreachable. */
export const UNREACHABLE_AFTER_MS = 10_000;
/** The server's default heartbeat (SSE_HEARTBEAT_SECONDS), assumed until a stream says its own. */
export const DEFAULT_HEARTBEAT_MS = 5_000;

export type ClientError =
  | { kind: "network" }
  /** `detail`: what the server's body said (its JSON `detail` or `error`), when it said something. */
  | { kind: "http"; status: number; retryAfterMs: number | null; detail?: string }
  | { kind: "malformed" };

export interface ClientState {
  phase: Phase;
  status: Status;
  cursor: string | null;
  /** Identifies the current fetch or stream: results of an older one are ignored. */
  generation: number;
  nativeRetries: number;
  /** Backoff: consecutive failures, and when the last connection opened (it resets them if stable). */
  attempt: number;
  openedAt: number | null;
  error: ClientError | null;
  /** The heartbeat interval the server announced (its watchdog is WATCHDOG_BEATS of them). */
  heartbeatMs: number;
  /** When the data was last known current: the last byte of a live stream. */
  liveAt: number | null;
  /** A live stream silent for DELAYED_BEATS heartbeats (shown delayed; the watchdog runs on). */
  quiet: boolean;
  /** Since when every attempt failed without an answer from the server (network errors, timeouts);
   * null once the server answered anything. Past UNREACHABLE_AFTER_MS a client says it can't reach it. */
  unreachableSince: number | null;
}

export type ClientInput =
  | { type: "start"; cursor: string | null }
  | { type: "snapshotLoaded"; generation: number; cursor: string }
  | { type: "snapshotFailed"; generation: number; error: ClientError }
  | { type: "opened"; generation: number; now: number }
  | { type: "change"; generation: number; eventId: string }
  | { type: "reset"; generation: number; reason?: string }
  /** A table was emptied (its rows are already dropped): reload from a snapshot, still live. */
  | { type: "truncate"; generation: number }
  | { type: "streamError"; generation: number; closed: boolean }
  | { type: "probed"; generation: number; error: ClientError | null }
  /** `delayed`: the server can't read its bus for now (the stream is alive, its data isn't current). */
  | { type: "heartbeat"; generation: number; intervalMs: number; delayed?: boolean }
  | { type: "silence"; generation: number }
  /** The stream's preamble: the oldest client protocol the relay still serves. */
  | { type: "protocol"; generation: number; oldestClient: number }
  /** The filter changed: reload the rows it chooses (the shell holds the filter, for its URLs). */
  | { type: "resubscribe" }
  /** Open the stream again from the cursor: the user signed in or out, or the token behind the
   * stream's ticket expired (the shell asks for a new ticket). */
  | { type: "reopen" }
  | { type: "timer" }
  | { type: "online" }
  | { type: "offline" }
  | { type: "stop" };

export type ClientEffect =
  | { type: "fetchSnapshot"; generation: number }
  | { type: "openStream"; generation: number; cursor: string | null }
  | { type: "probeStream"; generation: number; cursor: string | null }
  | { type: "closeStream" }
  | { type: "startTimer"; ms: number }
  | { type: "cancelTimer" }
  /** (Re)start the stream's watchdog: `silence` for this generation unless a byte comes first. */
  | { type: "armWatchdog"; generation: number; ms: number }
  | { type: "status"; status: Status };

export interface MachineOptions {
  backoff: BackoffOptions;
  /** Uniform in [0, 1): the jitter, injected. */
  random: number;
  now: number;
}

export function initialState(): ClientState {
  return {
    phase: "idle",
    status: "connecting",
    cursor: null,
    generation: 0,
    nativeRetries: 0,
    attempt: 0,
    openedAt: null,
    error: null,
    heartbeatMs: DEFAULT_HEARTBEAT_MS,
    liveAt: null,
    quiet: false,
    unreachableSince: null,
  };
}

/** A failure that retrying won't fix: a 4xx other than 408 (timeout) and 429 (slow down). */
export function isFatal(error: ClientError): boolean {
  return error.kind === "http" && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
}

const DETAIL_MAX_CHARS = 200;

/** A refusal's body (the relay answers `{"error": ..., "detail": ...}`) as one short line; null when
 * it says nothing readable. */
export function refusalDetail(body: string): string | null {
  try {
    const parsed: unknown = JSON.parse(body);
    const fields = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const text = typeof fields.detail === "string" ? fields.detail : typeof fields.error === "string" ? fields.error : null;
    return text === null ? null : text.replace(/\s+/g, " ").trim().slice(0, DETAIL_MAX_CHARS) || null;
  } catch {
    return null;
  }
}

/** What to tell the user about a refusal retrying won't fix, in their words; null for any other state. */
export function describeProblem(status: Status, error: ClientError | null): string | null {
  if (status !== "error" || error?.kind !== "http") return null;
  const why = error.detail ? `: ${error.detail}` : ".";
  return `The server refused the stream (HTTP ${error.status})${why}`;
}

/** What to tell a dashboard's user once `origin` hasn't answered for UNREACHABLE_AFTER_MS (the
 * status alone would say "Reconnecting…" for ever: a relay down, or an API origin the page can't
 * reach, looks the same from here). */
export function unreachableProblem(origin: string): string {
  return `Can't reach ${origin}. Check your network connection; if it works, the server is down or out of reach: this page keeps trying and goes live again by itself.`;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (value === null || value.trim() === "") return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

interface Step {
  state: ClientState;
  effects: ClientEffect[];
}

function withStatus(state: ClientState, status: Status, effects: ClientEffect[]): Step {
  if (status === state.status) return { state, effects };
  return { state: { ...state, status }, effects: [...effects, { type: "status", status }] };
}

function fetchSnapshot(state: ClientState, status: Status): Step {
  const generation = state.generation + 1;
  const next = { ...state, phase: "snapshot" as const, generation, nativeRetries: 0, error: null };
  return withStatus(next, status, [{ type: "closeStream" }, { type: "fetchSnapshot", generation }]);
}

/** The silence that ends the current stage: a live stream's first stage ends at DELAYED_BEATS. */
function watchdog(state: ClientState): ClientEffect {
  const beats = state.phase !== "live" ? WATCHDOG_BEATS : state.quiet ? WATCHDOG_BEATS - DELAYED_BEATS : DELAYED_BEATS;
  return { type: "armWatchdog", generation: state.generation, ms: Math.round(state.heartbeatMs * beats) };
}

function openStream(state: ClientState, status: Status): Step {
  const generation = state.generation + 1;
  const next = { ...state, phase: "connecting" as const, generation, error: null };
  // The watchdog covers the connect too: a server that accepts and then says nothing is no better.
  return withStatus(next, status, [{ type: "closeStream" }, { type: "openStream", generation, cursor: state.cursor }, watchdog(next)]);
}

/** Still trying: `connecting` if it never was live, else `reconnecting`; never a flap in between. */
function retrying(state: ClientState): Status {
  return state.status === "connecting" || (state.status === "disconnected" && state.liveAt === null) ? "connecting" : "reconnecting";
}

/** A snapshot after a random part of RESET_SPREAD_MS (an event that reached many clients at once). */
function spreadSnapshot(state: ClientState, status: Status, options: MachineOptions): Step {
  const next = { ...state, phase: "backoff" as const, cursor: null, openedAt: null, nativeRetries: 0 };
  const ms = Math.round(options.random * RESET_SPREAD_MS);
  return withStatus(next, status, [{ type: "closeStream" }, { type: "cancelTimer" }, { type: "startTimer", ms }]);
}

/** Continue from the cursor if there is one, else from a snapshot. */
function resume(state: ClientState, status: Status): Step {
  return state.cursor === null ? fetchSnapshot(state, status) : openStream(state, status);
}

/** `answered`: the server did answer (a probe that got a 2xx), whatever went wrong. */
function backOff(state: ClientState, error: ClientError, options: MachineOptions, answered = false): Step {
  const closeAndCancel: ClientEffect[] = [{ type: "closeStream" }, { type: "cancelTimer" }];
  if (isFatal(error)) {
    return withStatus({ ...state, phase: "failed", error, nativeRetries: 0, unreachableSince: null }, "error", closeAndCancel);
  }
  const stable = state.openedAt !== null && options.now - state.openedAt >= options.backoff.stableMs;
  const attempt = stable ? 0 : state.attempt;
  const jittered = jitteredDelayMs(attempt, () => options.random, options.backoff);
  const floor = error.kind === "http" && error.retryAfterMs !== null ? error.retryAfterMs : 0;
  const ms = floor + jittered;
  // Silence (a watchdog) on a stream that had opened isn't "unreachable": the server answered.
  const unanswered = error.kind === "network" && state.phase !== "live" && !answered;
  const unreachableSince = unanswered ? (state.unreachableSince ?? options.now) : null;
  const next = { ...state, phase: "backoff" as const, error, attempt: attempt + 1, openedAt: null, nativeRetries: 0, unreachableSince };
  return withStatus(next, retrying(state), [...closeAndCancel, { type: "startTimer", ms }]);
}

function current(state: ClientState, generation: number, ...phases: Phase[]): boolean {
  return generation === state.generation && phases.includes(state.phase);
}

export function transition(state: ClientState, input: ClientInput, options: MachineOptions): Step {
  const unchanged: Step = { state, effects: [] };
  switch (input.type) {
    case "start":
      if (state.phase === "stopped") return unchanged;
      return input.cursor === null ? fetchSnapshot(state, state.status) : openStream({ ...state, cursor: input.cursor }, state.status);
    case "snapshotLoaded":
      if (!current(state, input.generation, "snapshot")) return unchanged;
      return openStream({ ...state, cursor: input.cursor, unreachableSince: null }, state.status);
    case "snapshotFailed":
      if (!current(state, input.generation, "snapshot")) return unchanged;
      return backOff(state, input.error, options);
    case "opened": {
      if (!current(state, input.generation, "connecting")) return unchanged;
      const next = { ...state, phase: "live" as const, nativeRetries: 0, openedAt: input.now, error: null, liveAt: options.now, quiet: false, unreachableSince: null };
      return withStatus(next, "connected", [watchdog(next)]);
    }
    case "change": {
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      const next = { ...state, cursor: input.eventId, liveAt: state.phase === "live" ? options.now : state.liveAt, quiet: false };
      return state.phase === "live" ? withStatus(next, "connected", [watchdog(next)]) : { state: next, effects: [watchdog(next)] };
    }
    case "heartbeat": {
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      const heartbeatMs = input.intervalMs > 0 ? input.intervalMs : state.heartbeatMs;
      const live = state.phase === "live";
      // A delayed beat keeps the stream (its watchdog) but not the data's freshness.
      const fresh = live && !input.delayed;
      const next = { ...state, heartbeatMs, liveAt: fresh ? options.now : state.liveAt, quiet: false };
      if (!live) return { state: next, effects: [watchdog(next)] };
      return withStatus(next, input.delayed ? "delayed" : "connected", [watchdog(next)]);
    }
    case "protocol":
      if (!current(state, input.generation, "live", "connecting") || input.oldestClient <= CLIENT_PROTOCOL) return unchanged;
      // Retrying can't help and a newer relay's events might be misread: stop until reloaded.
      return withStatus({ ...state, phase: "stopped" }, "outdated", [{ type: "closeStream" }, { type: "cancelTimer" }]);
    case "silence": {
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      if (state.phase !== "live" || state.quiet) return backOff({ ...state, quiet: false }, { kind: "network" }, options);
      const next = { ...state, quiet: true };
      return withStatus(next, "delayed", [watchdog(next)]);
    }
    case "resubscribe":
      if (state.phase === "stopped" || state.phase === "idle") return unchanged;
      if (state.phase === "offline" || state.phase === "backoff") {
        return { state: { ...state, cursor: null }, effects: [] }; // the next attempt starts from a snapshot
      }
      // A refused filter may be what the user just changed: the new one is asked at once.
      if (state.phase === "failed") return fetchSnapshot({ ...state, cursor: null }, retrying(state));
      return fetchSnapshot({ ...state, cursor: null }, state.status);
    case "reopen":
      if (state.phase !== "live" && state.phase !== "connecting") return unchanged; // the next open uses it
      return resume(state, state.status);
    case "reset":
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      return spreadSnapshot(state, retrying(state), options);
    case "truncate":
      // Every stream following the table hears it at once: its snapshot is spread like a reset's.
      // The table's rows are already gone and the rest is current: the status is kept.
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      return spreadSnapshot(state, state.status, options);
    case "streamError": {
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      if (input.closed) {
        // EventSource gave up (an error status or a wrong content type) and can't say which:
        // ask the server with a HEAD of the same URL.
        const next = { ...state, phase: "probing" as const };
        return withStatus(next, retrying(state), [{ type: "closeStream" }, { type: "probeStream", generation: state.generation, cursor: state.cursor }]);
      }
      const nativeRetries = state.nativeRetries + 1;
      if (nativeRetries > MAX_NATIVE_RETRIES) return backOff(state, { kind: "network" }, options);
      const next = { ...state, phase: "connecting" as const, nativeRetries };
      return withStatus(next, retrying(state), [watchdog(next)]);
    }
    case "probed":
      if (!current(state, input.generation, "probing")) return unchanged;
      return backOff(state, input.error ?? { kind: "network" }, options, input.error === null);
    case "timer":
      if (state.phase !== "backoff") return unchanged;
      return resume(state, state.status);
    case "online":
      if (state.phase !== "backoff" && state.phase !== "offline" && state.phase !== "failed") return unchanged;
      return resume({ ...state, attempt: 0 }, retrying(state));
    case "offline":
      if (state.phase === "stopped" || state.phase === "idle") return unchanged;
      return withStatus({ ...state, phase: "offline", nativeRetries: 0 }, "disconnected", [{ type: "closeStream" }, { type: "cancelTimer" }]);
    case "stop":
      return { state: { ...state, phase: "stopped" }, effects: [{ type: "closeStream" }, { type: "cancelTimer" }] };
  }
}

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
//   backoff ─timer / online─► connecting (or snapshot without a cursor)
//   any phase with a stream ─reset─► snapshot;   any ─offline─► offline ─online─► resume;   stop
//
// Failures are typed (ClientError). A 503/429 with Retry-After makes that wait the floor of the
// backoff; a 4xx other than 408/429 won't fix itself, so it is not retried for ever but shown.

import { type BackoffOptions, jitteredDelayMs } from "./backoff";
import type { Status } from "./protocol";

export type Phase = "idle" | "snapshot" | "connecting" | "live" | "probing" | "backoff" | "offline" | "failed" | "stopped";

/** After this many EventSource retries without an open, stop its fixed-interval retry and back off. */
export const MAX_NATIVE_RETRIES = 3;

export type ClientError =
  | { kind: "network" }
  | { kind: "http"; status: number; retryAfterMs: number | null }
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
}

export type ClientInput =
  | { type: "start"; cursor: string | null }
  | { type: "snapshotLoaded"; generation: number; cursor: string }
  | { type: "snapshotFailed"; generation: number; error: ClientError }
  | { type: "opened"; generation: number; now: number }
  | { type: "change"; generation: number; eventId: string }
  | { type: "reset"; generation: number }
  | { type: "streamError"; generation: number; closed: boolean }
  | { type: "probed"; generation: number; error: ClientError | null }
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
    status: "disconnected",
    cursor: null,
    generation: 0,
    nativeRetries: 0,
    attempt: 0,
    openedAt: null,
    error: null,
  };
}

/** A failure that retrying won't fix: a 4xx other than 408 (timeout) and 429 (slow down). */
export function isFatal(error: ClientError): boolean {
  return error.kind === "http" && error.status >= 400 && error.status < 500 && error.status !== 408 && error.status !== 429;
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

function openStream(state: ClientState, status: Status): Step {
  const generation = state.generation + 1;
  const next = { ...state, phase: "connecting" as const, generation, error: null };
  return withStatus(next, status, [{ type: "closeStream" }, { type: "openStream", generation, cursor: state.cursor }]);
}

/** Continue from the cursor if there is one, else from a snapshot. */
function resume(state: ClientState, status: Status): Step {
  return state.cursor === null ? fetchSnapshot(state, status) : openStream(state, status);
}

function backOff(state: ClientState, error: ClientError, options: MachineOptions): Step {
  const closeAndCancel: ClientEffect[] = [{ type: "closeStream" }, { type: "cancelTimer" }];
  if (isFatal(error)) {
    return withStatus({ ...state, phase: "failed", error, nativeRetries: 0 }, "error", closeAndCancel);
  }
  const stable = state.openedAt !== null && options.now - state.openedAt >= options.backoff.stableMs;
  const attempt = stable ? 0 : state.attempt;
  const jittered = jitteredDelayMs(attempt, () => options.random, options.backoff);
  const floor = error.kind === "http" && error.retryAfterMs !== null ? error.retryAfterMs : 0;
  const ms = Math.max(jittered, floor);
  const next = { ...state, phase: "backoff" as const, error, attempt: attempt + 1, openedAt: null, nativeRetries: 0 };
  return withStatus(next, "disconnected", [...closeAndCancel, { type: "startTimer", ms }]);
}

function current(state: ClientState, generation: number, ...phases: Phase[]): boolean {
  return generation === state.generation && phases.includes(state.phase);
}

export function transition(state: ClientState, input: ClientInput, options: MachineOptions): Step {
  const unchanged: Step = { state, effects: [] };
  switch (input.type) {
    case "start":
      if (state.phase === "stopped") return unchanged;
      return input.cursor === null ? fetchSnapshot(state, state.status) : openStream({ ...state, cursor: input.cursor }, "reconnecting");
    case "snapshotLoaded":
      if (!current(state, input.generation, "snapshot")) return unchanged;
      return openStream({ ...state, cursor: input.cursor }, state.status);
    case "snapshotFailed":
      if (!current(state, input.generation, "snapshot")) return unchanged;
      return backOff(state, input.error, options);
    case "opened":
      if (!current(state, input.generation, "connecting")) return unchanged;
      return withStatus({ ...state, phase: "live", nativeRetries: 0, openedAt: input.now, error: null }, "connected", []);
    case "change":
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      return { state: { ...state, cursor: input.eventId }, effects: [] };
    case "reset":
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      return fetchSnapshot({ ...state, cursor: null }, state.status === "connected" ? "reconnecting" : state.status);
    case "streamError": {
      if (!current(state, input.generation, "live", "connecting")) return unchanged;
      if (input.closed) {
        // EventSource gave up (an error status or a wrong content type) and can't say which:
        // ask the server with a HEAD of the same URL.
        const next = { ...state, phase: "probing" as const };
        return withStatus(next, "reconnecting", [{ type: "closeStream" }, { type: "probeStream", generation: state.generation, cursor: state.cursor }]);
      }
      const nativeRetries = state.nativeRetries + 1;
      if (nativeRetries > MAX_NATIVE_RETRIES) return backOff(state, { kind: "network" }, options);
      return withStatus({ ...state, phase: "connecting", nativeRetries }, "reconnecting", []);
    }
    case "probed":
      if (!current(state, input.generation, "probing")) return unchanged;
      return backOff(state, input.error ?? { kind: "network" }, options);
    case "timer":
      if (state.phase !== "backoff") return unchanged;
      return resume(state, "reconnecting");
    case "online":
      if (state.phase !== "backoff" && state.phase !== "offline" && state.phase !== "failed") return unchanged;
      return resume({ ...state, attempt: 0 }, "reconnecting");
    case "offline":
      if (state.phase === "stopped" || state.phase === "idle") return unchanged;
      return withStatus({ ...state, phase: "offline", nativeRetries: 0 }, "disconnected", [{ type: "closeStream" }, { type: "cancelTimer" }]);
    case "stop":
      return { state: { ...state, phase: "stopped" }, effects: [{ type: "closeStream" }, { type: "cancelTimer" }] };
  }
}

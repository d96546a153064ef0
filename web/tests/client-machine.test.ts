import assert from "node:assert/strict";
import { test } from "node:test";

import { DEFAULT_BACKOFF } from "../shared/backoff";
import {
  type ClientEffect,
  type ClientInput,
  type ClientState,
  initialState,
  isFatal,
  MAX_NATIVE_RETRIES,
  WATCHDOG_BEATS,
  DEFAULT_HEARTBEAT_MS,
  DELAYED_BEATS,
  parseRetryAfter,
  describeProblem,
  refusalDetail,
  RESET_SPREAD_MS,
  transition,
  UNREACHABLE_AFTER_MS,
} from "../shared/client-machine";
import { CLIENT_PROTOCOL } from "../shared/protocol";

const OPTIONS = { backoff: DEFAULT_BACKOFF, random: 0.5, now: 1_000_000 };

function state(overrides: Partial<ClientState>): ClientState {
  return { ...initialState(), generation: 7, ...overrides };
}

function run(from: ClientState, input: ClientInput, options = OPTIONS) {
  return transition(from, input, options);
}

function types(effects: ClientEffect[]): string[] {
  return effects.map((e) => e.type);
}

const G = 7; // the current generation in these states

// Every arrow of the diagram in client-machine.ts: from, input, expected phase, status, effects.
const arrows: Array<{ name: string; from: Partial<ClientState>; input: ClientInput; phase: string; status: string; effects: string[] }> = [
  { name: "idle -start-> snapshot", from: { phase: "idle" }, input: { type: "start", cursor: null }, phase: "snapshot", status: "connecting", effects: ["closeStream", "fetchSnapshot"] },
  { name: "idle -start with a restored cursor-> connecting", from: { phase: "idle", status: "reconnecting" }, input: { type: "start", cursor: "e-1-0" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "snapshot -loaded-> connecting", from: { phase: "snapshot" }, input: { type: "snapshotLoaded", generation: G, cursor: "e-2-0" }, phase: "connecting", status: "connecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "snapshot -failed (network)-> backoff", from: { phase: "snapshot" }, input: { type: "snapshotFailed", generation: G, error: { kind: "network" } }, phase: "backoff", status: "connecting", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "snapshot -failed (404)-> failed", from: { phase: "snapshot", status: "reconnecting" }, input: { type: "snapshotFailed", generation: G, error: { kind: "http", status: 404, retryAfterMs: null } }, phase: "failed", status: "error", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "connecting -opened-> live", from: { phase: "connecting", cursor: "e-1-0" }, input: { type: "opened", generation: G, now: 5 }, phase: "live", status: "connected", effects: ["status", "armWatchdog"] },
  { name: "live -change-> live (watchdog re-armed)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "change", generation: G, eventId: "e-2-0" }, phase: "live", status: "connected", effects: ["armWatchdog"] },
  { name: "live -heartbeat-> live (watchdog re-armed)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "heartbeat", generation: G, intervalMs: 1000 }, phase: "live", status: "connected", effects: ["armWatchdog"] },
  { name: "connecting -protocol (relay serves this client)-> connecting", from: { phase: "connecting", cursor: "e-1-0" }, input: { type: "protocol", generation: G, oldestClient: CLIENT_PROTOCOL }, phase: "connecting", status: "connecting", effects: [] },
  { name: "connecting -protocol (this client too old)-> stopped", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0" }, input: { type: "protocol", generation: G, oldestClient: CLIENT_PROTOCOL + 1 }, phase: "stopped", status: "outdated", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "stopped (outdated) -online-> stays stopped", from: { phase: "stopped", status: "outdated", cursor: "e-1-0" }, input: { type: "online" }, phase: "stopped", status: "outdated", effects: [] },
  { name: "live -silence-> live (delayed)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "silence", generation: G }, phase: "live", status: "delayed", effects: ["armWatchdog", "status"] },
  { name: "quiet live -silence-> backoff", from: { phase: "live", status: "delayed", quiet: true, cursor: "e-1-0" }, input: { type: "silence", generation: G }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer", "status"] },
  { name: "connecting -silence (never opened)-> backoff", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0" }, input: { type: "silence", generation: G }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "live -streamError (retrying)-> connecting", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "streamError", generation: G, closed: false }, phase: "connecting", status: "reconnecting", effects: ["status", "armWatchdog"] },
  { name: "connecting -one retry too many-> backoff", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0", nativeRetries: MAX_NATIVE_RETRIES }, input: { type: "streamError", generation: G, closed: false }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "live -streamError (closed)-> probing", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "streamError", generation: G, closed: true }, phase: "probing", status: "reconnecting", effects: ["closeStream", "probeStream", "status"] },
  { name: "probing -probed (503)-> backoff", from: { phase: "probing", status: "reconnecting", cursor: "e-1-0" }, input: { type: "probed", generation: G, error: { kind: "http", status: 503, retryAfterMs: 5000 } }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "probing -probed (400)-> failed", from: { phase: "probing", status: "reconnecting", cursor: "e-1-0" }, input: { type: "probed", generation: G, error: { kind: "http", status: 400, retryAfterMs: null } }, phase: "failed", status: "error", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "probing -probed (ok: a blip)-> backoff", from: { phase: "probing", status: "reconnecting", cursor: "e-1-0" }, input: { type: "probed", generation: G, error: null }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "backoff -timer-> connecting (with a cursor)", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "timer" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "backoff -timer-> snapshot (without one)", from: { phase: "backoff", status: "reconnecting", cursor: null }, input: { type: "timer" }, phase: "snapshot", status: "reconnecting", effects: ["closeStream", "fetchSnapshot"] },
  { name: "backoff -online-> connecting", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "online" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "failed -online-> tries again", from: { phase: "failed", status: "error", cursor: "e-1-0" }, input: { type: "online" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog", "status"] },
  { name: "live -reset-> backoff, then a snapshot", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer", "status"] },
  { name: "live -reset (history_lost)-> backoff, then a snapshot", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G, reason: "history_lost" }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer", "status"] },
  { name: "live -truncate-> backoff, then a snapshot (status kept)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "truncate", generation: G }, phase: "backoff", status: "connected", effects: ["closeStream", "cancelTimer", "startTimer"] },
  { name: "backoff -timer-> snapshot (status kept after a truncate)", from: { phase: "backoff", status: "connected", cursor: null }, input: { type: "timer" }, phase: "snapshot", status: "connected", effects: ["closeStream", "fetchSnapshot"] },
  { name: "live -resubscribe-> snapshot (status kept)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "resubscribe" }, phase: "snapshot", status: "connected", effects: ["closeStream", "fetchSnapshot"] },
  { name: "live -reopen-> connecting from the cursor (signed in or out, token expired)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "connecting", status: "connected", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "connecting -reopen-> connecting again", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "backoff -reopen-> unchanged (its next attempt opens anyway)", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "backoff", status: "reconnecting", effects: [] },
  { name: "failed -resubscribe-> snapshot (a new filter is asked at once)", from: { phase: "failed", status: "error", cursor: "e-1-0" }, input: { type: "resubscribe" }, phase: "snapshot", status: "reconnecting", effects: ["closeStream", "fetchSnapshot", "status"] },
  { name: "offline -resubscribe-> offline (drops the cursor)", from: { phase: "offline", status: "disconnected", cursor: "e-1-0" }, input: { type: "resubscribe" }, phase: "offline", status: "disconnected", effects: [] },
  { name: "live -offline-> offline", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "offline" }, phase: "offline", status: "disconnected", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "backoff -offline-> offline (no timer left)", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "offline" }, phase: "offline", status: "disconnected", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "offline -online-> connecting", from: { phase: "offline", status: "disconnected", liveAt: 5, cursor: "e-1-0" }, input: { type: "online" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog", "status"] },
  { name: "live -stop-> stopped", from: { phase: "live", status: "connected" }, input: { type: "stop" }, phase: "stopped", status: "connected", effects: ["closeStream", "cancelTimer"] },
];

test("the status settles: failure after failure says reconnecting once, never flapping to offline", () => {
  let current = state({ phase: "live", status: "connected", cursor: "e-1-0", liveAt: 1, quiet: true });
  const statuses: string[] = [];
  const step = (input: ClientInput) => {
    const result = run(current, input);
    current = result.state;
    for (const effect of result.effects) if (effect.type === "status") statuses.push(effect.status);
  };
  step({ type: "silence", generation: current.generation });
  for (let i = 0; i < 5; i++) {
    step({ type: "timer" });
    step({ type: "streamError", generation: current.generation, closed: true });
    step({ type: "probed", generation: current.generation, error: { kind: "network" } });
  }
  assert.deepEqual(statuses, ["reconnecting"]);
  step({ type: "timer" });
  step({ type: "opened", generation: current.generation, now: 2 });
  assert.deepEqual(statuses, ["reconnecting", "connected"]);
});

test("the watchdog counts heartbeats of the interval the server announced: 2 on a live stream, 2.5 connecting", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  const { state: next, effects } = run(live, { type: "heartbeat", generation: G, intervalMs: 1000 });
  assert.deepEqual(effects, [{ type: "armWatchdog", generation: G, ms: 2000 }]);
  assert.equal(next.liveAt, OPTIONS.now);
  const opened = run(state({ phase: "backoff", cursor: "e-1-0", heartbeatMs: 1000 }), { type: "timer" });
  assert.ok(opened.effects.some((e) => e.type === "armWatchdog" && e.ms === 2500 && e.generation === G + 1));
  assert.equal(WATCHDOG_BEATS, 2.5);
  assert.equal(DELAYED_BEATS, 2);
});

test("a frozen relay: Delayed within 20 s of the last sign of life, then the stream is given up", () => {
  // The default heartbeat, as a relay on defaults announces it.
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0", liveAt: 3 });
  const beat = run(live, { type: "heartbeat", generation: G, intervalMs: DEFAULT_HEARTBEAT_MS });
  const armed = beat.effects.find((e) => e.type === "armWatchdog")!;
  assert.ok(armed.type === "armWatchdog" && armed.ms <= 20_000 - DEFAULT_HEARTBEAT_MS / 2, `Delayed after ${JSON.stringify(armed)}`);
  const quiet = run(beat.state, { type: "silence", generation: G });
  assert.equal(quiet.state.phase, "live"); // the stream stays: a late byte still counts
  assert.equal(quiet.state.status, "delayed");
  assert.equal(quiet.state.liveAt, beat.state.liveAt); // the age on screen keeps growing
  assert.deepEqual(quiet.effects, [
    { type: "armWatchdog", generation: G, ms: (WATCHDOG_BEATS - DELAYED_BEATS) * DEFAULT_HEARTBEAT_MS },
    { type: "status", status: "delayed" },
  ]);
  const late = run(quiet.state, { type: "heartbeat", generation: G, intervalMs: DEFAULT_HEARTBEAT_MS });
  assert.equal(late.state.status, "connected");
  assert.deepEqual(late.effects.find((e) => e.type === "armWatchdog"), { type: "armWatchdog", generation: G, ms: DELAYED_BEATS * DEFAULT_HEARTBEAT_MS });
  const dead = run(quiet.state, { type: "silence", generation: G });
  assert.equal(dead.state.phase, "backoff");
  assert.equal(dead.state.status, "reconnecting");
  assert.equal(dead.state.quiet, false);
});

test("a delayed heartbeat (the server can't read its bus) keeps the stream but not the data's freshness", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0", liveAt: 3 });
  const delayed = run(live, { type: "heartbeat", generation: G, intervalMs: 1000, delayed: true });
  assert.equal(delayed.state.status, "delayed");
  assert.equal(delayed.state.liveAt, 3); // the data's age keeps growing on screen
  assert.deepEqual(delayed.effects, [
    { type: "armWatchdog", generation: G, ms: 2000 },
    { type: "status", status: "delayed" },
  ]);
  const again = run(delayed.state, { type: "heartbeat", generation: G, intervalMs: 1000, delayed: true });
  assert.deepEqual(types(again.effects), ["armWatchdog"]); // said once
  const back = run(delayed.state, { type: "heartbeat", generation: G, intervalMs: 1000 });
  assert.equal(back.state.status, "connected");
  assert.equal(back.state.liveAt, OPTIONS.now);
  const changed = run(delayed.state, { type: "change", generation: G, eventId: "e-2-0" });
  assert.equal(changed.state.status, "connected");
  const silent = run(delayed.state, { type: "silence", generation: G });
  assert.equal(run(silent.state, { type: "silence", generation: G }).state.status, "reconnecting");
});

test("every reset spreads its snapshot over RESET_SPREAD_MS, then loads it", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  for (const random of [0, 0.5, 0.999]) {
    const { state: waiting, effects } = run(live, { type: "reset", generation: G, reason: "history_trimmed" }, { ...OPTIONS, random });
    assert.deepEqual(effects.find((e) => e.type === "startTimer"), { type: "startTimer", ms: Math.round(random * RESET_SPREAD_MS) });
    assert.equal(waiting.cursor, null);
    assert.deepEqual(types(run(waiting, { type: "timer" }).effects), ["closeStream", "fetchSnapshot"]); // then the snapshot
  }
});

test("data is current only while live: a change before the stream opens doesn't freshen it", () => {
  const connecting = state({ phase: "connecting", cursor: "e-1-0", liveAt: 3 });
  assert.equal(run(connecting, { type: "change", generation: G, eventId: "e-2-0" }).state.liveAt, 3);
  assert.equal(run(connecting, { type: "silence", generation: G - 1 }).effects.length, 0); // an old stream's watchdog
});

for (const arrow of arrows) {
  test(`arrow: ${arrow.name}`, () => {
    const { state: next, effects } = run(state(arrow.from), arrow.input);
    assert.equal(next.phase, arrow.phase);
    assert.equal(next.status, arrow.status);
    assert.deepEqual(types(effects).sort(), [...arrow.effects].sort());
  });
}

test("results of an older fetch or stream are ignored", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  for (const input of [
    { type: "streamError", generation: G - 1, closed: true },
    { type: "reset", generation: G - 1 },
    { type: "change", generation: G - 1, eventId: "e-9-9" },
    { type: "opened", generation: G - 1, now: 1 },
  ] as ClientInput[]) {
    assert.deepEqual(run(live, input), { state: live, effects: [] });
  }
  assert.deepEqual(run(state({ phase: "snapshot" }), { type: "snapshotLoaded", generation: G - 1, cursor: "x" }).effects, []);
});

test("a stopped client stays stopped", () => {
  const stopped = state({ phase: "stopped" });
  for (const input of [{ type: "start", cursor: null }, { type: "timer" }, { type: "online" }, { type: "offline" }] as ClientInput[]) {
    assert.equal(run(stopped, input).state.phase, "stopped");
  }
});

test("a change moves the cursor; a new stream resumes from it", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  const moved = run(live, { type: "change", generation: G, eventId: "e-1-5" }).state;
  assert.equal(moved.cursor, "e-1-5");
  const reopened = run({ ...moved, phase: "backoff" }, { type: "timer" });
  assert.deepEqual(reopened.effects.find((e) => e.type === "openStream"), { type: "openStream", generation: G + 1, cursor: "e-1-5" });
});

function delayOf(effects: ClientEffect[]): number {
  const timer = effects.find((e) => e.type === "startTimer");
  assert.ok(timer && timer.type === "startTimer");
  return timer.ms;
}

test("Retry-After is a floor for the backoff, never a ceiling, and the jitter comes on top", () => {
  const probing = state({ phase: "probing", cursor: "e-1-0" });
  const error = (retryAfterMs: number | null) => ({ kind: "http" as const, status: 503, retryAfterMs });
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(20_000) }).effects), 20_500);
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(null) }).effects), 500); // 0.5 × 1 s
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(100) }, { ...OPTIONS, random: 0.9 }).effects), 1000);
});

// Herds: many clients hit by one event at once, each with its own random draw. What they do next
// must be spread out, never all at one instant.
const HERD = Array.from({ length: 100 }, (_, n) => (n + 0.5) / 100);

function spread(delays: number[]): { min: number; max: number; distinct: number } {
  return { min: Math.min(...delays), max: Math.max(...delays), distinct: new Set(delays).size };
}

const herds: Array<{ name: string; from: Partial<ClientState>; input: ClientInput; min: number; max: number }> = [
  { name: "a history_lost reset", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G, reason: "history_lost" }, min: 0, max: RESET_SPREAD_MS },
  { name: "a history_trimmed reset", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G, reason: "history_trimmed" }, min: 0, max: RESET_SPREAD_MS },
  { name: "an unknown_position reset", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G, reason: "unknown_position" }, min: 0, max: RESET_SPREAD_MS },
  { name: "a reset without a readable reason", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0" }, input: { type: "reset", generation: G }, min: 0, max: RESET_SPREAD_MS },
  { name: "a truncate", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "truncate", generation: G }, min: 0, max: RESET_SPREAD_MS },
  { name: "a 503 snapshot with Retry-After: 2", from: { phase: "snapshot", status: "reconnecting" }, input: { type: "snapshotFailed", generation: G, error: { kind: "http", status: 503, retryAfterMs: 2_000 } }, min: 2_000, max: 3_000 },
  { name: "a 429 stream with Retry-After: 5", from: { phase: "probing", status: "reconnecting", cursor: "e-1-0" }, input: { type: "probed", generation: G, error: { kind: "http", status: 429, retryAfterMs: 5_000 } }, min: 5_000, max: 6_000 },
];

for (const herd of herds) {
  test(`herd: ${herd.name} is spread over [${herd.min}, ${herd.max}) ms, then a snapshot or a retry`, () => {
    const delays = HERD.map((random) => delayOf(run(state(herd.from), herd.input, { ...OPTIONS, random }).effects));
    const { min, max, distinct } = spread(delays);
    assert.ok(min >= herd.min && max < herd.max, `${min}..${max}`);
    assert.ok(max - min >= 0.9 * (herd.max - herd.min), `spread only ${min}..${max}`);
    assert.equal(distinct, HERD.length);
    const waiting = run(state(herd.from), herd.input).state;
    assert.equal(waiting.phase, "backoff");
  });
}

test("failures back off exponentially; a connection that stayed up resets the count, a short one does not", () => {
  let s = state({ phase: "snapshot" });
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const step = run({ ...s, phase: "snapshot", generation: G }, { type: "snapshotFailed", generation: G, error: { kind: "network" } }, { ...OPTIONS, random: 0.999 });
    delays.push(delayOf(step.effects));
    s = step.state;
  }
  assert.deepEqual(delays.map((d) => Math.round(d / 1000)), [1, 2, 4, 8]);
  const shortLived = { ...s, phase: "live" as const, openedAt: OPTIONS.now - DEFAULT_BACKOFF.stableMs + 1 };
  const again = run(shortLived, { type: "streamError", generation: G, closed: false, ...{} }, OPTIONS);
  assert.equal(again.state.attempt, s.attempt); // a retry, not yet a failure
  const failedShort = run({ ...shortLived, nativeRetries: MAX_NATIVE_RETRIES }, { type: "streamError", generation: G, closed: false }, OPTIONS);
  assert.equal(failedShort.state.attempt, s.attempt + 1);
  const stable = { ...s, phase: "live" as const, openedAt: OPTIONS.now - DEFAULT_BACKOFF.stableMs, nativeRetries: MAX_NATIVE_RETRIES };
  assert.equal(run(stable, { type: "streamError", generation: G, closed: false }, OPTIONS).state.attempt, 1);
});

test("which failures are final", () => {
  assert.ok(isFatal({ kind: "http", status: 400, retryAfterMs: null }));
  assert.ok(isFatal({ kind: "http", status: 403, retryAfterMs: null }));
  for (const status of [408, 429, 500, 502, 503]) assert.ok(!isFatal({ kind: "http", status, retryAfterMs: null }), String(status));
  assert.ok(!isFatal({ kind: "network" }));
});

test("Retry-After in seconds or as a date", () => {
  assert.equal(parseRetryAfter("7", 0), 7000);
  assert.equal(parseRetryAfter(new Date(60_000).toUTCString(), 0), 60_000);
  assert.equal(parseRetryAfter(null, 0), null);
  assert.equal(parseRetryAfter("soon", 0), null);
});

test("a worker's release is read back from its name", async () => {
  const { BUILD, buildOfName, channelName } = await import("../shared/protocol");
  assert.equal(buildOfName(channelName()), BUILD);
  assert.equal(buildOfName(channelName("abc123")), "abc123");
  assert.notEqual(channelName("a"), channelName("b"));
  assert.equal(buildOfName("scrollr-realtime"), null); // a worker named by a release before versioning
});

test("a refusal's body names the cause in the status; nothing readable, only the code", () => {
  const body = JSON.stringify({ error: "bad_filter", detail: "symbols value 'BAD$SYM' is not a valid symbol" });
  assert.equal(refusalDetail(body), "symbols value 'BAD$SYM' is not a valid symbol");
  assert.equal(refusalDetail(JSON.stringify({ error: "too many streams\nfrom here" })), "too many streams from here");
  assert.equal(refusalDetail("<html>oops</html>"), null);
  assert.equal(refusalDetail(JSON.stringify({ detail: "x".repeat(5000) }))?.length, 200);
  const refused = { kind: "http" as const, status: 400, retryAfterMs: null, detail: "symbols value 'BAD$SYM' is not a valid symbol" };
  assert.equal(describeProblem("error", refused), "The server refused the stream (HTTP 400): symbols value 'BAD$SYM' is not a valid symbol");
  assert.equal(describeProblem("error", { kind: "http", status: 403, retryAfterMs: null }), "The server refused the stream (HTTP 403).");
  assert.equal(describeProblem("reconnecting", refused), null);
});

test("attempts failing without an answer mark the server unreachable from the first; any answer clears it", () => {
  let current = state({ phase: "snapshot", status: "connecting" });
  const step = (input: ClientInput, now: number) => (current = run(current, input, { ...OPTIONS, now }).state);
  step({ type: "snapshotFailed", generation: G, error: { kind: "network" } }, 1_000);
  assert.equal(current.unreachableSince, 1_000);
  step({ type: "timer" }, 3_000);
  step({ type: "snapshotFailed", generation: current.generation, error: { kind: "network" } }, 3_500);
  assert.equal(current.unreachableSince, 1_000); // still since the first
  step({ type: "timer" }, 9_000);
  step({ type: "snapshotFailed", generation: current.generation, error: { kind: "http", status: 503, retryAfterMs: null } }, 9_500);
  assert.equal(current.unreachableSince, null); // it answered, if only to say "not now"
  step({ type: "timer" }, 11_000);
  step({ type: "snapshotLoaded", generation: current.generation, cursor: "e-1-0" }, 11_100);
  step({ type: "streamError", generation: current.generation, closed: true }, 11_200);
  step({ type: "probed", generation: current.generation, error: null }, 11_300); // the HEAD got a 2xx
  assert.equal(current.unreachableSince, null);
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0", quiet: true });
  assert.equal(run(live, { type: "silence", generation: G }).state.unreachableSince, null); // it had answered
  assert.equal(UNREACHABLE_AFTER_MS, 10_000);
});

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
  parseRetryAfter,
  RESET_SPREAD_MS,
  transition,
} from "../shared/client-machine";

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
  { name: "live -silence-> backoff", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "silence", generation: G }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer", "status"] },
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
  { name: "live -reset-> snapshot", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G }, phase: "snapshot", status: "reconnecting", effects: ["closeStream", "fetchSnapshot", "status"] },
  { name: "live -reset (history_lost)-> backoff, then a snapshot", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reset", generation: G, reason: "history_lost" }, phase: "backoff", status: "reconnecting", effects: ["closeStream", "cancelTimer", "startTimer", "status"] },
  { name: "live -resubscribe-> snapshot (status kept)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "resubscribe" }, phase: "snapshot", status: "connected", effects: ["closeStream", "fetchSnapshot"] },
  { name: "live -reopen-> connecting from the cursor (signed in or out, token expired)", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "connecting", status: "connected", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "connecting -reopen-> connecting again", from: { phase: "connecting", status: "reconnecting", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog"] },
  { name: "backoff -reopen-> unchanged (its next attempt opens anyway)", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "reopen" }, phase: "backoff", status: "reconnecting", effects: [] },
  { name: "offline -resubscribe-> offline (drops the cursor)", from: { phase: "offline", status: "disconnected", cursor: "e-1-0" }, input: { type: "resubscribe" }, phase: "offline", status: "disconnected", effects: [] },
  { name: "live -offline-> offline", from: { phase: "live", status: "connected", cursor: "e-1-0" }, input: { type: "offline" }, phase: "offline", status: "disconnected", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "backoff -offline-> offline (no timer left)", from: { phase: "backoff", status: "reconnecting", cursor: "e-1-0" }, input: { type: "offline" }, phase: "offline", status: "disconnected", effects: ["closeStream", "cancelTimer", "status"] },
  { name: "offline -online-> connecting", from: { phase: "offline", status: "disconnected", liveAt: 5, cursor: "e-1-0" }, input: { type: "online" }, phase: "connecting", status: "reconnecting", effects: ["closeStream", "openStream", "armWatchdog", "status"] },
  { name: "live -stop-> stopped", from: { phase: "live", status: "connected" }, input: { type: "stop" }, phase: "stopped", status: "connected", effects: ["closeStream", "cancelTimer"] },
];

test("the status settles: failure after failure says reconnecting once, never flapping to offline", () => {
  let current = state({ phase: "live", status: "connected", cursor: "e-1-0", liveAt: 1 });
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

test("the watchdog lasts about two heartbeats, of the interval the server announced", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  const { state: next, effects } = run(live, { type: "heartbeat", generation: G, intervalMs: 1000 });
  assert.deepEqual(effects, [{ type: "armWatchdog", generation: G, ms: 2500 }]);
  assert.equal(next.liveAt, OPTIONS.now);
  const opened = run(state({ phase: "backoff", cursor: "e-1-0", heartbeatMs: 1000 }), { type: "timer" });
  assert.ok(opened.effects.some((e) => e.type === "armWatchdog" && e.ms === 2500 && e.generation === G + 1));
  assert.equal(WATCHDOG_BEATS, 2.5);
});

test("a delayed heartbeat (the server can't read its bus) keeps the stream but not the data's freshness", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0", liveAt: 3 });
  const delayed = run(live, { type: "heartbeat", generation: G, intervalMs: 1000, delayed: true });
  assert.equal(delayed.state.status, "delayed");
  assert.equal(delayed.state.liveAt, 3); // the data's age keeps growing on screen
  assert.deepEqual(delayed.effects, [
    { type: "armWatchdog", generation: G, ms: 2500 },
    { type: "status", status: "delayed" },
  ]);
  const again = run(delayed.state, { type: "heartbeat", generation: G, intervalMs: 1000, delayed: true });
  assert.deepEqual(types(again.effects), ["armWatchdog"]); // said once
  const back = run(delayed.state, { type: "heartbeat", generation: G, intervalMs: 1000 });
  assert.equal(back.state.status, "connected");
  assert.equal(back.state.liveAt, OPTIONS.now);
  const changed = run(delayed.state, { type: "change", generation: G, eventId: "e-2-0" });
  assert.equal(changed.state.status, "connected");
  assert.equal(run(delayed.state, { type: "silence", generation: G }).state.status, "reconnecting");
});

test("a reset for everyone (history lost) spreads the snapshots over RESET_SPREAD_MS; another reloads at once", () => {
  const live = state({ phase: "live", status: "connected", cursor: "e-1-0" });
  for (const random of [0, 0.5, 0.999]) {
    const { state: waiting, effects } = run(live, { type: "reset", generation: G, reason: "history_lost" }, { ...OPTIONS, random });
    assert.deepEqual(effects.find((e) => e.type === "startTimer"), { type: "startTimer", ms: Math.round(random * RESET_SPREAD_MS) });
    assert.equal(waiting.cursor, null);
    assert.deepEqual(types(run(waiting, { type: "timer" }).effects), ["closeStream", "fetchSnapshot"]); // then the snapshot
  }
  const trimmed = run(live, { type: "reset", generation: G, reason: "history_trimmed" });
  assert.deepEqual(types(trimmed.effects).sort(), ["closeStream", "fetchSnapshot", "status"]);
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

test("Retry-After is a floor for the backoff, never a ceiling", () => {
  const probing = state({ phase: "probing", cursor: "e-1-0" });
  const error = (retryAfterMs: number | null) => ({ kind: "http" as const, status: 503, retryAfterMs });
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(20_000) }).effects), 20_000);
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(null) }).effects), 500); // 0.5 × 1 s
  assert.equal(delayOf(run(probing, { type: "probed", generation: G, error: error(100) }, { ...OPTIONS, random: 0.9 }).effects), 900);
});

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

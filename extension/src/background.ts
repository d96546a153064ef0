// The extension's background service worker: holds the stream to /events with the same client
// core as the dashboard's worker. MV3 stops idle workers and drops their globals, so the cursor and
// rows live in chrome.storage.session; every start of the worker — the first, a wake by the popup,
// or the chrome.alarms watchdog — resumes from the stored cursor (or loads the snapshot when there
// is none), so nothing published while it was stopped is missed.

import type { RowChange } from "../../web/shared/protocol";
import { rowsFromLists, type RowsState } from "../../web/shared/rows";
import { StreamClient } from "../../web/shared/stream-client";
import { APPLIED_KEEP, POPUP_PORT, SETTINGS_API_KEY, STATE_KEY, type StoredState, WATCHDOG_ALARM, WATCHDOG_PERIOD_MINUTES } from "./state";
import { changesWrite, readStored, type StorageWrite, stateWrite, WriteQueue } from "./storage";

declare const __SCROLLR_API__: string;

let client: StreamClient | null = null;
let starting: Promise<void> | null = null;
// In order, so a later state never lands before an earlier one; a failed write (quota, a storage
// error) is logged and the next one still runs, so the stored cursor never stops moving.
const writes = new WriteQueue((error) => console.error("scrollr: storage write failed", error));
const EMPTY: StoredState = { cursor: null, status: "disconnected", applied: [] };

async function loadMeta(): Promise<StoredState> {
  const stored = await chrome.storage.session.get(STATE_KEY);
  return (stored[STATE_KEY] as StoredState | undefined) ?? EMPTY;
}

async function apply(write: StorageWrite): Promise<void> {
  if (write.remove.length) await chrome.storage.session.remove(write.remove);
  await chrome.storage.session.set(write.set);
}

function saveMeta(update: (meta: StoredState) => StoredState): void {
  void writes.enqueue(async () => chrome.storage.session.set({ [STATE_KEY]: update(await loadMeta()) }));
}

function saveState(rows: RowsState, cursor: string | null): void {
  void writes.enqueue(async () => {
    const existing = Object.keys(await chrome.storage.session.get(null));
    await apply(stateWrite(rows, existing, { ...(await loadMeta()), cursor }));
  });
}

function saveChanges(rows: RowsState, changes: RowChange[], cursor: string): void {
  void writes.enqueue(async () => {
    const meta = await loadMeta();
    const applied = [...meta.applied, ...changes.map((c) => c.eventId)].slice(-APPLIED_KEEP);
    await apply(changesWrite(rows, changes, { ...meta, cursor, applied }));
  });
}

async function apiBase(): Promise<string> {
  const settings = await chrome.storage.local.get(SETTINGS_API_KEY);
  return (settings[SETTINGS_API_KEY] as string | undefined) || __SCROLLR_API__;
}

/** Start the stream once per worker, however many wake-ups (top level, popup, alarm) race here. */
function ensureStream(): Promise<void> {
  starting ??= startStream();
  return starting;
}

async function startStream(): Promise<void> {
  const stored = readStored(await chrome.storage.session.get(null));
  const stream: StreamClient = new StreamClient({
    apiBase: await apiBase(),
    listener: {
      onState: (rows, cursor) => saveState(rows, cursor),
      onChanges: (changes, cursor) => saveChanges(stream.rows, changes, cursor),
      onStatus: (status) => saveMeta((meta) => ({ ...meta, status })),
    },
  });
  client = stream;
  const cursor = stored.meta?.cursor;
  // A new worker isn't live yet, whatever the previous one stored.
  saveMeta((meta) => ({ ...meta, status: cursor ? "reconnecting" : "disconnected" }));
  if (cursor) stream.start({ cursor, rows: rowsFromLists(stored.rows, stored.versions) });
  else stream.start();
}

chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === WATCHDOG_ALARM) void ensureStream();
});
chrome.runtime.onInstalled.addListener(() => {
  void chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: WATCHDOG_PERIOD_MINUTES });
});
chrome.runtime.onStartup.addListener(() => void ensureStream());
// An open popup holds a port: connecting wakes this worker, and the popup sees it stop.
chrome.runtime.onConnect.addListener((port) => {
  if (port.name === POPUP_PORT) void ensureStream();
});
self.addEventListener("online", () => client?.retryNow());
self.addEventListener("offline", () => client?.goOffline());

void chrome.alarms.get(WATCHDOG_ALARM).then((alarm) => {
  if (!alarm) void chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: WATCHDOG_PERIOD_MINUTES });
});
void ensureStream();

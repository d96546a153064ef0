// The extension's background service worker: holds the stream to /events with the same client
// core as the dashboard's worker. MV3 stops idle workers and drops their globals, so the cursor and
// rows live in chrome.storage.session; every start of the worker — the first, a wake by the popup,
// or the chrome.alarms watchdog — resumes from the stored cursor (or loads the snapshot when there
// is none), so nothing published while it was stopped is missed.

import { rowsFromLists, rowsToLists, versionsToList } from "../../web/shared/rows";
import { StreamClient } from "../../web/shared/stream-client";
import { APPLIED_KEEP, POPUP_PORT, SETTINGS_API_KEY, STATE_KEY, type StoredState, WATCHDOG_ALARM, WATCHDOG_PERIOD_MINUTES } from "./state";

declare const __SCROLLR_API__: string;

let client: StreamClient | null = null;
let starting: Promise<void> | null = null;
let writes: Promise<unknown> = Promise.resolve();

async function load(): Promise<StoredState | null> {
  const stored = await chrome.storage.session.get(STATE_KEY);
  return (stored[STATE_KEY] as StoredState | undefined) ?? null;
}

/** Storage writes in order: a later state never lands before an earlier one. */
function save(update: (state: StoredState) => StoredState): void {
  writes = writes.then(async () => {
    const current = (await load()) ?? {
      cursor: null,
      rows: { trades: [], games: [] },
      versions: [],
      status: "disconnected",
      applied: [],
    };
    await chrome.storage.session.set({ [STATE_KEY]: update(current) });
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
  const stored = await load();
  const stream: StreamClient = new StreamClient({
    apiBase: await apiBase(),
    listener: {
      onState: (rows, cursor) => save((s) => ({ ...s, rows: rowsToLists(rows), versions: versionsToList(rows), cursor })),
      onChanges: (changes, cursor) =>
        save((s) => ({
          ...s,
          rows: rowsToLists(stream.rows),
          versions: versionsToList(stream.rows),
          cursor,
          applied: [...s.applied, ...changes.map((c) => c.eventId)].slice(-APPLIED_KEEP),
        })),
      onStatus: (status) => save((s) => ({ ...s, status })),
    },
  });
  client = stream;
  // A new worker isn't live yet, whatever the previous one stored.
  save((s) => ({ ...s, status: stored?.cursor ? "reconnecting" : "disconnected" }));
  if (stored?.cursor) stream.start({ cursor: stored.cursor, rows: rowsFromLists(stored.rows, stored.versions) });
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

void chrome.alarms.get(WATCHDOG_ALARM).then((alarm) => {
  if (!alarm) void chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: WATCHDOG_PERIOD_MINUTES });
});
void ensureStream();

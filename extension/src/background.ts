// The extension's background service worker: holds the stream to /events with the same client
// core as the dashboard's worker, filtered to the user's symbols and leagues. MV3 stops idle workers
// and drops their globals, so the cursor and rows live in chrome.storage.session; every start of the
// worker — the first, a wake by the popup, or the chrome.alarms watchdog — resumes from the stored
// cursor (or loads the snapshot when there is none, or when the user's choices or the API origin
// changed since), so nothing published while it was stopped is missed.
//
// Signed in (account.ts), each stream attempt asks for a ticket with the account's access token, so
// the account's preferences changes come on the same stream (`event: preferences`): they are written
// to chrome.storage.sync, which the popup, the options page and this worker's filter follow.

import { describeProblem } from "../../web/shared/client-machine";
import { sameInterest } from "../../web/shared/interest";
import { interestOf, PREFERENCES_KEY, readPreferences, withinCatalog, type Offered } from "../../web/shared/preferences";
import type { RowChange } from "../../web/shared/protocol";
import { rowsFromLists, type RowsState } from "../../web/shared/rows";
import { requestTicket, StreamClient } from "../../web/shared/stream-client";
import { accessToken, adopt, refreshAccount, signIn, signOut, storedAuth, syncOnSignIn } from "./account";
import { serveBars } from "./bar/hub";
import { apiOrigin, preferences, savePreferences } from "./settings";
import { POPUP_PORT, SETTINGS_API_KEY, STATE_KEY, type StoredState, WATCHDOG_ALARM, WATCHDOG_PERIOD_MINUTES } from "./state";
import { changesWrite, readStored, type StorageWrite, stateWrite, WriteQueue } from "./storage";
import { noteApplied } from "./test-hooks";

/** True only in the tests' build (web/build.mjs --test-hooks): esbuild drops what it guards elsewhere. */
declare const __SCROLLR_TEST_HOOKS__: boolean;

let client: StreamClient | null = null;
let starting: Promise<void> | null = null;
// In order, so a later state never lands before an earlier one; a failed write (quota, a storage
// error) is logged and the next one still runs, so the stored cursor never stops moving.
const writes = new WriteQueue((error) => console.error("scrollr: storage write failed", error));
const EMPTY: StoredState = { cursor: null, status: "connecting", liveAt: null, interest: null, apiBase: null, problem: null, dropped: [], unreachableSince: null, updateCheck: null };

async function loadMeta(): Promise<StoredState> {
  const stored = await chrome.storage.session.get(STATE_KEY);
  return { ...EMPTY, ...((stored[STATE_KEY] as Partial<StoredState> | undefined) ?? {}) };
}

async function apply(write: StorageWrite): Promise<void> {
  if (write.remove.length) await chrome.storage.session.remove(write.remove);
  await chrome.storage.session.set(write.set);
}

function saveMeta(update: (meta: StoredState) => StoredState): void {
  void writes.enqueue(async () => chrome.storage.session.set({ [STATE_KEY]: update(await loadMeta()) }));
}

function saveState(stream: StreamClient, apiBase: string, rows: RowsState, cursor: string | null): void {
  void writes.enqueue(async () => {
    const existing = Object.keys(await chrome.storage.session.get(null));
    const meta = { ...(await loadMeta()), cursor, interest: stream.currentInterest, apiBase, liveAt: stream.liveAt };
    await apply(stateWrite(rows, existing, meta));
  });
}

function saveChanges(stream: StreamClient, changes: RowChange[], cursor: string): void {
  void writes.enqueue(async () => {
    const meta = await loadMeta();
    await apply(changesWrite(changes, { ...meta, cursor, liveAt: stream.liveAt }));
    if (__SCROLLR_TEST_HOOKS__) await noteApplied(changes);
  });
}

/** Start the stream once per worker, however many wake-ups (top level, popup, alarm) race here. */
function ensureStream(): Promise<void> {
  starting ??= startStream();
  return starting;
}

/** Stream tickets for the signed-in account (a fresh access token each time, renewed if due). */
function ticketsFor(base: string): () => Promise<string | null> {
  return async () => {
    const token = await accessToken();
    return token === null ? null : requestTicket(base, token);
  };
}

async function startStream(): Promise<void> {
  const [stored, base, chosen] = [readStored(await chrome.storage.session.get(null)), await apiOrigin(), await preferences()];
  const interest = interestOf(chosen);
  const stream: StreamClient = new StreamClient({
    apiBase: base,
    interest,
    compress: true,
    listener: {
      onState: (rows, cursor) => saveState(stream, base, rows, cursor),
      onChanges: (changes, cursor) => saveChanges(stream, changes, cursor),
      onStatus: (status) => {
        saveMeta((meta) => ({ ...meta, status, liveAt: stream.liveAt, problem: describeProblem(status, stream.error) }));
        if (status === "outdated") void updateItself();
      },
      onUnreachable: (since) => saveMeta((meta) => ({ ...meta, unreachableSince: since })),
      onAccount: (account) => void adopt(account),
      onReset: () => void refreshAccount(base), // private events may have been missed too
    },
  });
  client = stream;
  if ((await storedAuth()) !== null) stream.setTickets(ticketsFor(base));
  const meta = stored.meta;
  // Stored rows are worth resuming only if they came from this origin under these choices.
  const resumable = meta?.cursor && meta.apiBase === base && meta.interest !== null && sameInterest(meta.interest, interest);
  // A new worker isn't live yet, whatever the previous one stored.
  saveMeta((previous) => ({ ...previous, status: previous.liveAt === null ? "connecting" : "reconnecting" }));
  if (resumable && meta?.cursor) stream.start({ cursor: meta.cursor, rows: rowsFromLists(stored.rows, stored.versions) });
  else stream.start();
  void checkSavedChoices();
}

/** Saved choices the catalog doesn't have are dropped (the relay would refuse the whole stream for
 * one of them), and named for the popup. Saving them re-subscribes (storage.onChanged, below). A
 * catalog out of reach checks nothing: the stream's own status says what is wrong then. */
async function checkSavedChoices(): Promise<void> {
  let catalog: Offered;
  try {
    const response = await fetch(`${await apiOrigin()}/catalog`);
    if (!response.ok) return;
    catalog = (await response.json()) as Offered;
  } catch {
    return;
  }
  const checked = withinCatalog(await preferences(), catalog);
  if (checked.dropped.length === 0) return;
  console.warn("scrollr: dropped saved choices the catalog doesn't have:", checked.dropped);
  saveMeta((meta) => ({ ...meta, dropped: checked.dropped }));
  await savePreferences(checked.preferences);
}

/** The relay no longer serves this build's protocol: ask Chrome for the new version and restart
 * into it. Without one yet (not published, or a check throttled) the popup says an update is needed,
 * and the next start of this worker (alarm, popup) asks again. */
async function updateItself(): Promise<void> {
  let status: string;
  try {
    status = (await chrome.runtime.requestUpdateCheck()).status;
  } catch (error) {
    status = "failed"; // e.g. an unpacked extension, which has no update URL
    console.warn("scrollr: the relay needs a newer client; the update check failed", error);
  }
  saveMeta((meta) => ({ ...meta, updateCheck: status }));
  if (status === "update_available") chrome.runtime.reload();
}

/** The API origin changed: everything stored came from elsewhere; start over from its snapshot. */
async function restartStream(): Promise<void> {
  client?.stop();
  client = null;
  await starting;
  starting = null;
  await writes.enqueue(async () => chrome.storage.session.clear());
  await ensureStream();
}

chrome.storage.onChanged.addListener((changes, area) => {
  if (area === "sync" && PREFERENCES_KEY in changes) {
    client?.setInterest(interestOf(readPreferences(changes[PREFERENCES_KEY].newValue)));
    void checkSavedChoices(); // synced from another browser, maybe of another release
  } else if (area === "local" && SETTINGS_API_KEY in changes) {
    void restartStream();
  }
});
chrome.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === WATCHDOG_ALARM) void ensureStream();
});
chrome.runtime.onInstalled.addListener(() => {
  void chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: WATCHDOG_PERIOD_MINUTES });
});
chrome.runtime.onStartup.addListener(() => void ensureStream());
// Sign in and out for the popup and the options page (a popup closes when the sign-in window opens).
chrome.runtime.onMessage.addListener((message: { type?: string }, _sender, reply) => {
  if (message?.type === "signIn") {
    void (async () => {
      try {
        const base = await apiOrigin();
        const auth = await signIn(base);
        await syncOnSignIn(base, await preferences());
        await ensureStream();
        client?.setTickets(ticketsFor(base));
        reply({ name: auth.name });
      } catch (error) {
        reply({ error: String(error) });
      }
    })();
    return true; // answered asynchronously
  }
  if (message?.type === "signOut") {
    void signOut().then(() => {
      client?.setTickets(null);
      reply({});
    });
    return true;
  }
  return false;
});
// An open popup holds a port: connecting wakes this worker, and the popup sees it stop.
chrome.runtime.onConnect.addListener((port) => {
  if (port.name === POPUP_PORT) void ensureStream();
});
// The feed bars hold ports too: each connection wakes this worker the same way.
serveBars(() => void ensureStream());
self.addEventListener("online", () => client?.retryNow());
self.addEventListener("offline", () => client?.goOffline());

void chrome.alarms.get(WATCHDOG_ALARM).then((alarm) => {
  if (!alarm) void chrome.alarms.create(WATCHDOG_ALARM, { periodInMinutes: WATCHDOG_PERIOD_MINUTES });
});
void ensureStream();

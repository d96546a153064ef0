import type { AccountPreferences } from "./account-sync";
import type { Interest } from "./interest";

// Protocol strings in one place: SSE event names from the relay, and the messages the stream
// owner (SharedWorker, leader tab or extension service worker) sends to its views.

export const CHANGE_EVENT = "change";
export const RESET_EVENT = "reset";
export const HEARTBEAT_EVENT = "heartbeat";
export const WORKER_PATH = "/sse-worker.js";

declare const __SCROLLR_BUILD__: string | undefined;
/** This build's id (web/build.mjs hashes the sources). `/sse-worker.js` outlives deploys: a tab and
 * a SharedWorker must speak the same release, so the id is part of the worker's name and the channel. */
export const BUILD = typeof __SCROLLR_BUILD__ === "string" ? __SCROLLR_BUILD__ : "dev";
const CHANNEL_PREFIX = "scrollr-realtime@";

/** The SharedWorker name and BroadcastChannel of one release. */
export function channelName(build: string = BUILD): string {
  return CHANNEL_PREFIX + build;
}

/** The release a worker was started for (by a tab of that release), from its name. */
export function buildOfName(name: string): string | null {
  return name.startsWith(CHANNEL_PREFIX) ? name.slice(CHANNEL_PREFIX.length) : null;
}
export const TABLES = ["trades", "games"] as const;

export type Table = (typeof TABLES)[number];
export type Row = Record<string, unknown> & { id: number | string };
/** `connecting`: not live yet; `connected`: live; `reconnecting`: was live, retrying; `disconnected`:
 * the browser is offline; `error`: the server refused in a way retrying won't fix (a 4xx). In every
 * state but `connected` the last data stays on screen, marked stale. */
export type Status = "connecting" | "connected" | "delayed" | "reconnecting" | "disconnected" | "error";

/** One row's new value (null: deleted), with the stream id that carried it. */
export interface RowChange {
  table: Table;
  key: string;
  row: Row | null;
  eventId: string;
}

/** `liveAt`: when the data was last known current (the stream's last byte while live). `interest`:
 * the rows the owner's stream follows (the union of what its views asked for). */
export type ViewMessage =
  | { type: "state"; status: Status; liveAt: number | null; cursor: string | null; rows: Record<Table, Row[]>; interest: Interest }
  | { type: "changes"; changes: RowChange[] }
  | { type: "status"; status: Status; liveAt: number | null }
  /** The worker is of another release than the tab that started it: the tab streams by itself. */
  | { type: "mismatch"; worker: string }
  /** The signed-in account's preferences changed (a private event on the stream). */
  | { type: "account"; account: AccountPreferences }
  /** The stream was reset: private events may have been missed with the public ones. */
  | { type: "reset" };

/** What a view tells its stream owner: `hello` asks for the whole state; `interest` says which rows
 * the view shows (`view` names it, and the Web Lock `viewLockName(view)` it holds while it lives). */
export type OwnerMessage =
  | { type: "hello" }
  | { type: "interest"; view: string; interest: Interest }
  /** The signed-in user's access token (null: signed out): the owner asks for stream tickets with it. */
  | { type: "auth"; token: string | null };

export function viewLockName(view: string, build: string = BUILD): string {
  return `${channelName(build)}-view-${view}`;
}

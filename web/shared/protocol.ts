import type { AccountPreferences } from "./account-sync";
import type { Interest } from "./interest";
import type { Row } from "./row";
import type { Table } from "./tables";

// Protocol strings in one place: SSE event names from the relay, and the messages the stream
// owner (SharedWorker, leader tab or extension service worker) sends to its views.

export const CHANGE_EVENT = "change";
export const RESET_EVENT = "reset";
/** A table was emptied (TRUNCATE): its data is a change event of action `truncate`. */
export const TRUNCATE_EVENT = "truncate";
export const HEARTBEAT_EVENT = "heartbeat";
/** In each stream's preamble: the relay's protocol version and the oldest client protocol it serves. */
export const PROTOCOL_EVENT = "protocol";
/** The relay <-> client protocol this client speaks (services/relay/scrollr_relay/fanout/sse.py). A relay
 * whose `oldest_client` is above it has moved on: the client stops and asks to be updated. */
export const CLIENT_PROTOCOL = 1;
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
// The tables, their keys and filters are declared once, in the relay (tables.ts is generated from it).
export { TABLES, type Table } from "./tables";

export type { Row };
/** `connecting`: not live yet; `connected`: live; `reconnecting`: was live, retrying; `disconnected`:
 * the browser is offline; `error`: the server refused in a way retrying won't fix (a 4xx);
 * `outdated`: the relay no longer serves this client's protocol (a reload or update fixes it). In
 * every state but `connected` the last data stays on screen, marked stale. */
export type Status = "connecting" | "connected" | "delayed" | "reconnecting" | "disconnected" | "error" | "outdated";

/** One row's new value (null: deleted), with the stream id that carried it. */
export interface RowChange {
  table: Table;
  key: string;
  row: Row | null;
  eventId: string;
  /** The (commit_lsn, commit_idx) it was applied with, when applied here (rows.ts): a write queued
   * for later (the extension's storage) must carry this one, not whatever the row holds by then. */
  version?: [number, number];
}

/** `liveAt`: when the data was last known current (the stream's last byte while live). `interest`:
 * the rows the owner's stream follows (the union of what its views asked for). `problem`: why the
 * server refused, or that it can't be reached, in words for the user (client-machine.ts,
 * describeProblem, unreachableProblem). */
export type ViewMessage =
  | { type: "state"; status: Status; liveAt: number | null; problem: string | null; cursor: string | null; rows: Record<Table, Row[]>; interest: Interest }
  | { type: "changes"; changes: RowChange[] }
  | { type: "status"; status: Status; liveAt: number | null; problem: string | null }
  /** The worker is of another release than the tab that started it: the tab streams by itself. */
  | { type: "mismatch"; worker: string }
  /** A new owner (a tab just elected leader) asks every view for its interest, so it streams their
   * union instead of everything. */
  | { type: "askInterest" }
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

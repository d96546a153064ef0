// Protocol strings in one place: SSE event names from the relay, and the messages the stream
// owner (SharedWorker, leader tab or extension service worker) sends to its views.

export const CHANGE_EVENT = "change";
export const RESET_EVENT = "reset";
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
/** `error`: the server refused in a way retrying won't fix (a 4xx); the last data stays on screen. */
export type Status = "connected" | "reconnecting" | "disconnected" | "error";

/** One row's new value (null: deleted), with the stream id that carried it. */
export interface RowChange {
  table: Table;
  key: string;
  row: Row | null;
  eventId: string;
}

export type ViewMessage =
  | { type: "state"; status: Status; cursor: string | null; rows: Record<Table, Row[]> }
  | { type: "changes"; changes: RowChange[] }
  | { type: "status"; status: Status }
  /** The worker is of another release than the tab that started it: the tab streams by itself. */
  | { type: "mismatch"; worker: string };

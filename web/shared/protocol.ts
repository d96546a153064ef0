// Protocol strings in one place: SSE event names from the relay, and the messages the stream
// owner (SharedWorker, leader tab or extension service worker) sends to its views.

export const CHANGE_EVENT = "change";
export const RESET_EVENT = "reset";
export const CHANNEL_NAME = "scrollr-realtime";
export const WORKER_PATH = "/sse-worker.js";
export const TABLES = ["trades", "games"] as const;

export type Table = (typeof TABLES)[number];
export type Row = Record<string, unknown> & { id: number | string };
export type Status = "connected" | "reconnecting" | "disconnected";

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
  | { type: "status"; status: Status };

// A bar's view of the stream, as it arrives over its port: rows by table and key, the status and the
// data's age, and the flashes of changed prices and scores (the dashboard's own bookkeeping,
// noteFlashes). Pure: the content script feeds it messages and renders what it holds.

import { type Row, type Status, type Table, TABLES } from "../../../web/shared/protocol";
import { type Flash, noteFlashes } from "../../../web/src/realtime-store";
import { keyOf, perTable } from "../../../web/shared/rows";
import type { BarMessage } from "./protocol";

export interface BarModel {
  rows: Record<Table, Map<string, Row>>;
  status: Status;
  liveAt: number | null;
  /** Whether the worker has said anything yet (before it has, the bar says it is connecting). */
  hasState: boolean;
  flashes: Map<string, Flash>;
}

export function emptyModel(): BarModel {
  return { rows: perTable(() => new Map()), status: "connecting", liveAt: null, hasState: false, flashes: new Map() };
}

function put(model: BarModel, table: Table, row: Row): void {
  const key = keyOf(table, row);
  noteFlashes(model.flashes, table, key, model.rows[table].get(key), row);
  model.rows[table].set(key, row);
}

function remove(model: BarModel, table: Table, key: string): void {
  noteFlashes(model.flashes, table, key, model.rows[table].get(key), null);
  model.rows[table].delete(key);
}

/** Apply one message in place. A `state` replaces every row; a row it changed still flashes (a
 * restarted worker brings what moved while it was stopped). */
export function applyBarMessage(model: BarModel, message: BarMessage): void {
  if (message.type === "state") {
    for (const table of TABLES) {
      const keep = new Set(message.rows[table].map((row) => String(row.id)));
      for (const key of [...model.rows[table].keys()]) if (!keep.has(key)) remove(model, table, key);
      for (const row of message.rows[table]) put(model, table, row);
    }
  } else {
    for (const { table, key } of message.removals) remove(model, table, key);
    for (const { table, row } of message.upserts) put(model, table, row);
  }
  model.status = message.status;
  model.liveAt = message.liveAt;
  model.hasState = true;
}

// The client's rows and the rule for applying a change (README, "the client's rule"): rows are
// keyed by table and primary key; a change replaces the row whole (or removes it) unless the row
// already holds a newer one by (commit_lsn, commit_idx). Re-applying what the snapshot already
// reflects is therefore harmless. Pure: no I/O.

import type { Row, RowChange } from "./protocol";
import { ROW_KEYS, type Table, TABLES } from "./tables";

export interface ChangeEvent {
  table: string;
  action: "insert" | "update" | "delete" | "read";
  record: Row;
  changes: Record<string, unknown> | null;
  commit_lsn: number | null;
  commit_idx: number | null;
  commit_timestamp: string | null;
}

export interface Snapshot {
  cursor: string;
  rows: Partial<Record<Table, Row[]>>;
}

export interface RowsState {
  tables: Record<Table, Map<string, Row>>;
  /** The version of each row held: one entry per row, gone with the row. */
  versions: Map<string, [number, number]>;
  /** Versions of the latest deleted rows, oldest first and capped: an older change can't bring one
   * back, and a feed that inserts and deletes rows for ever doesn't grow this for ever. */
  deleted: Map<string, [number, number]>;
}

export const DELETED_VERSIONS_KEPT = 1000;

/** One entry per table, each made by `make`. */
export function perTable<T>(make: () => T): Record<Table, T> {
  return Object.fromEntries(TABLES.map((table) => [table, make()])) as Record<Table, T>;
}

export function emptyRows(): RowsState {
  return { tables: perTable(() => new Map()), versions: new Map(), deleted: new Map() };
}

/** A row's key within its table: its primary key (tables.ts), as text. */
export function keyOf(table: Table, row: Row): string {
  return String(row[ROW_KEYS[table]]);
}

export function isTable(name: string): name is Table {
  return (TABLES as readonly string[]).includes(name);
}

export function rowsFromSnapshot(snapshot: Snapshot): RowsState {
  const state = emptyRows();
  for (const table of TABLES) {
    for (const row of snapshot.rows[table] ?? []) state.tables[table].set(keyOf(table, row), row);
  }
  return state;
}

export function parseChange(data: string): ChangeEvent {
  const event = JSON.parse(data) as ChangeEvent;
  if (typeof event.table !== "string" || typeof event.record !== "object" || event.record === null) {
    throw new Error("not a change event");
  }
  return event;
}

function newer(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
}

/** Apply one change in place; the row change to show, or null if it changed nothing. */
export function applyChange(state: RowsState, event: ChangeEvent, eventId: string): RowChange | null {
  if (!isTable(event.table)) return null;
  const key = keyOf(event.table, event.record);
  const versionKey = `${event.table}:${key}`;
  const version: [number, number] = [event.commit_lsn ?? 0, event.commit_idx ?? -1];
  const held = state.versions.get(versionKey) ?? state.deleted.get(versionKey);
  if (held !== undefined && !newer(version, held)) return null;
  const table = state.tables[event.table];
  if (event.action === "delete") {
    state.versions.delete(versionKey);
    state.deleted.delete(versionKey); // re-inserted last: it goes to the end of the queue
    state.deleted.set(versionKey, version);
    if (state.deleted.size > DELETED_VERSIONS_KEPT) state.deleted.delete(state.deleted.keys().next().value as string);
    if (!table.delete(key)) return null;
    return { table: event.table, key, row: null, eventId, version };
  }
  state.deleted.delete(versionKey);
  state.versions.set(versionKey, version);
  table.set(key, event.record);
  return { table: event.table, key, row: event.record, eventId, version };
}

/** A TRUNCATE: drop every row of the table, and what is known of their versions; the row changes
 * to show (each a removal). */
export function truncateTable(state: RowsState, table: string, eventId: string): RowChange[] {
  if (!isTable(table)) return [];
  const prefix = `${table}:`;
  for (const versions of [state.versions, state.deleted]) {
    for (const key of [...versions.keys()]) if (key.startsWith(prefix)) versions.delete(key);
  }
  const removed = [...state.tables[table].keys()].map((key) => ({ table, key, row: null, eventId }));
  state.tables[table].clear();
  return removed;
}

/** Apply a change made elsewhere (a view following its stream owner). */
export function applyRowChange(state: RowsState, change: RowChange): void {
  if (change.row === null) state.tables[change.table].delete(change.key);
  else state.tables[change.table].set(change.key, change.row);
}

export function rowsToLists(state: RowsState): Record<Table, Row[]> {
  return Object.fromEntries(TABLES.map((table) => [table, [...state.tables[table].values()]])) as Record<Table, Row[]>;
}

export function rowsFromLists(lists: Partial<Record<Table, Row[]>>, versions: Array<[string, number, number]> = []): RowsState {
  const state = rowsFromSnapshot({ cursor: "", rows: lists });
  for (const [key, lsn, idx] of versions) state.versions.set(key, [lsn, idx]);
  return state;
}

export function versionsToList(state: RowsState): Array<[string, number, number]> {
  return [...state.versions].map(([key, [lsn, idx]]) => [key, lsn, idx]);
}

/** Order of two stream ids `<epoch>-<ms>-<seq>` of the same epoch; ids of another epoch count as newer. */
export function isAfter(eventId: string, cursor: string | null): boolean {
  if (!cursor) return true;
  const [epochA, msA, seqA] = eventId.split("-");
  const [epochB, msB, seqB] = cursor.split("-");
  if (epochA !== epochB) return true;
  const msDiff = Number(msA) - Number(msB);
  return msDiff > 0 || (msDiff === 0 && Number(seqA) > Number(seqB));
}

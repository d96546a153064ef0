// How the background's state is laid out in chrome.storage.session, as pure functions, and the
// queue that keeps writes in order. One key holds the cursor and status (`STATE_KEY`); each row has a
// key of its own, so an event writes the rows it changed, not every row. Deletions are written
// before the cursor moves past them: a worker stopped in between replays the delete, harmlessly.

import type { Row, RowChange, Table } from "../../web/shared/protocol";
import { TABLES } from "../../web/shared/protocol";
import { keyOf, perTable, type RowsState } from "../../web/shared/rows";
import { STATE_KEY, type StoredState } from "./state";

const ROW_PREFIX = `${STATE_KEY}:row:`;

/** One row as stored: the row and the (commit_lsn, commit_idx) of the change that wrote it. */
export interface StoredRow {
  table: Table;
  row: Row;
  version: [number, number] | null;
}

export interface StorageWrite {
  remove: string[];
  set: Record<string, unknown>;
}

export function rowKey(table: Table, key: string): string {
  return `${ROW_PREFIX}${table}:${key}`;
}

function stored(rows: RowsState, table: Table, key: string, row: Row): StoredRow {
  return { table, row, version: rows.versions.get(`${table}:${key}`) ?? null };
}

/** The write for a batch of changes: their rows set or removed, then the new cursor. Each row is
 * stored with the version its change was applied with: the write runs later, in a queue, when the
 * live rows may already hold a newer change (whose data this write doesn't carry). */
export function changesWrite(changes: RowChange[], meta: StoredState): StorageWrite {
  const write: StorageWrite = { remove: [], set: {} };
  for (const change of changes) {
    const key = rowKey(change.table, change.key);
    if (change.row === null) {
      write.remove.push(key);
      delete write.set[key];
    } else {
      write.set[key] = { table: change.table, row: change.row, version: change.version ?? null } satisfies StoredRow;
      write.remove = write.remove.filter((k) => k !== key);
    }
  }
  write.set[STATE_KEY] = meta;
  return write;
}

/** The write for a whole new state (snapshot or reset): every row, and no row key left from before. */
export function stateWrite(rows: RowsState, existingKeys: string[], meta: StoredState): StorageWrite {
  const set: Record<string, unknown> = {};
  for (const table of TABLES) {
    for (const [key, row] of rows.tables[table]) set[rowKey(table, key)] = stored(rows, table, key, row);
  }
  const remove = existingKeys.filter((key) => key.startsWith(ROW_PREFIX) && !(key in set));
  set[STATE_KEY] = meta;
  return { remove, set };
}

export interface StoredView {
  meta: StoredState | null;
  rows: Record<Table, Row[]>;
  versions: Array<[string, number, number]>;
}

/** Everything the background stored, as the popup and a restarted worker need it. */
export function readStored(items: Record<string, unknown>): StoredView {
  const rows: Record<Table, Row[]> = perTable(() => []);
  const versions: Array<[string, number, number]> = [];
  for (const [key, value] of Object.entries(items)) {
    if (!key.startsWith(ROW_PREFIX)) continue;
    const entry = value as StoredRow;
    rows[entry.table].push(entry.row);
    if (entry.version) versions.push([`${entry.table}:${keyOf(entry.table, entry.row)}`, ...entry.version]);
  }
  return { meta: (items[STATE_KEY] as StoredState | undefined) ?? null, rows, versions };
}

/** Runs writes one after another; a failed write is reported and the ones after it still run. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly onError: (error: unknown) => void) {}

  enqueue(write: () => Promise<void>): Promise<void> {
    this.tail = this.tail.then(write).catch(this.onError);
    return this.tail;
  }
}

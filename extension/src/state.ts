// What the background keeps in chrome.storage.session (the service worker's globals die with it)
// and how the popup reads it. Cursor and rows are written together, so a restarted worker resumes
// exactly where its stored rows end.

import type { Row, Status, Table } from "../../web/shared/protocol";

export interface StoredState {
  cursor: string | null;
  rows: Record<Table, Row[]>;
  /** Per-row (commit_lsn, commit_idx) of the newest change applied: the merge rule survives a restart. */
  versions: Array<[string, number, number]>;
  status: Status;
  /** Stream ids applied, newest last, capped (the tests read it to prove nothing came twice). */
  applied: string[];
}

export const STATE_KEY = "scrollr";
export const SETTINGS_API_KEY = "apiBase";
export const APPLIED_KEEP = 500;
export const POPUP_PORT = "scrollr-popup";
export const PORT_RETRY_MS = 500;
export const WATCHDOG_ALARM = "scrollr-watchdog";
export const WATCHDOG_PERIOD_MINUTES = 0.5; // Chrome's minimum alarm period (30 s)

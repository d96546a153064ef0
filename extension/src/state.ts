// What the background keeps in chrome.storage.session (the service worker's globals die with it)
// besides the rows (storage.ts keeps each row under a key of its own, with its version). The cursor
// is written with the rows it follows, so a restarted worker resumes where its stored rows end.

import type { Status } from "../../web/shared/protocol";

export interface StoredState {
  cursor: string | null;
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

// What the background keeps in chrome.storage.session (the service worker's globals die with it)
// besides the rows (storage.ts keeps each row under a key of its own, with its version). The cursor
// is written with the rows it follows, and with the filter they were chosen by, so a restarted worker
// resumes where its stored rows end, and only if the user still follows the same rows.
//
// Settings: the API origin in chrome.storage.local (a permission is granted per browser), the user's
// preferences in chrome.storage.sync (they follow the user to every browser they sign in to).

import type { Interest } from "../../web/shared/interest";
import type { Status } from "../../web/shared/protocol";

export interface StoredState {
  cursor: string | null;
  status: Status;
  /** When the data was last known current (null: never live yet). */
  liveAt: number | null;
  /** The filter the stored rows follow. */
  interest: Interest | null;
  /** The API origin the stored rows came from. */
  apiBase: string | null;
  /** Why the server refused the stream, in words for the user; null unless it did. */
  problem: string | null;
  /** Saved choices dropped because the catalog doesn't have them (said once in the popup). */
  dropped: string[];
  /** Since when every attempt failed without an answer from the API origin (null: it answers). */
  unreachableSince: number | null;
  /** The answer of the last update check asked for because the relay needs a newer client
   * (chrome.runtime.requestUpdateCheck's status, or "failed"); null when none was needed. */
  updateCheck: string | null;
}

export const STATE_KEY = "scrollr";
export const SETTINGS_API_KEY = "apiBase";
export const POPUP_PORT = "scrollr-popup";
export const PORT_RETRY_MS = 500;
export const WATCHDOG_ALARM = "scrollr-watchdog";
export const WATCHDOG_PERIOD_MINUTES = 0.5; // Chrome's minimum alarm period (30 s)

/** The status the popup and the bars show: a stored "live" isn't live while the worker that would
 * keep it so is gone (stopped by Chrome; the port to it dropped), whatever it last wrote. */
export function shownStatus(stored: Status, workerUp: boolean): Status {
  if (!workerUp && (stored === "connected" || stored === "delayed")) return "reconnecting";
  return stored;
}

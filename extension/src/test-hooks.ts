// What only the tests read, called only under `__SCROLLR_TEST_HOOKS__`, which only the tests' build
// sets (`web/build.mjs --extension-out DIR --test-hooks`); every other build drops the call and this
// module with it, so the product never writes it. The ids live in chrome.storage.session because the worker's globals die
// with it, and the tests check that a restarted worker applies nothing twice.

import type { RowChange } from "../../web/shared/protocol";

/** Stream ids applied, newest last, capped: what the tests' `chrome.storage.session.get` reads. */
const APPLIED_KEY = "scrollr:test:applied";
const APPLIED_KEEP = 500;

export async function noteApplied(changes: RowChange[]): Promise<void> {
  const stored = (await chrome.storage.session.get(APPLIED_KEY))[APPLIED_KEY] as string[] | undefined;
  const applied = [...(stored ?? []), ...changes.map((change) => change.eventId)].slice(-APPLIED_KEEP);
  await chrome.storage.session.set({ [APPLIED_KEY]: applied });
}

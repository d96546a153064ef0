// The background's side of the feed bars: every bar holds a port; on connecting it gets every row
// the worker stored, then each write to chrome.storage.session as it lands (rows set or removed, the
// status). Following the storage, not the stream, keeps one source of truth: what the popup shows,
// what a restarted worker resumes from and what the bars show are the same rows.

import type { Row, Table } from "../../../web/shared/protocol";
import { keyOf } from "../../../web/shared/rows";
import { STATE_KEY, type StoredState } from "../state";
import { readStored, type StoredRow } from "../storage";
import { BAR_PORT, type BarMessage, type BarMeta, type RowRemoval } from "./protocol";

const ports = new Set<chrome.runtime.Port>();
// The status as last stored: a batch that only removes rows carries none, and reading it back would
// let a later batch overtake this one.
let lastMeta: BarMeta = { status: "connecting", liveAt: null };

function metaOf(state: StoredState | null): BarMeta {
  return { status: state?.status ?? "connecting", liveAt: state?.liveAt ?? null };
}

async function greet(port: chrome.runtime.Port): Promise<void> {
  const stored = readStored(await chrome.storage.session.get(null));
  lastMeta = metaOf(stored.meta);
  const message: BarMessage = { type: "state", rows: stored.rows, ...lastMeta };
  if (ports.has(port)) port.postMessage(message);
}

/** The bar's update for one batch of storage changes, or null when none concerns it. */
export function updateOf(changes: Record<string, chrome.storage.StorageChange>, meta: BarMeta): BarMessage | null {
  const upserts: Array<{ table: Table; row: Row }> = [];
  const removals: RowRemoval[] = [];
  let touched = false;
  for (const [key, change] of Object.entries(changes)) {
    if (key === STATE_KEY) {
      touched = true;
      continue;
    }
    const before = change.oldValue as StoredRow | undefined;
    const after = change.newValue as StoredRow | undefined;
    if (after?.table && after.row) upserts.push({ table: after.table, row: after.row });
    else if (before?.table && before.row) removals.push({ table: before.table, key: keyOf(before.table, before.row) });
    else continue;
    touched = true;
  }
  return touched ? { type: "update", upserts, removals, ...meta } : null;
}

/** Serve the bars; `wake` starts the stream if this worker hasn't yet (a bar's port woke it). */
export function serveBars(wake: () => void): void {
  chrome.runtime.onConnect.addListener((port) => {
    if (port.name !== BAR_PORT || !port.sender?.tab) return;
    ports.add(port);
    port.onDisconnect.addListener(() => ports.delete(port));
    wake();
    void greet(port);
  });
  chrome.storage.onChanged.addListener((changes, area) => {
    if (area !== "session" || ports.size === 0) return;
    if (STATE_KEY in changes) lastMeta = metaOf((changes[STATE_KEY].newValue as StoredState | undefined) ?? null);
    const message = updateOf(changes, lastMeta);
    if (message) for (const port of ports) port.postMessage(message);
  });
}

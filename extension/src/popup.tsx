// The popup: the latest trades and games with the live status dot. It reads the state the
// background stored when it opens and follows chrome.storage.onChanged while open. Opening it also
// wakes the background worker, which resumes its stream from the stored cursor.

import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

import { FinanceConfig, SportsConfig, StatusDot } from "../../web/src/dashboard";
import { PORT_RETRY_MS, POPUP_PORT } from "./state";
import { readStored, type StoredView } from "./storage";

function versionsOf(previous: Map<string, string>, versions: Map<string, number>, state: StoredView): Map<string, number> {
  const next = new Map(versions);
  for (const table of ["trades", "games"] as const) {
    for (const row of state.rows[table]) {
      const key = `${table}:${row.id}`;
      const text = JSON.stringify(row);
      if (previous.has(key) && previous.get(key) !== text) next.set(key, (next.get(key) ?? 0) + 1);
      previous.set(key, text);
    }
  }
  return next;
}

function Popup() {
  const [state, setState] = useState<StoredView | null>(null);
  const [versions, setVersions] = useState<Map<string, number>>(new Map());
  const [workerGone, setWorkerGone] = useState(false);
  useEffect(() => {
    const seen = new Map<string, string>();
    // A mirror of the background's storage: each row is a key of its own (storage.ts).
    const items: Record<string, unknown> = {};
    const show = () => {
      const next = readStored(items);
      if (!next.meta) return;
      setVersions((v) => versionsOf(seen, v, next));
      setState(next);
    };
    void chrome.storage.session.get(null).then((stored) => {
      Object.assign(items, stored);
      show();
    });
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area !== "session") return;
      for (const [key, change] of Object.entries(changes)) {
        if (change.newValue === undefined) delete items[key];
        else items[key] = change.newValue;
      }
      show();
    };
    chrome.storage.onChanged.addListener(onChanged);
    // Hold a port to the background: it wakes the worker, and if the worker is stopped the port
    // drops, so the popup says so (instead of showing stored data as live) and wakes it again.
    let closed = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      const port = chrome.runtime.connect({ name: POPUP_PORT });
      port.onDisconnect.addListener(() => {
        if (closed) return;
        setWorkerGone(true);
        retry = setTimeout(connect, PORT_RETRY_MS);
      });
      setWorkerGone(false);
    };
    connect();
    return () => {
      closed = true;
      clearTimeout(retry);
      chrome.storage.onChanged.removeListener(onChanged);
    };
  }, []);
  const status = workerGone ? "reconnecting" : (state?.meta?.status ?? "disconnected");
  return (
    <div className="popup">
      <header className="top">
        <h1>Scrollr</h1>
        <StatusDot status={status} />
      </header>
      <FinanceConfig trades={state?.rows.trades ?? []} versions={versions} />
      <SportsConfig games={state?.rows.games ?? []} versions={versions} />
    </div>
  );
}

createRoot(document.getElementById("root")!).render(<Popup />);

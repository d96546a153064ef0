// The popup: the user's markets and games, one tab at a time in 360 px, with the stream's state
// said honestly — "Offline" with the age of the data only when there is data, otherwise that it is
// connecting and to where. It reads what the background stored when it opens and follows
// chrome.storage.onChanged while open; opening it also wakes the background worker, which resumes
// its stream from the stored cursor.

import { useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

import { UNREACHABLE_AFTER_MS } from "../../web/shared/client-machine";
import { rowWanted } from "../../web/shared/interest";
import { DEFAULT_PREFERENCES, interestOf, type Preferences, PREFERENCES_KEY, readPreferences } from "../../web/shared/preferences";
import { type Status, TABLES } from "../../web/shared/protocol";
import { keyOf } from "../../web/shared/rows";
import { SportsConfig } from "../../web/src/components/Games";
import { FinanceConfig } from "../../web/src/components/Markets";
import { Freshness, StatusDot } from "../../web/src/components/Status";
import { useCatalog } from "../../web/src/hooks/useCatalog";
import { useNow } from "../../web/src/hooks/useNow";
import { type Flash, noteFlashes } from "../../web/src/realtime-store";
import { AccountBar } from "./AccountBar";
import { BarSwitches } from "./bar/PopupSwitches";
import { apiOrigin, preferences as loadPreferences } from "./settings";
import { PORT_RETRY_MS, POPUP_PORT, SETTINGS_API_KEY, shownStatus } from "./state";
import { readStored, type StoredView } from "./storage";

/** Flashes for the fields that changed between two stored views (the popup sees rows, not events). */
function flashesOf(previous: StoredView | null, next: StoredView, flashes: Map<string, Flash>): Map<string, Flash> {
  if (previous === null) return flashes;
  const out = new Map(flashes);
  for (const table of TABLES) {
    const before = new Map(previous.rows[table].map((row) => [keyOf(table, row), row]));
    for (const row of next.rows[table]) noteFlashes(out, table, keyOf(table, row), before.get(keyOf(table, row)), row);
  }
  return out;
}

/** The relay needs a newer client: what the background's update check came to, in plain words. */
function outdatedNote(updateCheck: string | null): string {
  const needed = "A new version of Scrollr is needed for this server.";
  if (updateCheck === null || updateCheck === "update_available") return `${needed} The extension is updating itself…`;
  return `${needed} Chrome has no update for it yet: update the extension where you installed it, or try again later.`;
}

function Popup() {
  const [state, setState] = useState<StoredView | null>(null);
  const [flashes, setFlashes] = useState<Map<string, Flash>>(new Map());
  const [workerGone, setWorkerGone] = useState(false);
  const [preferences, setPreferences] = useState<Preferences>(DEFAULT_PREFERENCES);
  const [origin, setOrigin] = useState<string>("");
  const [tab, setTab] = useState<"markets" | "games">("markets");
  // The symbols' quote pages (and names) come from the catalog, not the rows.
  const catalog = useCatalog(origin || null);
  useEffect(() => {
    void apiOrigin().then(setOrigin);
    void loadPreferences().then(setPreferences);
    let shown: StoredView | null = null;
    // A mirror of the background's storage: each row is a key of its own (storage.ts).
    const items: Record<string, unknown> = {};
    const show = () => {
      const next = readStored(items);
      if (!next.meta) {
        // Cleared: the background starts over (another API origin). Nothing from before is shown.
        if (shown !== null) setState(null);
        shown = null;
        return;
      }
      const previous = shown;
      shown = next;
      setFlashes((f) => flashesOf(previous, next, f));
      setState(next);
    };
    void chrome.storage.session.get(null).then((stored) => {
      Object.assign(items, stored);
      show();
    });
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area === "sync" && PREFERENCES_KEY in changes) setPreferences(readPreferences(changes[PREFERENCES_KEY].newValue));
      if (area === "local" && SETTINGS_API_KEY in changes) void apiOrigin().then(setOrigin); // saved in the options page
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
  const status: Status = shownStatus(state?.meta?.status ?? "connecting", !workerGone);
  const interest = interestOf(preferences);
  const trades = (state?.rows.trades ?? []).filter((row) => rowWanted(interest, "trades", row));
  const games = (state?.rows.games ?? []).filter((row) => rowWanted(interest, "games", row));
  const hasData = trades.length + games.length > 0;
  const waiting = `Connecting to ${origin || "the relay"}…`;
  const unreachableSince = status === "connected" ? null : (state?.meta?.unreachableSince ?? null);
  const now = useNow(1000, unreachableSince !== null);
  const unreachable = unreachableSince !== null && now - unreachableSince >= UNREACHABLE_AFTER_MS;
  return (
    <div className="popup">
      <header className="top">
        <h1>Scrollr</h1>
        <StatusDot status={status} />
        <AccountBar origin={origin} />
      </header>
      <main>
        {status !== "connected" && (
          <p className="note" data-testid="popup-note">
            {status === "outdated" ? (
              outdatedNote(state?.meta?.updateCheck ?? null)
            ) : status === "error" && state?.meta?.problem ? (
              state.meta.problem
            ) : unreachable ? (
              `Can't reach ${origin}. Check in Settings that the address is right, that the server there is running, and that you allowed Scrollr to use it when Chrome asked.`
            ) : hasData ? (
              <Freshness status={status} liveAt={state?.meta?.liveAt ?? null} hasData />
            ) : status === "error" ? (
              `${origin} refused the stream.`
            ) : (
              waiting
            )}
          </p>
        )}
        {(state?.meta?.dropped?.length ?? 0) > 0 && (
          <p className="note" data-testid="popup-dropped">
            Removed from your saved choices, as the catalog no longer has them: {state?.meta?.dropped?.join(", ")}
          </p>
        )}
        <nav className="tabs" aria-label="Sections">
          <button type="button" aria-pressed={tab === "markets"} onClick={() => setTab("markets")}>
            Finance ({trades.length})
          </button>
          <button type="button" aria-pressed={tab === "games"} onClick={() => setTab("games")}>
            Sports ({games.length})
          </button>
        </nav>
        {tab === "markets" ? (
          <FinanceConfig trades={trades} flashes={flashes} preferences={preferences} catalog={catalog} compact empty={waiting} />
        ) : (
          <SportsConfig games={games} flashes={flashes} preferences={preferences} empty={hasData || status === "connected" ? undefined : waiting} />
        )}
        <BarSwitches />
      </main>
      <footer className="links">
        <a href={origin ? `${origin}/` : "#"} target="_blank" rel="noreferrer">
          Open dashboard
        </a>
        <a href="options.html" target="_blank" rel="noreferrer" onClick={(e) => (e.preventDefault(), void chrome.runtime.openOptionsPage())}>
          Settings
        </a>
      </footer>
    </div>
  );
}

createRoot(document.getElementById("root")!).render(<Popup />);

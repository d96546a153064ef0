// The live dashboard: the user's markets (FinanceConfig) and games (SportsConfig) from useRealtime,
// with the stream's state, how fresh the data is, and the settings that choose what streams. On a
// phone the two panels are tabs, so neither is a scroll past the other away.

import { useEffect, useState } from "react";

import { withinCatalog } from "../shared/preferences";
import { FinanceConfig } from "./components/Markets";
import { SportsConfig } from "./components/Games";
import { Freshness, StatusDot } from "./components/Status";
import { useCatalog } from "./hooks/useCatalog";
import { apiBase, useAccount, useRealtime } from "./hooks/useRealtime";

type Tab = "markets" | "games";

export function Dashboard() {
  const { latestTrades, latestGames, status, liveAt, flashes, preferences, setPreferences, problem } = useRealtime();
  const catalog = useCatalog(apiBase());
  const [tab, setTab] = useState<Tab>("markets");
  const account = useAccount();
  const [dropped, setDropped] = useState<string[]>([]);
  // Saved choices are checked once the catalog is known: one the relay doesn't know would make it
  // refuse the whole stream. Those dropped are named, not silently forgotten.
  useEffect(() => {
    if (catalog === null) return;
    const checked = withinCatalog(preferences, catalog);
    if (checked.dropped.length === 0) return;
    setDropped(checked.dropped);
    setPreferences(checked.preferences);
  }, [catalog]); // once, when the catalog arrives: not again on every change of the choices
  const stale = status !== "connected";
  return (
    <div className="app">
      <header className="top">
        <h1>Scrollr</h1>
        <div className="state">
          <Freshness status={status} liveAt={liveAt} hasData={latestTrades.length + latestGames.length > 0} />
          <StatusDot status={status} />
          {account.enabled &&
            (account.signedIn ? (
              <span className="account">
                <span className="account-name">{account.name}</span>
                <button type="button" onClick={account.signOut}>
                  Sign out
                </button>
              </span>
            ) : (
              <button type="button" className="account" onClick={account.signIn}>
                Sign in
              </button>
            ))}
        </div>
      </header>
      {dropped.length > 0 && (
        <p className="notice" data-testid="notice-dropped">
          Removed from your saved choices, as the catalog no longer has them: {dropped.join(", ")}
        </p>
      )}
      {problem !== null && (
        <p className="notice" data-testid="notice-problem">
          {problem}
        </p>
      )}
      {status === "outdated" && (
        <p className="notice" data-testid="notice-update">
          A new version is available —{" "}
          <button type="button" onClick={() => location.reload()}>
            reload
          </button>
        </p>
      )}
      <nav className="tabs" aria-label="Sections">
        {(["markets", "games"] as const).map((name) => (
          <button key={name} type="button" aria-pressed={tab === name} onClick={() => setTab(name)}>
            {name === "markets" ? `Markets (${latestTrades.length})` : `Games (${latestGames.length})`}
          </button>
        ))}
      </nav>
      <main className={`grid tab-${tab}${stale ? " stale" : ""}`}>
        <FinanceConfig trades={latestTrades} flashes={flashes} preferences={preferences} onPreferences={setPreferences} catalog={catalog} />
        <SportsConfig games={latestGames} flashes={flashes} preferences={preferences} onPreferences={setPreferences} catalog={catalog} />
      </main>
    </div>
  );
}

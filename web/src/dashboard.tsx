// The live dashboard: the user's markets (FinanceConfig) and games (SportsConfig) from useRealtime,
// with the stream's state, how fresh the data is, and the settings that choose what streams. On a
// phone the two panels are tabs, so neither is a scroll past the other away.

import { useState } from "react";

import { FinanceConfig } from "./components/Markets";
import { SportsConfig } from "./components/Games";
import { Freshness, StatusDot } from "./components/Status";
import { useCatalog } from "./hooks/useCatalog";
import { apiBase, useAccount, useRealtime } from "./hooks/useRealtime";

type Tab = "markets" | "games";

export function Dashboard() {
  const { latestTrades, latestGames, status, liveAt, flashes, preferences, setPreferences } = useRealtime();
  const catalog = useCatalog(apiBase());
  const [tab, setTab] = useState<Tab>("markets");
  const account = useAccount();
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

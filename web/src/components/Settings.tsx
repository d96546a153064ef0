// The user's choices: which symbols (search, category, add/remove, add all / clear all) and which
// leagues (a favourite team each, upcoming and final games shown or not). Plain form controls in a
// <details>, so every one is reachable and usable by keyboard. Shared by the dashboard and the
// extension's options page.

import { useId, useState } from "react";

import { type Catalog, type CatalogTeam, inSeason } from "../hooks/useCatalog";
import { type Preferences, toggleChoice, UPDATE_SPEEDS, type UpdateSpeed } from "../../shared/preferences";
import type { Row } from "../../shared/protocol";

interface SettingsProps {
  catalog: Catalog | null;
  preferences: Preferences;
  onChange: (preferences: Preferences) => void;
  open?: boolean;
}

export function FinanceSettings({ catalog, preferences, onChange, open = false }: SettingsProps) {
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("");
  const id = useId();
  const all = catalog?.symbols.map((s) => s.symbol) ?? [];
  const chosen = new Set(preferences.symbols ?? all);
  const categories = [...new Set(catalog?.symbols.map((s) => s.category) ?? [])].sort();
  const needle = query.trim().toLowerCase();
  const shown = (catalog?.symbols ?? []).filter(
    (s) => (!category || s.category === category) && (!needle || s.symbol.toLowerCase().includes(needle) || s.name.toLowerCase().includes(needle)),
  );
  const choose = (values: string[], on: boolean) => onChange({ ...preferences, symbols: toggleChoice(preferences.symbols, all, values, on) });
  return (
    <details className="settings" open={open} data-testid="finance-settings">
      <summary>
        Symbols settings <span className="muted">({preferences.symbols === null ? "all" : `${chosen.size} of ${all.length}`})</span>
      </summary>
      {catalog === null ? (
        <p className="muted">Loading the catalog…</p>
      ) : (
        <>
          <div className="filters">
            <label htmlFor={`${id}-search`}>Search</label>
            <input id={`${id}-search`} type="search" value={query} placeholder="Symbol or name" onChange={(e) => setQuery(e.target.value)} />
            <label htmlFor={`${id}-category`}>Category</label>
            <select id={`${id}-category`} value={category} onChange={(e) => setCategory(e.target.value)}>
              <option value="">All categories</option>
              {categories.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
            <button type="button" onClick={() => choose(shown.map((s) => s.symbol), true)}>
              Add all
            </button>
            <button type="button" onClick={() => choose(shown.map((s) => s.symbol), false)}>
              Clear all
            </button>
            <label htmlFor={`${id}-speed`}>Update speed</label>
            <select id={`${id}-speed`} value={preferences.updateSpeed} onChange={(e) => onChange({ ...preferences, updateSpeed: e.target.value as UpdateSpeed })}>
              {Object.entries(UPDATE_SPEEDS).map(([speed, { label }]) => (
                <option key={speed} value={speed}>
                  {label}
                </option>
              ))}
            </select>
          </div>
          {shown.length === 0 && <p className="muted">No symbol matches.</p>}
          {categories
            .filter((c) => shown.some((s) => s.category === c))
            .map((c, n) => (
              <section key={c} className="category" aria-labelledby={`${id}-category-${n}`}>
                <h3 id={`${id}-category-${n}`}>{c}</h3>
                <ul className="choices">
                  {shown
                    .filter((s) => s.category === c)
                    .map((s) => (
                      <li key={s.symbol}>
                        <label>
                          <input type="checkbox" checked={chosen.has(s.symbol)} onChange={(e) => choose([s.symbol], e.target.checked)} />
                          <span className="symbol">{s.symbol}</span> <span className="muted">{s.name}</span>
                        </label>
                      </li>
                    ))}
                </ul>
              </section>
            ))}
        </>
      )}
    </details>
  );
}

/** A league's teams, by code, for the favourite-team choice: the catalog's, and any other seen in
 * its games (a team the catalog doesn't list yet). */
function teamsOf(catalogTeams: CatalogTeam[], games: Row[], league: string): Array<[string, string]> {
  const teams = new Map<string, string>(catalogTeams.map((team) => [team.code, team.name]));
  for (const game of games) {
    if (game.league !== league) continue;
    for (const side of ["home", "away"]) {
      const code = game[`${side}_team_code`];
      if (typeof code === "string" && !teams.has(code)) teams.set(code, String(game[`${side}_team_name`] ?? code));
    }
  }
  return [...teams].sort((a, b) => a[1].localeCompare(b[1]));
}

export function SportsSettings({ catalog, preferences, onChange, games = [], open = false }: SettingsProps & { games?: Row[] }) {
  const all = catalog?.leagues.map((l) => l.league) ?? [];
  const chosen = new Set(preferences.leagues ?? all);
  const month = new Date().getMonth() + 1;
  const setFavourite = (league: string, team: string) => {
    const favouriteTeams = { ...preferences.favouriteTeams };
    if (team) favouriteTeams[league] = team;
    else delete favouriteTeams[league];
    onChange({ ...preferences, favouriteTeams });
  };
  return (
    <details className="settings" open={open} data-testid="sports-settings">
      <summary>
        Leagues settings <span className="muted">({preferences.leagues === null ? "all" : `${chosen.size} of ${all.length}`})</span>
      </summary>
      {catalog === null ? (
        <p className="muted">Loading the catalog…</p>
      ) : (
        <>
          <ul className="choices leagues">
            {catalog.leagues.map((league) => {
              const teams = teamsOf(league.teams ?? [], games, league.league);
              const favourite = preferences.favouriteTeams[league.league] ?? "";
              return (
                <li key={league.league}>
                  <label>
                    <input
                      type="checkbox"
                      checked={chosen.has(league.league)}
                      onChange={(e) => onChange({ ...preferences, leagues: toggleChoice(preferences.leagues, all, [league.league], e.target.checked) })}
                    />
                    <span className="symbol">{league.league}</span> <span className="muted">{league.name}</span>
                    {!inSeason(league, month) && <span className="muted"> · off season</span>}
                  </label>
                  {chosen.has(league.league) && (
                    <label className="favourite-team">
                      <span>Favourite team</span>
                      <select value={favourite} onChange={(e) => setFavourite(league.league, e.target.value)}>
                        <option value="">None</option>
                        {favourite && !teams.some(([code]) => code === favourite) && <option value={favourite}>{favourite}</option>}
                        {teams.map(([code, name]) => (
                          <option key={code} value={code}>
                            {name}
                          </option>
                        ))}
                      </select>
                    </label>
                  )}
                </li>
              );
            })}
          </ul>
          <div className="filters">
            <label>
              <input type="checkbox" checked={preferences.showUpcoming} onChange={(e) => onChange({ ...preferences, showUpcoming: e.target.checked })} /> Show upcoming
              games
            </label>
            <label>
              <input type="checkbox" checked={preferences.showFinal} onChange={(e) => onChange({ ...preferences, showFinal: e.target.checked })} /> Show final games
            </label>
          </div>
        </>
      )}
    </details>
  );
}

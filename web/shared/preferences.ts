// A user's choices: the symbols and leagues they follow, a favourite team per league, which games to
// show, and how markets are sorted and narrowed. Stored as JSON (the dashboard's localStorage, the
// extension's chrome.storage.sync); whatever is stored is read defensively, since another release
// or a hand edit may have written it. Pure: no I/O.

import { type Interest, withRate } from "./interest";
import type { Row } from "./row";

export type SortKey = "symbol" | "price" | "change" | "updated";
export type MarketView = "all" | "gainers" | "losers";
/** How often each row may change on screen: every change, or each row's newest once a second or
 * every 5 s (the stream's `max_rate`, conflated by the relay). */
export type UpdateSpeed = "realtime" | "1s" | "5s";
export const UPDATE_SPEEDS: Record<UpdateSpeed, { label: string; maxRate: number | null }> = {
  realtime: { label: "Real time", maxRate: null },
  "1s": { label: "Calm: once a second", maxRate: 1 },
  "5s": { label: "Calm: every 5 s", maxRate: 0.2 },
};

export interface Preferences {
  /** null: every symbol of the catalog (a new user's default); []: none. */
  symbols: string[] | null;
  leagues: string[] | null;
  favouriteTeams: Record<string, string>;
  showUpcoming: boolean;
  showFinal: boolean;
  sort: SortKey;
  descending: boolean;
  view: MarketView;
  updateSpeed: UpdateSpeed;
}

export const PREFERENCES_KEY = "scrollr:preferences";
export const DEFAULT_PREFERENCES: Preferences = {
  symbols: null,
  leagues: null,
  favouriteTeams: {},
  showUpcoming: true,
  showFinal: true,
  sort: "symbol",
  descending: false,
  view: "all",
  updateSpeed: "realtime",
};
const SORT_KEYS: SortKey[] = ["symbol", "price", "change", "updated"];
const VIEWS: MarketView[] = ["all", "gainers", "losers"];
const MAX_CHOICES = 256; // the server's bound on a filter list

function stringList(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  return [...new Set(value.filter((v): v is string => typeof v === "string" && v.length > 0 && v.length <= 50))].slice(0, MAX_CHOICES);
}

/** Stored JSON (or anything) as preferences: each field that is missing or wrong gets its default. */
export function readPreferences(stored: unknown): Preferences {
  const raw = (typeof stored === "object" && stored !== null ? stored : {}) as Record<string, unknown>;
  const teams = typeof raw.favouriteTeams === "object" && raw.favouriteTeams !== null ? (raw.favouriteTeams as Record<string, unknown>) : {};
  return {
    symbols: raw.symbols === null ? null : (stringList(raw.symbols) ?? DEFAULT_PREFERENCES.symbols),
    leagues: raw.leagues === null ? null : (stringList(raw.leagues) ?? DEFAULT_PREFERENCES.leagues),
    favouriteTeams: Object.fromEntries(Object.entries(teams).filter((e): e is [string, string] => typeof e[1] === "string")),
    showUpcoming: typeof raw.showUpcoming === "boolean" ? raw.showUpcoming : DEFAULT_PREFERENCES.showUpcoming,
    showFinal: typeof raw.showFinal === "boolean" ? raw.showFinal : DEFAULT_PREFERENCES.showFinal,
    sort: SORT_KEYS.includes(raw.sort as SortKey) ? (raw.sort as SortKey) : DEFAULT_PREFERENCES.sort,
    descending: typeof raw.descending === "boolean" ? raw.descending : DEFAULT_PREFERENCES.descending,
    view: VIEWS.includes(raw.view as MarketView) ? (raw.view as MarketView) : DEFAULT_PREFERENCES.view,
    updateSpeed: Object.hasOwn(UPDATE_SPEEDS, raw.updateSpeed as string) ? (raw.updateSpeed as UpdateSpeed) : DEFAULT_PREFERENCES.updateSpeed,
  };
}

export function interestOf(preferences: Preferences): Interest {
  return withRate({ symbols: preferences.symbols, leagues: preferences.leagues }, UPDATE_SPEEDS[preferences.updateSpeed].maxRate);
}

/** Add or remove values from a choice; `all` (the catalog) stands in for null ("everything"). */
export function toggleChoice(current: string[] | null, all: string[], values: string[], on: boolean): string[] {
  const chosen = new Set(current ?? all);
  for (const value of values) {
    if (on) chosen.add(value);
    else chosen.delete(value);
  }
  return [...chosen].sort();
}

function num(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

/** The market rows to show, narrowed (gainers/losers) and sorted as the preferences say. */
export function marketRows(trades: Row[], preferences: Preferences): Row[] {
  const narrowed = trades.filter((row) => {
    if (preferences.view === "gainers") return num(row.price_change) > 0;
    if (preferences.view === "losers") return num(row.price_change) < 0;
    return true;
  });
  const key = (row: Row): string | number => {
    switch (preferences.sort) {
      case "symbol":
        return String(row.symbol ?? "");
      case "price":
        return num(row.price);
      case "change":
        return num(row.percentage_change);
      case "updated":
        return Date.parse(String(row.last_updated ?? "")) || 0;
    }
  };
  const sign = preferences.descending ? -1 : 1;
  return narrowed.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    const order = typeof ka === "string" ? ka.localeCompare(String(kb)) : ka - (kb as number);
    return sign * order || String(a.symbol).localeCompare(String(b.symbol));
  });
}

const STATE_ORDER: Record<string, number> = { in: 0, pre: 1, post: 2 };

/** The games to show: favourites' games first, then live, upcoming (by start), final. */
export function gameRows(games: Row[], preferences: Preferences): Row[] {
  const favourite = (game: Row) => {
    const team = preferences.favouriteTeams[String(game.league)];
    return team !== undefined && (game.home_team_code === team || game.away_team_code === team) ? 0 : 1;
  };
  return games
    .filter((game) => (game.state !== "pre" || preferences.showUpcoming) && (game.state !== "post" || preferences.showFinal))
    .sort(
      (a, b) =>
        favourite(a) - favourite(b) ||
        (STATE_ORDER[String(a.state)] ?? 3) - (STATE_ORDER[String(b.state)] ?? 3) ||
        (Date.parse(String(a.start_time ?? "")) || 0) - (Date.parse(String(b.start_time ?? "")) || 0) ||
        num(a.id) - num(b.id),
    );
}

/** What a catalog (GET /catalog) offers, as far as saved choices are checked against it. */
export interface Offered {
  symbols: ReadonlyArray<{ symbol: string }>;
  leagues: ReadonlyArray<{ league: string }>;
}

/** Saved choices narrowed to what the catalog offers, and what was dropped (to say so). One value
 * the relay doesn't know (a corrupted or older-format entry, a symbol since retired) would make it
 * refuse the whole stream; favourite teams of a league that is gone go with it. */
export function withinCatalog(preferences: Preferences, catalog: Offered): { preferences: Preferences; dropped: string[] } {
  const symbols = new Set(catalog.symbols.map((s) => s.symbol));
  const leagues = new Set(catalog.leagues.map((l) => l.league));
  const dropped: string[] = [];
  const keep = (chosen: string[] | null, offered: Set<string>) => {
    if (chosen === null) return null;
    dropped.push(...chosen.filter((value) => !offered.has(value)));
    return chosen.filter((value) => offered.has(value));
  };
  const next = {
    ...preferences,
    symbols: keep(preferences.symbols, symbols),
    leagues: keep(preferences.leagues, leagues),
    favouriteTeams: Object.fromEntries(Object.entries(preferences.favouriteTeams).filter(([league]) => leagues.has(league))),
  };
  const changed = dropped.length > 0 || Object.keys(next.favouriteTeams).length !== Object.keys(preferences.favouriteTeams).length;
  return { preferences: changed ? next : preferences, dropped };
}

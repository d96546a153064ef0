// The catalog of symbols and leagues (GET /catalog), loaded once per page and retried on failure.

import { useEffect, useState } from "react";

export interface CatalogSymbol {
  symbol: string;
  name: string;
  category: string;
  exchange: string;
  link: string | null;
}

export interface CatalogTeam {
  code: string;
  name: string;
}

export interface CatalogLeague {
  league: string;
  name: string;
  sport: string;
  category: string;
  country: string;
  logo: string | null;
  season_months: number[];
  /** Its teams (tracked_teams), for the favourite-team choice; absent from an older relay. */
  teams?: CatalogTeam[];
}

export interface Catalog {
  symbols: CatalogSymbol[];
  leagues: CatalogLeague[];
}

const RETRY_MS = 5000;

/** The catalog of `apiBase`; null while it loads, or while the API origin isn't known yet (null). */
export function useCatalog(apiBase: string | null): Catalog | null {
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  useEffect(() => {
    if (apiBase === null) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = async () => {
      try {
        const response = await fetch(`${apiBase}/catalog`);
        if (!response.ok) throw new Error(`catalog: ${response.status}`);
        const body = (await response.json()) as Catalog;
        if (!stopped) setCatalog(body);
      } catch {
        if (!stopped) timer = setTimeout(() => void load(), RETRY_MS);
      }
    };
    void load();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [apiBase]);
  return catalog;
}

export function inSeason(league: CatalogLeague, month: number): boolean {
  return league.season_months.includes(month);
}

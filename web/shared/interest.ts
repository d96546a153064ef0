// Which rows a client follows: the `symbols` and `leagues` filters of /events and /snapshot. Null
// means every row of that table; an empty list, none. Pure: no I/O.

import type { Row, Table } from "./protocol";

export interface Interest {
  symbols: string[] | null;
  leagues: string[] | null;
}

export const EVERYTHING: Interest = { symbols: null, leagues: null };

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((value, i) => value === sorted[i]);
}

export function sameInterest(a: Interest, b: Interest): boolean {
  return sameList(a.symbols, b.symbols) && sameList(a.leagues, b.leagues);
}

function unionOf(lists: Array<string[] | null>): string[] | null {
  if (lists.some((list) => list === null)) return null;
  return [...new Set(lists.flatMap((list) => list ?? []))].sort();
}

/** One stream for several views: every row any of them shows. No views: nothing is needed yet. */
export function unionInterest(interests: Interest[]): Interest {
  if (interests.length === 0) return EVERYTHING;
  return { symbols: unionOf(interests.map((i) => i.symbols)), leagues: unionOf(interests.map((i) => i.leagues)) };
}

/** Does `outer` receive every row `inner` needs? */
export function covers(outer: Interest, inner: Interest): boolean {
  const within = (o: string[] | null, i: string[] | null) => o === null || (i !== null && i.every((v) => o.includes(v)));
  return within(outer.symbols, inner.symbols) && within(outer.leagues, inner.leagues);
}

/** The query parameters of an interest (`symbols=AAPL,MSFT&leagues=NFL`); "" for everything. */
export function filterQuery(interest: Interest): string {
  const parts: string[] = [];
  if (interest.symbols !== null) parts.push(`symbols=${interest.symbols.map(encodeURIComponent).join(",")}`);
  if (interest.leagues !== null) parts.push(`leagues=${interest.leagues.map(encodeURIComponent).join(",")}`);
  return parts.join("&");
}

/** Does a row belong to an interest (the same rule as the server's filter, on the new row)? */
export function rowWanted(interest: Interest, table: Table, row: Row): boolean {
  const chosen = table === "trades" ? interest.symbols : interest.leagues;
  return chosen === null || chosen.includes(String(table === "trades" ? row.symbol : row.league));
}

// Which rows a client follows: the `symbols` and `leagues` filters of /events and /snapshot. Null
// means every row of that table; an empty list, none. Pure: no I/O.

import { type FilterParam, ROW_FILTERS, type Table } from "./tables";

/** A list (or null) per row filter of the relay's registry: `symbols`, `leagues`. */
export type Interest = Record<FilterParam, string[] | null>;

const FILTERS = Object.values(ROW_FILTERS);

export const EVERYTHING: Interest = { symbols: null, leagues: null };

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((value, i) => value === sorted[i]);
}

export function sameInterest(a: Interest, b: Interest): boolean {
  return FILTERS.every(({ param }) => sameList(a[param], b[param]));
}

function unionOf(lists: Array<string[] | null>): string[] | null {
  if (lists.some((list) => list === null)) return null;
  return [...new Set(lists.flatMap((list) => list ?? []))].sort();
}

/** One stream for several views: every row any of them shows. No views: nothing is needed yet. */
export function unionInterest(interests: Interest[]): Interest {
  if (interests.length === 0) return EVERYTHING;
  return Object.fromEntries(FILTERS.map(({ param }) => [param, unionOf(interests.map((i) => i[param]))])) as Interest;
}

/** Does `outer` receive every row `inner` needs? */
export function covers(outer: Interest, inner: Interest): boolean {
  const within = (o: string[] | null, i: string[] | null) => o === null || (i !== null && i.every((v) => o.includes(v)));
  return FILTERS.every(({ param }) => within(outer[param], inner[param]));
}

/** The query parameters of an interest (`symbols=AAPL,MSFT&leagues=NFL`); "" for everything. */
export function filterQuery(interest: Interest): string {
  const chosen = FILTERS.filter(({ param }) => interest[param] !== null);
  return chosen.map(({ param }) => `${param}=${interest[param]!.map(encodeURIComponent).join(",")}`).join("&");
}

/** Does a row belong to an interest (the same rule as the server's filter, on the new row)? */
export function rowWanted(interest: Interest, table: Table, row: Record<string, unknown>): boolean {
  const { param, column } = ROW_FILTERS[table];
  const chosen = interest[param];
  return chosen === null || chosen.includes(String(row[column]));
}

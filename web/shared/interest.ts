// Which rows a client follows: the `symbols` and `leagues` filters of /events and /snapshot. Null
// means every row of that table; an empty list, none. Pure: no I/O.

import { type FilterParam, ROW_FILTERS, type Table } from "./tables";

/** A list (or null) per row filter of the relay's registry (`symbols`, `leagues`), and at most how
 * many updates of each row per second (the stream's `max_rate`; absent or null: every change). */
export type Interest = Record<FilterParam, string[] | null> & { maxRate?: number | null };

const FILTERS = Object.values(ROW_FILTERS);

export const EVERYTHING: Interest = { symbols: null, leagues: null };

function sameList(a: string[] | null, b: string[] | null): boolean {
  if (a === null || b === null) return a === b;
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((value, i) => value === sorted[i]);
}

export function sameInterest(a: Interest, b: Interest): boolean {
  return FILTERS.every(({ param }) => sameList(a[param], b[param])) && (a.maxRate ?? null) === (b.maxRate ?? null);
}

/** The rate that serves every view: the fastest asked, or every change if any view wants that. */
function fastestOf(rates: Array<number | null | undefined>): number | null {
  if (rates.some((rate) => rate === null || rate === undefined)) return null;
  return Math.max(...(rates as number[]));
}

function unionOf(lists: Array<string[] | null>): string[] | null {
  if (lists.some((list) => list === null)) return null;
  return [...new Set(lists.flatMap((list) => list ?? []))].sort();
}

/** One stream for several views: every row any of them shows. No views: nothing is needed yet. */
export function unionInterest(interests: Interest[]): Interest {
  if (interests.length === 0) return EVERYTHING;
  const filters = Object.fromEntries(FILTERS.map(({ param }) => [param, unionOf(interests.map((i) => i[param]))])) as Interest;
  return withRate(filters, fastestOf(interests.map((i) => i.maxRate)));
}

/** `interest` at `rate` (null: every change, left out). */
export function withRate(interest: Interest, rate: number | null): Interest {
  const filters = Object.fromEntries(FILTERS.map(({ param }) => [param, interest[param]])) as Interest;
  return rate === null ? filters : { ...filters, maxRate: rate };
}

/** Does `outer` receive every row `inner` needs, at least as often? */
export function covers(outer: Interest, inner: Interest): boolean {
  const within = (o: string[] | null, i: string[] | null) => o === null || (i !== null && i.every((v) => o.includes(v)));
  const outerRate = outer.maxRate ?? null;
  const innerRate = inner.maxRate ?? null;
  const often = outerRate === null || (innerRate !== null && innerRate <= outerRate);
  return FILTERS.every(({ param }) => within(outer[param], inner[param])) && often;
}

/** The query parameters of an interest (`symbols=AAPL,MSFT&leagues=NFL`); "" for everything. */
export function filterQuery(interest: Interest): string {
  const chosen = FILTERS.filter(({ param }) => interest[param] !== null);
  return chosen.map(({ param }) => `${param}=${interest[param]!.map(encodeURIComponent).join(",")}`).join("&");
}

/** The query parameters of /events for an interest: its filters and its rate; with `compress`, the
 * body deflated (the browser inflates it itself; the relay compresses once per group of equal filters). */
export function streamQuery(interest: Interest, compress = false): string {
  const rate = interest.maxRate ?? null;
  return [filterQuery(interest), rate === null ? "" : `max_rate=${rate}`, compress ? "compress=deflate" : ""].filter(Boolean).join("&");
}

/** Does a row belong to an interest (the same rule as the server's filter, on the new row)? */
export function rowWanted(interest: Interest, table: Table, row: Record<string, unknown>): boolean {
  const { param, column } = ROW_FILTERS[table];
  const chosen = interest[param];
  return chosen === null || chosen.includes(String(row[column]));
}

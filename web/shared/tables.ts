// Generated from services/relay/scrollr_relay/tables.py by `just tables`; don't edit (a test
// fails when the two differ). The tables that stream, their primary keys and row filters.

/** The tables that stream, in the snapshot's order. */
export const TABLES = ["trades", "games"] as const;
export type Table = (typeof TABLES)[number];
/** Each table's primary key column: rows are keyed by it. */
export const ROW_KEYS = {"trades": "id", "games": "id"} as const;
/** Each filtered table's query parameter (`symbols=`) and the column it matches. */
export const ROW_FILTERS = {"trades": {"param": "symbols", "column": "symbol"}, "games": {"param": "leagues", "column": "league"}} as const;
export type FilterParam = (typeof ROW_FILTERS)[keyof typeof ROW_FILTERS]["param"];

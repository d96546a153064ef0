// What the background service worker and the feed bars say to each other. Each bar holds a
// chrome.runtime port named BAR_PORT: connecting wakes the worker (which resumes its stream from the
// stored cursor), and a stopped worker drops every port, which each bar notices and reconnects. Only
// this extension's own pages and content scripts can open such a port: a web page can't.

import type { Row, Status, Table } from "../../../web/shared/protocol";

export const BAR_PORT = "scrollr-bar";
/** The popup asks the active tab's bar for its site (only the content script knows it without the
 * `tabs` permission). */
export const SITE_REQUEST = "scrollr-bar:site";

export interface BarMeta {
  status: Status;
  liveAt: number | null;
}

export interface RowRemoval {
  table: Table;
  key: string;
}

/** `state`: every row, on connecting; `update`: rows written or removed since, with the status. */
export type BarMessage =
  | ({ type: "state"; rows: Record<Table, Row[]> } & BarMeta)
  | ({ type: "update"; upserts: Array<{ table: Table; row: Row }>; removals: RowRemoval[] } & BarMeta);

export interface SiteAnswer {
  host: string;
}

// The stream's state as one label (a live region: it is announced when the situation changes, not
// on every retry) and, apart from it, how old the data on screen is while it isn't live.

import { formatAgo } from "../format";
import { useNow } from "../hooks/useNow";
import type { Status } from "../../shared/protocol";

const STATUS_LABEL: Record<Status, string> = {
  connecting: "Connecting…",
  connected: "Live",
  delayed: "Delayed",
  reconnecting: "Reconnecting…",
  disconnected: "Offline",
  error: "Unavailable",
  outdated: "Update needed",
};

export function StatusDot({ status }: { status: Status }) {
  return (
    <span className={`status status-${status}`} data-testid="status" data-status={status} role="status">
      <span className="dot" aria-hidden="true" />
      {STATUS_LABEL[status]}
    </span>
  );
}

/** "Last updated 40 s ago" while not live: the data stays, marked as what it is. Outside the live
 * region, so a screen reader isn't told the time every second. */
export function Freshness({ status, liveAt, hasData }: { status: Status; liveAt: number | null; hasData: boolean }) {
  const stale = status !== "connected";
  const now = useNow(1000, stale);
  if (!stale || !hasData) return null;
  return (
    <span className="freshness" data-testid="freshness">
      {liveAt === null ? "Showing saved data" : `Showing data from ${formatAgo(liveAt, now)}`}
    </span>
  );
}

// A tab's view of the shared stream: follows ViewMessages from the stream owner and offers a
// snapshot for useSyncExternalStore. Pure apart from `connectRealtime`, which picks the owner:
// the SharedWorker; else the tab elected with Web Locks; else (neither API) a stream per tab.

import { startOwner } from "../shared/owner";
import { channelName, type Row, type RowChange, type Status, type ViewMessage, WORKER_PATH } from "../shared/protocol";
import { applyRowChange, emptyRows, isAfter, rowsFromLists, type RowsState } from "../shared/rows";

export const APPLIED_IDS_KEPT = 500;

export interface RealtimeView {
  status: Status;
  latestTrades: Row[];
  latestGames: Row[];
  /** How many times each row changed while this tab watched (drives the highlight). */
  versions: ReadonlyMap<string, number>;
}

export class RealtimeStore {
  private rows: RowsState = emptyRows();
  private cursor: string | null = null;
  private hasState = false;
  private early: RowChange[] = [];
  private readonly versions = new Map<string, number>();
  private readonly listeners = new Set<() => void>();
  private view: RealtimeView = { status: "disconnected", latestTrades: [], latestGames: [], versions: this.versions };
  /** The latest stream ids applied in this tab, in order and capped (tests read it to prove nothing
   * came twice); a tab open for days must not keep every id it ever saw. */
  readonly appliedEventIds: string[] = [];

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): RealtimeView => this.view;

  handle = (message: ViewMessage): void => {
    if (message.type === "state") {
      this.rows = rowsFromLists(message.rows);
      this.cursor = message.cursor;
      this.hasState = true;
      const early = this.early.filter((c) => isAfter(c.eventId, this.cursor));
      this.early = [];
      this.applyChanges(early);
      this.publish(message.status);
    } else if (message.type === "changes") {
      if (!this.hasState) {
        this.early.push(...message.changes);
        return;
      }
      this.applyChanges(message.changes.filter((c) => isAfter(c.eventId, this.cursor)));
      this.publish(this.view.status);
    } else if (message.type === "status") {
      this.publish(message.status);
    }
  };

  private applyChanges(changes: RowChange[]): void {
    for (const change of changes) {
      applyRowChange(this.rows, change);
      const key = `${change.table}:${change.key}`;
      if (change.row === null) this.versions.delete(key);
      else this.versions.set(key, (this.versions.get(key) ?? 0) + 1);
      this.appliedEventIds.push(change.eventId);
      if (this.appliedEventIds.length > APPLIED_IDS_KEPT) this.appliedEventIds.shift();
      this.cursor = change.eventId;
    }
  }

  private publish(status: Status): void {
    this.view = {
      status,
      latestTrades: [...this.rows.tables.trades.values()],
      latestGames: [...this.rows.tables.games.values()],
      versions: this.versions,
    };
    for (const listener of this.listeners) listener();
  }
}

export function connectRealtime(store: RealtimeStore, apiBase: string): void {
  const onMessage = (event: MessageEvent) => store.handle(event.data as ViewMessage);
  if (typeof SharedWorker !== "undefined") {
    const channel = new BroadcastChannel(channelName());
    channel.addEventListener("message", onMessage);
    const worker = new SharedWorker(WORKER_PATH, { name: channelName() });
    worker.port.onmessage = (event: MessageEvent) => {
      if ((event.data as ViewMessage).type === "mismatch") {
        // The worker is another release's code: stream with this tab's own.
        worker.port.close();
        channel.close();
        electOwner(onMessage, apiBase);
        return;
      }
      onMessage(event);
    };
    worker.port.start();
    return;
  }
  if (typeof navigator !== "undefined" && navigator.locks) {
    electOwner(onMessage, apiBase);
    return;
  }
  const privateName = `${channelName()}-${Math.random().toString(36).slice(2)}`;
  new BroadcastChannel(privateName).addEventListener("message", onMessage);
  startOwner(apiBase, new BroadcastChannel(privateName));
}

/** One tab of this release holds the stream (Web Locks); the others follow it on the channel. */
function electOwner(onMessage: (event: MessageEvent) => void, apiBase: string): void {
  const channel = new BroadcastChannel(channelName());
  channel.addEventListener("message", onMessage);
  void navigator.locks.request(`${channelName()}-owner`, () => {
    startOwner(apiBase);
    return new Promise<never>(() => {}); // hold the lock (and the stream) while this tab lives
  });
  channel.postMessage({ type: "hello" });
}

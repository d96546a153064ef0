// A tab's view of the shared stream: follows ViewMessages from the stream owner, keeps the user's
// preferences, and offers a snapshot for useSyncExternalStore. Pure apart from `connectRealtime`,
// which picks the owner (the SharedWorker; else the tab elected with Web Locks; else a stream per
// tab) and wires preferences to localStorage, shared by every tab.

import type { AccountPreferences } from "../shared/account-sync";
import { covers, type Interest, rowWanted } from "../shared/interest";
import { startOwner } from "../shared/owner";
import { DEFAULT_PREFERENCES, interestOf, type Preferences, PREFERENCES_KEY, readPreferences } from "../shared/preferences";
import { channelName, type OwnerMessage, type Row, type RowChange, type Status, type ViewMessage, viewLockName, WORKER_PATH } from "../shared/protocol";
import { applyRowChange, emptyRows, isAfter, rowsFromLists, type RowsState } from "../shared/rows";
import { newViewId, VIEW_REFRESH_MS } from "../shared/views";

/** The fields whose change is worth a flash: a price, a score. Clock ticks and timestamps aren't. */
const FLASHING_FIELDS: Record<string, string[]> = { trades: ["price"], games: ["home_team_score", "away_team_score"] };

export type Direction = "up" | "down";

/** One field's flash: how many times it changed while this tab watched (a new key restarts the
 * animation) and which way. */
export interface Flash {
  n: number;
  direction: Direction;
}

export interface RealtimeView {
  status: Status;
  /** When the data was last known current; null before the first live moment. */
  liveAt: number | null;
  /** The rows this tab's preferences choose (the stream may carry more: other tabs' choices). */
  latestTrades: Row[];
  latestGames: Row[];
  flashes: ReadonlyMap<string, Flash>;
  preferences: Preferences;
  /** Why the server refused the stream, in words for the user; null unless it did. */
  problem: string | null;
}

export function flashKey(table: string, id: unknown, field: string): string {
  return `${table}:${String(id)}:${field}`;
}

function direction(before: unknown, after: unknown): Direction {
  return Number(after) >= Number(before) ? "up" : "down";
}

/** Count, in place, the flashes of one row's change (`after` null: the row was deleted). */
export function noteFlashes(flashes: Map<string, Flash>, table: string, key: string, before: Row | undefined, after: Row | null): void {
  for (const field of FLASHING_FIELDS[table] ?? []) {
    const flash = flashKey(table, key, field);
    if (after === null) flashes.delete(flash);
    else if (before !== undefined && before[field] !== after[field]) {
      flashes.set(flash, { n: (flashes.get(flash)?.n ?? 0) + 1, direction: direction(before[field], after[field]) });
    }
  }
}

export class RealtimeStore {
  private rows: RowsState = emptyRows();
  private cursor: string | null = null;
  private hasState = false;
  private early: RowChange[] = [];
  private ownerInterest: Interest | null = null;
  private problem: string | null = null;
  private readonly flashes = new Map<string, Flash>();
  private readonly listeners = new Set<() => void>();
  private view: RealtimeView;
  /** Says this tab's interest to the stream owner (set by connectRealtime). */
  sendInterest: (interest: Interest) => void = () => {};
  /** Keeps the preferences (set by connectRealtime: localStorage). */
  savePreferences: (preferences: Preferences) => void = () => {};
  /** Tells the stream owner the signed-in user's access token, or null (set by connectRealtime). */
  sendAuth: (token: string | null) => void = () => {};
  /** The access token this tab last told its owner (null: signed out, or not known yet). */
  private token: string | null = null;
  /** The user changed a preference in this tab (account.ts saves it to the account). */
  onUserChange: (preferences: Preferences) => void = () => {};
  /** The account's preferences changed on the stream (account.ts applies the newer ones). */
  onAccount: (account: AccountPreferences) => void = () => {};
  /** The stream was reset: private events may have been missed too, so account.ts reads the
   * account's preferences again. */
  onReset: () => void = () => {};
  /** Told each stream id this tab applies, in order. Nothing in the product listens: it is for the
   * tests (through `window.__scrollr`), which record the ids to prove nothing came twice; the tab
   * itself keeps none of them. */
  onApplied: ((eventId: string) => void) | null = null;

  constructor(preferences: Preferences = DEFAULT_PREFERENCES) {
    this.view = { status: "connecting", liveAt: null, latestTrades: [], latestGames: [], flashes: this.flashes, preferences, problem: null };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): RealtimeView => this.view;

  get preferences(): Preferences {
    return this.view.preferences;
  }

  /** The user changed a preference here: keep it, follow it, show it. */
  setPreferences = (preferences: Preferences): void => {
    this.savePreferences(preferences);
    this.usePreferences(preferences);
    this.onUserChange(preferences);
  };

  /** The account's preferences won: keep and show them, without saving them back to it. */
  adoptPreferences(preferences: Preferences): void {
    this.savePreferences(preferences);
    this.usePreferences(preferences);
  }

  /** The signed-in user's access token, or null (account.ts): told to the stream owner now, and
   * again to any owner that starts later. */
  setAuth(token: string | null): void {
    this.token = token;
    this.sendAuth(token);
  }

  /** Tell an owner that knows nothing of this tab (a newly elected leader, or this tab's own stream
   * after a worker mismatch) its access token, then its interest: signed in, its first stream then
   * already carries a ticket instead of streaming signed out. */
  reintroduce(): void {
    if (this.token !== null) this.sendAuth(this.token);
    this.sendInterest(interestOf(this.view.preferences));
  }

  /** Preferences changed elsewhere (another tab) or were loaded. */
  usePreferences(preferences: Preferences): void {
    const interestChanged = JSON.stringify(interestOf(preferences)) !== JSON.stringify(interestOf(this.view.preferences));
    this.view = { ...this.view, preferences };
    if (interestChanged) this.sendInterest(interestOf(preferences));
    this.publish(this.view.status, this.view.liveAt);
  }

  handle = (message: ViewMessage): void => {
    if (message.type === "state") {
      this.rows = rowsFromLists(message.rows);
      this.cursor = message.cursor;
      this.hasState = true;
      this.ownerInterest = message.interest;
      const early = this.early.filter((c) => isAfter(c.eventId, this.cursor));
      this.early = [];
      this.applyChanges(early);
      this.problem = message.problem;
      this.publish(message.status, message.liveAt);
      // An owner that started (or restarted) without hearing this tab follows too little: say it again.
      if (!covers(message.interest, interestOf(this.view.preferences))) this.sendInterest(interestOf(this.view.preferences));
    } else if (message.type === "changes") {
      if (!this.hasState) {
        this.early.push(...message.changes);
        return;
      }
      this.applyChanges(message.changes.filter((c) => isAfter(c.eventId, this.cursor)));
      this.publish(this.view.status, this.view.liveAt);
    } else if (message.type === "status") {
      this.problem = message.problem;
      this.publish(message.status, message.liveAt);
    } else if (message.type === "askInterest") {
      this.reintroduce();
    } else if (message.type === "account") {
      this.onAccount(message.account);
    } else if (message.type === "reset") {
      this.onReset();
    }
  };

  get followedByOwner(): Interest | null {
    return this.ownerInterest;
  }

  private applyChanges(changes: RowChange[]): void {
    for (const change of changes) {
      const before = this.rows.tables[change.table].get(change.key);
      applyRowChange(this.rows, change);
      noteFlashes(this.flashes, change.table, change.key, before, change.row);
      this.onApplied?.(change.eventId);
      this.cursor = change.eventId;
    }
  }

  private publish(status: Status, liveAt: number | null): void {
    const interest = interestOf(this.view.preferences);
    this.view = {
      status,
      liveAt,
      latestTrades: [...this.rows.tables.trades.values()].filter((row) => rowWanted(interest, "trades", row)),
      latestGames: [...this.rows.tables.games.values()].filter((row) => rowWanted(interest, "games", row)),
      flashes: this.flashes,
      preferences: this.view.preferences,
      problem: this.problem,
    };
    for (const listener of this.listeners) listener();
  }
}

function storedPreferences(): Preferences {
  try {
    return readPreferences(JSON.parse(localStorage.getItem(PREFERENCES_KEY) ?? "null"));
  } catch {
    return DEFAULT_PREFERENCES;
  }
}

export function connectRealtime(store: RealtimeStore, apiBase: string): void {
  const view = newViewId(); // crypto.randomUUID exists only in secure contexts
  store.usePreferences(storedPreferences());
  store.savePreferences = (preferences) => localStorage.setItem(PREFERENCES_KEY, JSON.stringify(preferences));
  // Another tab changed them: every tab shows (and asks for) the same choices.
  window.addEventListener("storage", (event) => {
    if (event.key === PREFERENCES_KEY) store.usePreferences(storedPreferences());
  });
  const onMessage = (event: MessageEvent) => store.handle(event.data as ViewMessage);
  let send: (message: OwnerMessage) => void;
  if (typeof SharedWorker !== "undefined") {
    const channel = new BroadcastChannel(channelName());
    channel.addEventListener("message", onMessage);
    const worker = new SharedWorker(WORKER_PATH, { name: channelName() });
    send = (message) => worker.port.postMessage(message);
    worker.port.onmessage = (event: MessageEvent) => {
      if ((event.data as ViewMessage).type === "mismatch") {
        // The worker is another release's code: stream with this tab's own.
        worker.port.close();
        channel.close();
        send = streamInThisTab(store, onMessage, apiBase);
        store.reintroduce();
        return;
      }
      onMessage(event);
    };
    worker.port.start();
  } else {
    send = streamInThisTab(store, onMessage, apiBase);
  }
  const sayInterest = (interest: Interest) => send({ type: "interest", view, interest });
  store.sendInterest = sayInterest;
  store.sendAuth = (token) => send({ type: "auth", token });
  // The lock says this view lives; the owner forgets the interest of a view whose lock is gone.
  if (typeof navigator !== "undefined" && navigator.locks) {
    void navigator.locks.request(viewLockName(view), () => {
      sayInterest(interestOf(store.preferences));
      return new Promise<never>(() => {}); // held while the tab lives
    });
  } else {
    // No Web Locks (not a secure context): the owner knows this view lives by hearing it again.
    sayInterest(interestOf(store.preferences));
    setInterval(() => sayInterest(interestOf(store.preferences)), VIEW_REFRESH_MS);
  }
}

/** Without a (matching) SharedWorker: one tab elected with Web Locks streams for all; without Web
 * Locks (not a secure context) no tab can be elected, so this one streams on its own. */
function streamInThisTab(store: RealtimeStore, onMessage: (event: MessageEvent) => void, apiBase: string): (message: OwnerMessage) => void {
  if (typeof navigator !== "undefined" && navigator.locks) return electOwner(onMessage, apiBase);
  const privateName = `${channelName()}-${newViewId()}`;
  new BroadcastChannel(privateName).addEventListener("message", onMessage);
  const owner = startOwner(apiBase, new BroadcastChannel(privateName));
  return (message) => owner.receive(message, store.handle);
}

/** One tab of this release holds the stream (Web Locks); the others follow it on the channel. */
function electOwner(onMessage: (event: MessageEvent) => void, apiBase: string): (message: OwnerMessage) => void {
  const channel = new BroadcastChannel(channelName());
  channel.addEventListener("message", onMessage);
  void navigator.locks.request(`${channelName()}-owner`, () => {
    startOwner(apiBase);
    return new Promise<never>(() => {}); // hold the lock (and the stream) while this tab lives
  });
  const send = (message: OwnerMessage) => channel.postMessage(message);
  send({ type: "hello" });
  return send;
}

// The stream owner for the dashboard: one StreamClient whose state goes out to every view as
// ViewMessages. Used by the SharedWorker and, where SharedWorker is missing, by the tab elected
// leader with Web Locks. Views that open late ask with `hello` and get the whole state at once.
//
// The stream follows the union of what the views show: each view says its interest (its user's
// symbols and leagues) and holds a Web Lock named after itself while it lives, so the owner can drop
// the interest of a tab that closed without a word (a SharedWorker hears no port close). Outside a
// secure context there are no Web Locks: views re-say their interest instead (views.ts).

import { describeProblem, UNREACHABLE_AFTER_MS, unreachableProblem } from "./client-machine";
import { EVERYTHING, type Interest, sameInterest, unionInterest } from "./interest";
import { channelName, type OwnerMessage, type ViewMessage, viewLockName } from "./protocol";
import { rowsToLists } from "./rows";
import { requestTicket, StreamClient } from "./stream-client";
import { goneViews, VIEW_REFRESH_MS } from "./views";

/** How long the stream waits for a first view's interest before it follows everything. */
export const FIRST_INTEREST_WAIT_MS = 1000;
const PRUNE_EVERY_MS = 30_000;

export interface Owner {
  client: StreamClient;
  stateMessage(): ViewMessage;
  /** A view's message (from the channel, or the SharedWorker port it came in on). */
  receive(message: OwnerMessage, reply: (message: ViewMessage) => void): void;
}

export function startOwner(apiBase: string, channel: BroadcastChannel = new BroadcastChannel(channelName())): Owner {
  const interests = new Map<string, Interest>();
  const lastHeard = new Map<string, number>();
  const locks = typeof navigator !== "undefined" && navigator.locks ? navigator.locks : null;
  let started = false;
  // The latest access token a view sent; a renewed one is used for the next ticket, no reconnect.
  let token: string | null = null;
  const tickets = () => (token === null ? Promise.resolve(null) : requestTicket(apiBase, token));
  // Set UNREACHABLE_AFTER_MS after attempts began failing without an answer; any answer clears it.
  let unreachable = false;
  let unreachableTimer: ReturnType<typeof setTimeout> | undefined;
  const client: StreamClient = new StreamClient({
    apiBase,
    compress: true,
    listener: {
      onState: () => channel.postMessage(stateMessage()),
      onChanges: (changes) => {
        if (changes.length) channel.postMessage({ type: "changes", changes } satisfies ViewMessage);
      },
      onStatus: () => channel.postMessage(statusMessage()),
      onUnreachable: (since) => {
        clearTimeout(unreachableTimer);
        const was = unreachable;
        unreachable = false;
        if (since === null) {
          if (was) channel.postMessage(statusMessage());
          return;
        }
        const report = () => ((unreachable = true), channel.postMessage(statusMessage()));
        unreachableTimer = setTimeout(report, Math.max(0, since + UNREACHABLE_AFTER_MS - Date.now()));
      },
      onAccount: (account) => channel.postMessage({ type: "account", account } satisfies ViewMessage),
      onReset: () => channel.postMessage({ type: "reset" } satisfies ViewMessage),
    },
  });

  function problem(): string | null {
    // Only while it is trying: "Offline" (the browser's own network is down) says enough.
    const trying = client.status === "connecting" || client.status === "reconnecting";
    return describeProblem(client.status, client.error) ?? (unreachable && trying ? unreachableProblem(apiBase) : null);
  }

  function statusMessage(): ViewMessage {
    return { type: "status", status: client.status, liveAt: client.liveAt, problem: problem() };
  }

  function stateMessage(): ViewMessage {
    return { type: "state", status: client.status, liveAt: client.liveAt, problem: problem(), cursor: client.cursor, rows: rowsToLists(client.rows), interest: client.currentInterest };
  }

  function follow(): void {
    const union = interests.size ? unionInterest([...interests.values()]) : EVERYTHING;
    if (!started) {
      started = true;
      client.setInterest(union);
      client.start();
    } else if (!sameInterest(union, client.currentInterest)) {
      client.setInterest(union);
    }
  }

  /** Forget the views whose tab closed: their lock is gone, or (without locks) they fell silent. */
  async function prune(): Promise<void> {
    const held = locks ? new Set(((await locks.query()).held ?? []).map((lock) => lock.name ?? "")) : null;
    const gone = goneViews(lastHeard, Date.now(), held, (view) => viewLockName(view));
    for (const view of gone) {
      interests.delete(view);
      lastHeard.delete(view);
    }
    if (gone.length) follow();
  }

  function receive(message: OwnerMessage, reply: (message: ViewMessage) => void): void {
    if (message?.type === "hello") reply(stateMessage());
    if (message?.type === "auth") {
      token = message.token;
      client.setTickets(token === null ? null : tickets);
    }
    if (message?.type === "interest") {
      interests.set(message.view, message.interest);
      lastHeard.set(message.view, Date.now());
      follow();
      void prune();
    }
  }

  channel.addEventListener("message", (event: MessageEvent) => receive(event.data as OwnerMessage, (m) => channel.postMessage(m)));
  globalThis.addEventListener?.("online", () => client.retryNow());
  globalThis.addEventListener?.("offline", () => client.goOffline());
  // A new leader hears nothing on its own: the views told their interest to the one before it.
  channel.postMessage({ type: "askInterest" } satisfies ViewMessage);
  setTimeout(() => started || follow(), FIRST_INTEREST_WAIT_MS);
  setInterval(() => void prune(), locks ? PRUNE_EVERY_MS : VIEW_REFRESH_MS);
  return { client, stateMessage, receive };
}

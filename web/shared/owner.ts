// The stream owner for the dashboard: one StreamClient whose state goes out to every view as
// ViewMessages. Used by the SharedWorker and, where SharedWorker is missing, by the tab elected
// leader with Web Locks. Views that open late ask with `hello` and get the whole state at once.
//
// The stream follows the union of what the views show: each view says its interest (its user's
// symbols and leagues) and holds a Web Lock named after itself while it lives, so the owner can drop
// the interest of a tab that closed without a word (a SharedWorker hears no port close).

import { EVERYTHING, type Interest, sameInterest, unionInterest } from "./interest";
import { channelName, type OwnerMessage, type ViewMessage, viewLockName } from "./protocol";
import { rowsToLists } from "./rows";
import { requestTicket, StreamClient } from "./stream-client";

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
  let started = false;
  // The latest access token a view sent; a renewed one is used for the next ticket, no reconnect.
  let token: string | null = null;
  const tickets = () => (token === null ? Promise.resolve(null) : requestTicket(apiBase, token));
  const client: StreamClient = new StreamClient({
    apiBase,
    listener: {
      onState: () => channel.postMessage(stateMessage()),
      onChanges: (changes) => {
        if (changes.length) channel.postMessage({ type: "changes", changes } satisfies ViewMessage);
      },
      onStatus: (status) => channel.postMessage({ type: "status", status, liveAt: client.liveAt } satisfies ViewMessage),
      onAccount: (account) => channel.postMessage({ type: "account", account } satisfies ViewMessage),
      onReset: () => channel.postMessage({ type: "reset" } satisfies ViewMessage),
    },
  });

  function stateMessage(): ViewMessage {
    return { type: "state", status: client.status, liveAt: client.liveAt, cursor: client.cursor, rows: rowsToLists(client.rows), interest: client.currentInterest };
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

  /** Forget the views whose lock is gone (their tab closed). */
  async function prune(): Promise<void> {
    if (typeof navigator === "undefined" || !navigator.locks) return;
    const held = new Set(((await navigator.locks.query()).held ?? []).map((lock) => lock.name));
    let dropped = false;
    for (const view of interests.keys()) {
      if (!held.has(viewLockName(view))) dropped = interests.delete(view) || dropped;
    }
    if (dropped) follow();
  }

  function receive(message: OwnerMessage, reply: (message: ViewMessage) => void): void {
    if (message?.type === "hello") reply(stateMessage());
    if (message?.type === "auth") {
      token = message.token;
      client.setTickets(token === null ? null : tickets);
    }
    if (message?.type === "interest") {
      interests.set(message.view, message.interest);
      follow();
      void prune();
    }
  }

  channel.addEventListener("message", (event: MessageEvent) => receive(event.data as OwnerMessage, (m) => channel.postMessage(m)));
  globalThis.addEventListener?.("online", () => client.retryNow());
  globalThis.addEventListener?.("offline", () => client.goOffline());
  setTimeout(() => started || follow(), FIRST_INTEREST_WAIT_MS);
  setInterval(() => void prune(), PRUNE_EVERY_MS);
  return { client, stateMessage, receive };
}

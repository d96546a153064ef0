// The stream owner for the dashboard: one StreamClient whose state goes out to every view as
// ViewMessages. Used by the SharedWorker and, where SharedWorker is missing, by the tab elected
// leader with Web Locks. Views that open late ask with `hello` and get the whole state at once.

import { channelName, type ViewMessage } from "./protocol";
import { rowsToLists } from "./rows";
import { StreamClient } from "./stream-client";

export interface Owner {
  client: StreamClient;
  stateMessage(): ViewMessage;
}

export function startOwner(apiBase: string, channel: BroadcastChannel = new BroadcastChannel(channelName())): Owner {
  const client: StreamClient = new StreamClient({
    apiBase,
    listener: {
      onState: () => channel.postMessage(stateMessage()),
      onChanges: (changes) => {
        if (changes.length) channel.postMessage({ type: "changes", changes } satisfies ViewMessage);
      },
      onStatus: (status) => channel.postMessage({ type: "status", status } satisfies ViewMessage),
    },
  });

  function stateMessage(): ViewMessage {
    return { type: "state", status: client.status, cursor: client.cursor, rows: rowsToLists(client.rows) };
  }

  channel.addEventListener("message", (event: MessageEvent) => {
    if ((event.data as { type?: string } | null)?.type === "hello") channel.postMessage(stateMessage());
  });
  globalThis.addEventListener?.("online", () => client.retryNow());
  globalThis.addEventListener?.("offline", () => client.goOffline());
  client.start();
  return { client, stateMessage };
}

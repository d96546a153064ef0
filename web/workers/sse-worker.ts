// The dashboard's SharedWorker: ONE EventSource per browser, shared by every tab. Updates and
// status go to all tabs over a BroadcastChannel; each tab talks to the worker through its own port
// (its interest, and `hello` for the whole current state). Served at a stable URL (no content hash)
// so every tab of the origin shares this one worker.

import { startOwner } from "../shared/owner";
import { BUILD, buildOfName, type OwnerMessage, type ViewMessage } from "../shared/protocol";

declare const __SCROLLR_API__: string;
declare const self: SharedWorkerGlobalScope;

// A tab names the worker after its own release. After a deploy, an old tab that starts a worker
// gets this file's new code under the old name: then it must not serve that tab (their messages
// may differ), and says so instead of streaming.
const sameRelease = buildOfName(self.name) === BUILD;
const owner = sameRelease ? startOwner(__SCROLLR_API__ || self.location.origin) : null;

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  if (owner === null) {
    port.postMessage({ type: "mismatch", worker: BUILD } satisfies ViewMessage);
  } else {
    port.onmessage = (message: MessageEvent) => owner.receive(message.data as OwnerMessage, (reply) => port.postMessage(reply));
    port.postMessage(owner.stateMessage());
  }
  port.start();
};

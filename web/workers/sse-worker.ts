// The dashboard's SharedWorker: ONE EventSource per browser, shared by every tab. Updates and
// status go to all tabs over a BroadcastChannel; a tab that connects late gets the whole current
// state at once through its own port. Served at a stable URL (no content hash) so every tab of the
// origin shares this one worker.

import { startOwner } from "../shared/owner";

declare const __SCROLLR_API__: string;
declare const self: SharedWorkerGlobalScope;

const owner = startOwner(__SCROLLR_API__ || self.location.origin);

self.onconnect = (event: MessageEvent) => {
  const port = event.ports[0];
  port.postMessage(owner.stateMessage());
  port.start();
};

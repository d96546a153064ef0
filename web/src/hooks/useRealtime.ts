// useRealtime: live trades and games with the stream's status. Hybrid sync happens in the stream
// owner (snapshot, then /events from the snapshot's cursor); this hook only subscribes to the
// tab's store, shared by every component of the tab.

import { useSyncExternalStore } from "react";

import { connectRealtime, RealtimeStore, type RealtimeView } from "../realtime-store";

declare const __SCROLLR_API__: string;

let store: RealtimeStore | null = null;

export function realtimeStore(): RealtimeStore {
  if (store === null) {
    store = new RealtimeStore();
    connectRealtime(store, __SCROLLR_API__ || window.location.origin);
    (window as unknown as { __scrollr: RealtimeStore }).__scrollr = store;
  }
  return store;
}

export function useRealtime(): RealtimeView {
  const shared = realtimeStore();
  return useSyncExternalStore(shared.subscribe, shared.getSnapshot);
}

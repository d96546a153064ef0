// useRealtime: the user's trades and games with the stream's state, and their preferences. Hybrid
// sync happens in the stream owner (snapshot, then /events from the snapshot's cursor); this hook
// only subscribes to the tab's store, shared by every component of the tab.

import { useSyncExternalStore } from "react";

import { Account, type AccountView } from "../account";
import { connectRealtime, RealtimeStore, type RealtimeView } from "../realtime-store";
import type { Preferences } from "../../shared/preferences";

declare const __SCROLLR_API__: string;

let store: RealtimeStore | null = null;
let account: Account | null = null;

export function apiBase(): string {
  return __SCROLLR_API__ || window.location.origin;
}

export function realtimeStore(): RealtimeStore {
  if (store === null) {
    store = new RealtimeStore();
    connectRealtime(store, apiBase());
    (window as unknown as { __scrollr: RealtimeStore }).__scrollr = store;
  }
  return store;
}

export function useRealtime(): RealtimeView & { setPreferences: (preferences: Preferences) => void } {
  const shared = realtimeStore();
  return { ...useSyncExternalStore(shared.subscribe, shared.getSnapshot), setPreferences: shared.setPreferences };
}

/** The signed-in account (or none), with Sign in / Sign out. */
export function useAccount(): AccountView & { signIn: () => void; signOut: () => void } {
  if (account === null) {
    account = new Account(apiBase(), realtimeStore());
    void account.start();
  }
  const shared = account;
  return { ...useSyncExternalStore(shared.subscribe, shared.getSnapshot), signIn: shared.signIn, signOut: shared.signOut };
}

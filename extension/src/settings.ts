// The extension's settings, read and validated: the API origin (the options page sets it at run
// time; the build's is the default) and the user's preferences (chrome.storage.sync).

import { type Preferences, PREFERENCES_KEY, readPreferences } from "../../web/shared/preferences";
import { SETTINGS_API_KEY } from "./state";

declare const __SCROLLR_API__: string;

export const BUILT_API_ORIGIN = __SCROLLR_API__;

/** An API origin as typed by a user: an http(s) origin without path, or null with the reason. */
export function parseOrigin(text: string): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { error: "Enter a full address, like https://api.myscrollr.relentnet.dev" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { error: "The address must start with https:// (or http:// for a local relay)" };
  if (url.pathname !== "/" || url.search || url.hash) return { error: "Enter the origin only, without a path" };
  return { origin: url.origin };
}

export async function apiOrigin(): Promise<string> {
  const stored = (await chrome.storage.local.get(SETTINGS_API_KEY))[SETTINGS_API_KEY];
  const parsed = typeof stored === "string" ? parseOrigin(stored) : null;
  return parsed && "origin" in parsed ? parsed.origin : BUILT_API_ORIGIN;
}

export async function preferences(): Promise<Preferences> {
  return readPreferences((await chrome.storage.sync.get(PREFERENCES_KEY))[PREFERENCES_KEY]);
}

export async function savePreferences(value: Preferences): Promise<void> {
  await chrome.storage.sync.set({ [PREFERENCES_KEY]: value });
}

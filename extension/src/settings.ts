// The extension's settings, read and validated: the API origin (the options page sets it at run
// time; the build's is the default) and the user's preferences (chrome.storage.sync).

import { type Preferences, PREFERENCES_KEY, readPreferences } from "../../web/shared/preferences";
import { parseOrigin } from "./origin";
import { SETTINGS_API_KEY } from "./state";

export { parseOrigin };

declare const __SCROLLR_API__: string;

export const BUILT_API_ORIGIN = __SCROLLR_API__;

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

// A signed-in user's preferences between the browser and the account (GET/PUT /me/preferences and
// `event: preferences` on the stream). Pure: no I/O. Signing in moves the browser's own choices to
// an account that has none yet; after that the account's choices win, and every device follows
// them. Versions (the server's ETag) tell a newer account state from one already applied.

import { type Preferences, readPreferences, type UpdateSpeed } from "./preferences";

export const PREFERENCES_EVENT = "preferences";
export const TOKEN_EXPIRED_EVENT = "token_expired";

/** The preferences as the server keeps them (README, "Accounts"). */
export interface ServerPreferences {
  symbols: string[] | null;
  leagues: string[] | null;
  favouriteTeams: Record<string, string>;
  updateSpeed?: string;
  display: { showUpcoming: boolean; showFinal: boolean; sort: string; descending: boolean; view: string };
  feedBar?: Record<string, unknown>;
  updatedAt?: string;
}

// The server names real time "live" (migration 005); the browser's setting calls it "realtime".
const SERVER_SPEED: Record<UpdateSpeed, string> = { realtime: "live", "1s": "1s", "5s": "5s" };

function browserSpeed(server: string | undefined): string | undefined {
  return server === "live" ? "realtime" : server;
}

/** The account's preferences at a version (the ETag's number). */
export interface AccountPreferences {
  version: number;
  preferences: Preferences;
}

/** The body of a PUT: the browser's choices (the update speed too), keeping what only other clients
 * set (the feed bar). */
export function toServer(preferences: Preferences, base?: ServerPreferences | null): ServerPreferences {
  const { symbols, leagues, favouriteTeams, updateSpeed, showUpcoming, showFinal, sort, descending, view } = preferences;
  return {
    symbols,
    leagues,
    favouriteTeams,
    updateSpeed: SERVER_SPEED[updateSpeed],
    display: { showUpcoming, showFinal, sort, descending, view },
    feedBar: base?.feedBar ?? {},
  };
}

/** The browser's preferences from the server's, read as defensively as stored ones. */
export function fromServer(server: ServerPreferences): Preferences {
  return readPreferences({
    ...server.display,
    symbols: server.symbols,
    leagues: server.leagues,
    favouriteTeams: server.favouriteTeams,
    updateSpeed: browserSpeed(server.updateSpeed),
  });
}

/** `"7"` → 7; null for a tag this client didn't get from the server. */
export function versionOfEtag(etag: string | null): number | null {
  const match = etag === null ? null : /^"(\d+)"$/.exec(etag.trim());
  return match ? Number(match[1]) : null;
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** What signing in does: the account has none → upload the browser's; else adopt the account's. */
export type SignInStep = { kind: "upload"; body: ServerPreferences } | { kind: "adopt"; account: AccountPreferences };

export function onSignIn(local: Preferences, account: AccountPreferences | null): SignInStep {
  return account === null ? { kind: "upload", body: toServer(local) } : { kind: "adopt", account };
}

/** An `event: preferences` (or a GET) to apply: only one newer than what the browser has. */
export function newer(current: number | null, incoming: AccountPreferences | null): boolean {
  return incoming !== null && (current === null || incoming.version > current);
}

/** The data of an `event: preferences`; null when unreadable or when the account's were deleted. */
export function parsePreferencesEvent(data: string): AccountPreferences | null {
  try {
    const parsed = JSON.parse(data) as { version?: unknown; preferences?: unknown };
    if (typeof parsed.version !== "number" || typeof parsed.preferences !== "object" || parsed.preferences === null) return null;
    return { version: parsed.version, preferences: fromServer(parsed.preferences as ServerPreferences) };
  } catch {
    return null;
  }
}

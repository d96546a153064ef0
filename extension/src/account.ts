// Signing in from the extension: chrome.identity.launchWebAuthFlow with the authorization code flow
// and PKCE at the issuer the relay names (GET /auth/config), as the real Scrollr extension does. Runs
// in the background service worker (a popup closes when the sign-in window takes the focus).
//
// Tokens live in chrome.storage.session only: in memory, gone when the browser closes, never synced
// (chrome.storage.sync would copy them to every browser of the Google account) and out of reach of
// content scripts. The access token is renewed with the refresh token shortly before it expires.

import { type AccountPreferences, etagOf, fromServer, newer, onSignIn, type ServerPreferences, toServer, versionOfEtag } from "../../web/shared/account-sync";
import { type Preferences, PREFERENCES_KEY } from "../../web/shared/preferences";

export const AUTH_KEY = "scrollr:auth";
/** The account version the stored preferences are at (next to them in chrome.storage.sync). */
export const VERSION_KEY = "scrollr:account-version";
const RENEW_BEFORE_MS = 60_000;

interface AuthConfig {
  issuer: string;
  audience: string;
  extensionClientId: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

export interface StoredAuth {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: number;
  name: string | null;
  tokenEndpoint: string;
  clientId: string;
  audience: string;
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** RFC 7636: a random verifier and its S256 challenge. */
export async function pkcePair(): Promise<{ verifier: string; challenge: string }> {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(48)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

/** The display name in an ID token (read only for display: it came straight from the token endpoint). */
export function nameOf(idToken: unknown): string | null {
  if (typeof idToken !== "string") return null;
  try {
    const payload = JSON.parse(atob(idToken.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))) as Record<string, unknown>;
    const name = payload.name ?? payload.preferred_username ?? payload.email ?? payload.sub;
    return typeof name === "string" ? name : null;
  } catch {
    return null;
  }
}

async function json<T>(response: Response, what: string): Promise<T> {
  if (!response.ok) throw new Error(`${what}: ${response.status}`);
  return (await response.json()) as T;
}

export async function storedAuth(): Promise<StoredAuth | null> {
  return ((await chrome.storage.session.get(AUTH_KEY))[AUTH_KEY] as StoredAuth | undefined) ?? null;
}

function authFrom(tokens: Record<string, unknown>, previous: Pick<StoredAuth, "tokenEndpoint" | "clientId" | "audience" | "name">): StoredAuth {
  return {
    ...previous,
    accessToken: String(tokens.access_token),
    refreshToken: typeof tokens.refresh_token === "string" ? tokens.refresh_token : null,
    expiresAt: Date.now() + Number(tokens.expires_in ?? 0) * 1000,
    name: nameOf(tokens.id_token) ?? previous.name,
  };
}

/** The whole sign-in: the provider's page in a browser window, then the code for tokens. */
export async function signIn(apiBase: string): Promise<StoredAuth> {
  const config = await json<AuthConfig>(await fetch(`${apiBase}/auth/config`), "GET /auth/config");
  const discovery = await json<Discovery>(await fetch(`${config.issuer}/.well-known/openid-configuration`), "discovery");
  const redirectUri = chrome.identity.getRedirectURL();
  const { verifier, challenge } = await pkcePair();
  const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
  const params = new URLSearchParams({
    client_id: config.extensionClientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: "openid profile preferences offline_access",
    resource: config.audience,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
    prompt: "consent",
  });
  const returned = await chrome.identity.launchWebAuthFlow({ url: `${discovery.authorization_endpoint}?${params}`, interactive: true });
  const answer = new URL(returned ?? "").searchParams;
  if (answer.get("state") !== state || !answer.get("code")) throw new Error(answer.get("error") ?? "sign-in did not return a code");
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: answer.get("code") ?? "",
    redirect_uri: redirectUri,
    client_id: config.extensionClientId,
    code_verifier: verifier,
    resource: config.audience,
  });
  const tokens = await json<Record<string, unknown>>(await fetch(discovery.token_endpoint, { method: "POST", body }), "token");
  const auth = authFrom(tokens, { tokenEndpoint: discovery.token_endpoint, clientId: config.extensionClientId, audience: config.audience, name: null });
  await chrome.storage.session.set({ [AUTH_KEY]: auth });
  return auth;
}

export async function signOut(): Promise<void> {
  await chrome.storage.session.remove(AUTH_KEY);
}

/** A current access token, renewed with the refresh token when it is about to expire; null: signed out. */
export async function accessToken(): Promise<string | null> {
  const auth = await storedAuth();
  if (auth === null) return null;
  if (auth.expiresAt - Date.now() > RENEW_BEFORE_MS) return auth.accessToken;
  if (auth.refreshToken === null) return auth.expiresAt > Date.now() ? auth.accessToken : null;
  const body = new URLSearchParams({ grant_type: "refresh_token", refresh_token: auth.refreshToken, client_id: auth.clientId, resource: auth.audience });
  try {
    const renewed = authFrom(await json<Record<string, unknown>>(await fetch(auth.tokenEndpoint, { method: "POST", body }), "refresh"), auth);
    await chrome.storage.session.set({ [AUTH_KEY]: { ...renewed, refreshToken: renewed.refreshToken ?? auth.refreshToken } });
    return renewed.accessToken;
  } catch {
    return auth.expiresAt > Date.now() ? auth.accessToken : null;
  }
}

async function preferencesRequest(apiBase: string, token: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${token}`);
  return fetch(`${apiBase}/me/preferences`, { ...init, headers, cache: "no-store" });
}

async function loadAccount(apiBase: string, token: string): Promise<{ account: AccountPreferences; server: ServerPreferences } | null> {
  const response = await preferencesRequest(apiBase, token);
  if (response.status === 404) return null;
  const server = await json<ServerPreferences>(response, "GET /me/preferences");
  return { account: { version: versionOfEtag(response.headers.get("etag")) ?? 0, preferences: fromServer(server) }, server };
}

/** The account's preferences win: kept in chrome.storage.sync with their version (the options page,
 * the popup and the background follow that key). */
export async function adopt(account: AccountPreferences, force = false): Promise<void> {
  const current = (await chrome.storage.sync.get(VERSION_KEY))[VERSION_KEY];
  if (!force && !newer(typeof current === "number" ? current : null, account)) return;
  await chrome.storage.sync.set({ [PREFERENCES_KEY]: account.preferences, [VERSION_KEY]: account.version });
}

/** Read the account's preferences again and keep them if newer (after the stream's `reset`). */
export async function refreshAccount(apiBase: string): Promise<void> {
  const token = await accessToken();
  if (token === null) return;
  const loaded = await loadAccount(apiBase, token).catch(() => null);
  if (loaded !== null) await adopt(loaded.account);
}

/** Just signed in: an empty account gets this browser's choices; otherwise the account's win. */
export async function syncOnSignIn(apiBase: string, local: Preferences): Promise<void> {
  const token = await accessToken();
  if (token === null) return;
  const loaded = await loadAccount(apiBase, token);
  const step = onSignIn(local, loaded?.account ?? null);
  if (step.kind === "adopt") {
    await adopt(step.account, true);
    return;
  }
  const response = await preferencesRequest(apiBase, token, {
    method: "PUT",
    headers: { "Content-Type": "application/json", "If-None-Match": "*" },
    body: JSON.stringify(step.body),
  });
  const version = versionOfEtag(response.headers.get("etag"));
  if (response.ok && version !== null) await chrome.storage.sync.set({ [VERSION_KEY]: version });
}

/** The user changed a choice (options page): write it to the account; on a conflict the account's win. */
export async function saveToAccount(apiBase: string, preferences: Preferences): Promise<void> {
  const token = await accessToken();
  if (token === null) return;
  const current = (await chrome.storage.sync.get(VERSION_KEY))[VERSION_KEY];
  const condition: Record<string, string> = typeof current === "number" ? { "If-Match": etagOf(current) } : { "If-None-Match": "*" };
  const loaded = typeof current === "number" ? null : await loadAccount(apiBase, token);
  const response = await preferencesRequest(apiBase, token, {
    method: "PUT",
    headers: { "Content-Type": "application/json", ...condition },
    body: JSON.stringify(toServer(preferences, loaded?.server)),
  });
  const version = versionOfEtag(response.headers.get("etag"));
  if (response.ok && version !== null) {
    await chrome.storage.sync.set({ [VERSION_KEY]: version });
  } else if (response.status === 412) {
    const latest = await loadAccount(apiBase, token);
    if (latest !== null) await adopt(latest.account, true);
  }
}

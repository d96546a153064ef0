// Signing in on the dashboard: OpenID Connect authorization code flow with PKCE (oidc-client-ts)
// at the issuer the relay names (GET /auth/config), and the account's preferences kept in step with
// the browser's (account-sync.ts decides; this is the I/O around it).
//
// The session (tokens) is kept in localStorage, so every tab of the dashboard is signed in once and a
// reload stays signed in; oidc-client-ts renews the access token with the refresh token before it
// expires, and each tab tells the stream owner the newest one (it asks for stream tickets with it).

import { UserManager, WebStorageStateStore, type User } from "oidc-client-ts";

import { type AccountPreferences, etagOf, fromServer, newer, onSignIn, type ServerPreferences, toServer, versionOfEtag } from "../shared/account-sync";
import type { Preferences } from "../shared/preferences";
import type { RealtimeStore } from "./realtime-store";

const VERSION_KEY = "scrollr:account-version";

interface AuthConfig {
  issuer: string;
  audience: string;
  dashboardClientId: string;
}

export interface AccountView {
  /** Does this relay have accounts at all (AUTH_ISSUER)? */
  enabled: boolean;
  signedIn: boolean;
  name: string | null;
}

function storedVersion(): number | null {
  const raw = localStorage.getItem(VERSION_KEY);
  return raw === null ? null : Number(raw) || null;
}

export class Account {
  private manager: UserManager | null = null;
  private user: User | null = null;
  private view: AccountView = { enabled: false, signedIn: false, name: null };
  private readonly listeners = new Set<() => void>();
  /** The last account preferences sent by the server (kept for what the dashboard doesn't edit). */
  private server: ServerPreferences | null = null;

  constructor(
    private readonly apiBase: string,
    private readonly store: RealtimeStore,
  ) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): AccountView => this.view;

  async start(): Promise<void> {
    const response = await fetch(`${this.apiBase}/auth/config`).catch(() => null);
    if (response === null || !response.ok) return; // no accounts here: signed out, as before
    const config = (await response.json()) as AuthConfig;
    const home = `${window.location.origin}/`;
    const manager = new UserManager({
      authority: config.issuer,
      client_id: config.dashboardClientId,
      redirect_uri: home,
      post_logout_redirect_uri: home,
      scope: "openid profile preferences",
      resource: config.audience,
      userStore: new WebStorageStateStore({ store: window.localStorage }),
      automaticSilentRenew: true,
    });
    this.manager = manager;
    manager.events.addUserLoaded((user) => this.useUser(user)); // renewed, or signed in in another tab's flow
    manager.events.addUserUnloaded(() => this.useUser(null));
    this.store.onUserChange = (preferences) => void this.save(preferences);
    this.store.onAccount = (account) => this.adopt(account);
    this.store.onReset = () => void this.refresh();
    let justSignedIn = false;
    const params = new URLSearchParams(window.location.search);
    if (params.has("code") && params.has("state")) {
      await manager.signinRedirectCallback().catch(() => null);
      window.history.replaceState(null, "", home); // no code or state left in the address bar
      justSignedIn = true;
    }
    const user = await manager.getUser();
    this.useUser(user !== null && !user.expired ? user : null);
    this.publish(true);
    if (this.user !== null) await this.sync(justSignedIn);
  }

  signIn = (): void => {
    void this.manager?.signinRedirect();
  };

  signOut = (): void => {
    const manager = this.manager;
    if (manager === null) return;
    const idToken = this.user?.id_token;
    void manager.removeUser().then(() => manager.signoutRedirect({ id_token_hint: idToken }));
  };

  private useUser(user: User | null): void {
    this.user = user;
    this.store.setAuth(user?.access_token ?? null);
    this.publish(this.view.enabled);
  }

  private publish(enabled: boolean): void {
    const profile = this.user?.profile;
    const name = profile ? String(profile.name ?? profile.preferred_username ?? profile.email ?? profile.sub) : null;
    this.view = { enabled, signedIn: this.user !== null, name };
    for (const listener of this.listeners) listener();
  }

  private async request(method: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("Authorization", `Bearer ${this.user?.access_token ?? ""}`);
    return fetch(`${this.apiBase}/me/preferences`, { ...init, method, headers, cache: "no-store" });
  }

  /** The account's preferences now, or null when it has none. */
  private async load(): Promise<AccountPreferences | null> {
    const response = await this.request("GET");
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`GET /me/preferences: ${response.status}`);
    this.server = (await response.json()) as ServerPreferences;
    return { version: versionOfEtag(response.headers.get("etag")) ?? 0, preferences: fromServer(this.server) };
  }

  /** Signing in moves this browser's choices to an empty account; otherwise the account's win. */
  private async sync(justSignedIn: boolean): Promise<void> {
    const account = await this.load().catch(() => undefined);
    if (account === undefined) return;
    const step = onSignIn(this.store.preferences, account);
    if (step.kind === "adopt") this.adopt(step.account, true);
    else if (justSignedIn) await this.put(step.body, { "If-None-Match": "*" });
  }

  /** After a `reset` the stream can't say what changed meanwhile: read the account's again. */
  private async refresh(): Promise<void> {
    if (this.user === null) return;
    const account = await this.load().catch(() => null);
    if (account !== null) this.adopt(account);
  }

  private adopt(account: AccountPreferences, force = false): void {
    if (!force && !newer(storedVersion(), account)) return;
    localStorage.setItem(VERSION_KEY, String(account.version));
    this.store.adoptPreferences(account.preferences);
  }

  /** The user changed something here: write it to the account, unless another device got there first. */
  private async save(preferences: Preferences): Promise<void> {
    if (this.user === null) return;
    const version = storedVersion();
    const condition: Record<string, string> = version === null ? { "If-None-Match": "*" } : { "If-Match": etagOf(version) };
    const ok = await this.put(toServer(preferences, this.server), condition);
    if (!ok) {
      // Changed meanwhile on another device (412): the account's choices win; show them.
      const account = await this.load().catch(() => null);
      if (account !== null) this.adopt(account, true);
    }
  }

  private async put(body: ServerPreferences, condition: Record<string, string>): Promise<boolean> {
    const response = await this.request("PUT", { headers: { "Content-Type": "application/json", ...condition }, body: JSON.stringify(body) });
    if (!response.ok) return false;
    this.server = (await response.json()) as ServerPreferences;
    const version = versionOfEtag(response.headers.get("etag"));
    if (version !== null && newer(storedVersion(), { version, preferences: fromServer(this.server) })) {
      localStorage.setItem(VERSION_KEY, String(version));
    }
    return true;
  }
}

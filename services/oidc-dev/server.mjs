// The development OpenID provider: `oidc-provider` (the certified library Logto is built on) with one
// development account, for `just dev` and the tests. Never for production: production's issuer is
// Logto (README, "Accounts").
//
// Authorization code flow with PKCE (required: both clients are public), JWT access tokens for the
// relay's audience (RFC 8707 resource indicators, RFC 9068 access tokens), refresh tokens. Settings
// from the environment:
//   OIDC_PORT (9000; 0 picks a free one), OIDC_HOST (127.0.0.1)
//   AUTH_AUDIENCE (https://api.scrollr.local): the relay's audience, as the relay's AUTH_AUDIENCE
//   OIDC_REDIRECT_URIS: comma-separated redirect URIs of the dashboard client (scrollr-dashboard)
//   OIDC_EXTENSION_REDIRECT_URIS: those of the extension (scrollr-extension),
//     https://<extension id>.chromiumapp.org/ as chrome.identity.getRedirectURL() gives it
//   OIDC_ACCESS_TOKEN_SECONDS (600)
//   OIDC_JWKS_FILE: a JSON file {"keys": [private JWK]} to sign with (tests use their own key);
//     without it a key is made at start
// It prints one line `issuer <url>` on stdout once it listens.

import { generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import Provider, { errors } from "oidc-provider";

export const DEV_ACCOUNT = { username: "dev@scrollr.local", password: "scrollr-dev", sub: "dev-user", name: "Dev User" };
const MAX_FORM_BYTES = 4096;

const env = process.env;
const host = env.OIDC_HOST || "127.0.0.1";
const audience = env.AUTH_AUDIENCE || "https://api.scrollr.local";
const accessTokenSeconds = Number(env.OIDC_ACCESS_TOKEN_SECONDS || 600);
const list = (value) => (value || "").split(",").map((s) => s.trim()).filter(Boolean);

function signingKeys() {
  if (env.OIDC_JWKS_FILE) return JSON.parse(readFileSync(env.OIDC_JWKS_FILE, "utf8"));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = privateKey.export({ format: "jwk" });
  return { keys: [{ ...jwk, kid: randomBytes(8).toString("hex"), use: "sig", alg: "RS256" }] };
}

function accountById(sub) {
  if (sub !== DEV_ACCOUNT.sub) return undefined;
  return {
    accountId: sub,
    claims: async () => ({ sub, name: DEV_ACCOUNT.name, email: DEV_ACCOUNT.username, preferred_username: DEV_ACCOUNT.username }),
  };
}

function sameSecret(given, expected) {
  const a = Buffer.from(String(given));
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function publicClient(clientId, redirectUris) {
  return {
    client_id: clientId,
    token_endpoint_auth_method: "none",
    application_type: "web",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: redirectUris,
    post_logout_redirect_uris: redirectUris,
  };
}

function makeProvider(issuer) {
  const dashboard = list(env.OIDC_REDIRECT_URIS);
  const extension = list(env.OIDC_EXTENSION_REDIRECT_URIS);
  const clients = [publicClient("scrollr-dashboard", dashboard.length ? dashboard : ["http://127.0.0.1:8080/"])];
  if (extension.length) clients.push(publicClient("scrollr-extension", extension));
  return new Provider(issuer, {
    clients,
    jwks: signingKeys(),
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: { openid: ["sub"], profile: ["name", "preferred_username"], email: ["email"] },
    pkce: { required: () => true },
    // The account's name in the ID token: the access token is for the relay, not for userinfo.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => accountById(sub),
    // Public clients: their redirect URIs' origins may call the token endpoint from the browser; the
    // extension calls it from chrome-extension://<id>, its redirect URI being https://<id>.chromiumapp.org/.
    clientBasedCORS: (_ctx, origin, client) =>
      client.redirectUris.some((uri) => {
        const url = URL.parse(uri);
        return url?.origin === origin || (url?.hostname.endsWith(".chromiumapp.org") && origin === `chrome-extension://${url.hostname.split(".")[0]}`);
      }),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed("refresh_token"),
    ttl: {
      AccessToken: accessTokenSeconds,
      AuthorizationCode: 60,
      IdToken: accessTokenSeconds,
      RefreshToken: 24 * 3600,
      Grant: 24 * 3600,
      Interaction: 600,
      Session: 24 * 3600,
    },
    features: {
      devInteractions: { enabled: false }, // our own login page checks the development account's password
      rpInitiatedLogout: { enabled: true, logoutSource: autoSubmitLogout },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== audience) throw new errors.InvalidTarget();
          return { scope: "preferences", audience, accessTokenTTL: accessTokenSeconds, accessTokenFormat: "jwt", jwt: { sign: { alg: "RS256" } } };
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = "html";
      ctx.body = page("Sign-in error", `<p>${escape(out.error)}: ${escape(out.error_description || "")}</p>`);
    },
  });
}

async function autoSubmitLogout(ctx, form) {
  ctx.body = page("Signing out", `${form}<script>document.forms[0].submit()</script><noscript><button form="op.logoutForm" name="logout" value="yes">Sign out</button></noscript>`);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title, body) {
  return `<!doctype html><html lang="en"><meta charset="utf-8"><title>${escape(title)}</title>` +
    `<meta name="viewport" content="width=device-width"><body style="font-family:system-ui;max-width:24rem;margin:4rem auto">` +
    `<h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginPage(uid, problem) {
  return page(
    "Sign in to Scrollr (development)",
    `${problem ? `<p role="alert">${escape(problem)}</p>` : ""}` +
      `<form method="post" action="/interaction/${escape(uid)}/login">` +
      `<p><label>Email <input name="username" autocomplete="username" required></label></p>` +
      `<p><label>Password <input name="password" type="password" autocomplete="current-password" required></label></p>` +
      `<button type="submit">Sign in</button></form>`,
  );
}

async function readForm(req) {
  let size = 0;
  const chunks = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error("form too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function send(res, status, html) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
  res.end(html);
}

// First-party clients: what they ask for is granted without a consent screen.
async function grantConsent(provider, details) {
  const { prompt, params, session, grantId } = details;
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes || {})) {
    grant.addResourceScope(indicator, scopes.join(" "));
  }
  return { consent: { grantId: await grant.save() } };
}

async function interaction(provider, req, res) {
  const [, , uid, action] = new URL(req.url, "http://x").pathname.split("/");
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return send(res, 400, page("Sign-in error", "<p>This sign-in has expired.</p>"));
  if (details.prompt.name === "consent") {
    return provider.interactionFinished(req, res, await grantConsent(provider, details), { mergeWithLastSubmission: true });
  }
  if (req.method === "POST" && action === "login") {
    const form = await readForm(req);
    const ok = sameSecret(form.get("username"), DEV_ACCOUNT.username) && sameSecret(form.get("password"), DEV_ACCOUNT.password);
    if (!ok) return send(res, 401, loginPage(uid, "Wrong email or password."));
    return provider.interactionFinished(req, res, { login: { accountId: DEV_ACCOUNT.sub } }, { mergeWithLastSubmission: false });
  }
  return send(res, 200, loginPage(uid));
}

async function main() {
  const port = Number(env.OIDC_PORT ?? 9000);
  const server = createServer();
  await new Promise((resolve) => server.listen(port, host, resolve));
  const issuer = `http://${host}:${server.address().port}`;
  const provider = makeProvider(issuer);
  const callback = provider.callback();
  server.on("request", (req, res) => {
    if (req.url.startsWith("/interaction/")) {
      interaction(provider, req, res).catch((err) => {
        console.error("interaction failed:", err.message);
        if (!res.headersSent) send(res, 400, page("Sign-in error", `<p>${escape(err.message)}</p>`));
      });
      return;
    }
    callback(req, res);
  });
  process.on("SIGTERM", () => server.close(() => process.exit(0)));
  console.log(`issuer ${issuer}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

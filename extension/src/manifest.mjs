// The extension's manifest, made at build time. The build's API origin (SCROLLR_EXTENSION_API_ORIGIN:
// production by default, the local relay under `just dev`) is the default and gets its host
// permission up front; the options page can point at any other origin at run time, asking for that
// origin's permission then (optional_host_permissions).
import { feedBarManifest } from "./bar/manifest.mjs";
import { iconPaths } from "./icons.mjs";

export function manifest(apiOrigin) {
  const origin = new URL(apiOrigin).origin;
  return {
    manifest_version: 3,
    name: "Scrollr",
    version: "0.2.0",
    description: "Live market prices and sports scores from Scrollr.",
    background: { service_worker: "background.js", type: "module" },
    action: { default_popup: "popup.html", default_title: "Scrollr", default_icon: iconPaths() },
    icons: iconPaths(),
    options_ui: { page: "options.html", open_in_tab: true },
    // storage: live state and sign-in tokens (session), the API origin (local), preferences and the
    // feed bar's settings (sync); alarms: the watchdog; identity: signing in (launchWebAuthFlow).
    permissions: ["storage", "alarms", "identity"],
    host_permissions: [`${origin}/*`],
    optional_host_permissions: ["https://*/*", "http://*/*"],
    ...feedBarManifest(),
  };
}

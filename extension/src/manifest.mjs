// The extension's manifest, made at build time so the API origin (host permission) is configurable:
// SCROLLR_EXTENSION_API_ORIGIN, default the local relay; production https://api.myscrollr.relentnet.dev.
export function manifest(apiOrigin) {
  const origin = new URL(apiOrigin).origin;
  return {
    manifest_version: 3,
    name: "Scrollr",
    version: "0.1.0",
    description: "Live market prices and sports scores from Scrollr.",
    background: { service_worker: "background.js", type: "module" },
    action: { default_popup: "popup.html", default_title: "Scrollr" },
    // storage: live state (session) and settings (local); alarms: the stream watchdog.
    permissions: ["storage", "alarms"],
    host_permissions: [`${origin}/*`],
  };
}

// The feed bar's part of the manifest. Its content script runs on http and https pages only — not
// <all_urls> (file://, ftp:// and the rest have no bar) — in the top frame only, once the page is
// idle. It decides itself, from the user's allow and deny lists, whether to show the bar; it needs
// no host permission of its own: it never fetches, the background service worker does.
export const CONTENT_SCRIPT = "content.js";

export function feedBarManifest() {
  return {
    content_scripts: [{ matches: ["http://*/*", "https://*/*"], js: [CONTENT_SCRIPT], run_at: "document_idle" }],
  };
}

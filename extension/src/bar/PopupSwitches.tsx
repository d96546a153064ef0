// The popup's quick switches for the feed bar: on or off everywhere, and on or off for the site of
// the tab the popup was opened over. The site comes from that tab's content script (the extension
// asks for no `tabs` permission, so it can't read the tab's address itself); a page without it (a
// browser page, a file) has no "this site" switch.

import { useEffect, useState } from "react";

import { SITE_REQUEST, type SiteAnswer } from "./protocol";
import { barAllowedOn, withSite } from "./sites";
import { useBarSettings } from "./useBarSettings";

/** The tab the popup is about: the active tab of its window; when the popup runs in a tab or window
 * of its own, the active tab of the last focused browser window. */
async function siteTab(): Promise<chrome.tabs.Tab | undefined> {
  const self = await chrome.tabs.getCurrent();
  if (self === undefined) return (await chrome.tabs.query({ active: true, currentWindow: true }))[0];
  const window = await chrome.windows.getLastFocused({ windowTypes: ["normal"] });
  return (await chrome.tabs.query({ active: true, windowId: window.id })).find((tab) => tab.id !== self.id);
}

async function siteOfActiveTab(): Promise<string | null> {
  const tab = await siteTab();
  if (tab?.id === undefined) return null;
  const answer = (await chrome.tabs.sendMessage(tab.id, { type: SITE_REQUEST }).catch(() => null)) as SiteAnswer | null;
  return typeof answer?.host === "string" && answer.host !== "" ? answer.host : null;
}

export function BarSwitches() {
  const [settings, change] = useBarSettings();
  const [host, setHost] = useState<string | null>(null);
  useEffect(() => void siteOfActiveTab().then(setHost), []);
  if (settings === null) return null;
  const onThisSite = host !== null && barAllowedOn({ ...settings, enabled: true }, host);
  return (
    <fieldset className="bar-switches" data-testid="bar-switches">
      <legend>Feed bar</legend>
      <label>
        <input type="checkbox" role="switch" checked={settings.enabled} onChange={(e) => {
            const enabled = e.target.checked; // read now: React puts a controlled box back after the event
            void change(() => ({ enabled }));
          }} />
        Show the feed bar on web pages
      </label>
      {host !== null ? (
        <label>
          <input
            type="checkbox"
            role="switch"
            checked={onThisSite}
            disabled={!settings.enabled}
            onChange={(e) => {
              const on = e.target.checked;
              void change((current) => withSite(current, host, on));
            }}
          />
          Show it on this site ({host})
        </label>
      ) : (
        <p className="note">No feed bar on this page.</p>
      )}
    </fieldset>
  );
}

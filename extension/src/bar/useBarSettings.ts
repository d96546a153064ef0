// The bar's settings in an extension page (popup, options), followed while it is open: another
// page, a bar or the other of the two may change them at any time.

import { useEffect, useState } from "react";

import { BAR_SETTINGS_KEY, type BarSettings, loadBarSettings, readBarSettings, updateBarSettings } from "./settings";

/** Resolves once stored; rejects with the storage's error (chrome.storage.sync has quotas). */
export type ChangeSettings = (change: (settings: BarSettings) => Partial<BarSettings>) => Promise<void>;

/** The stored settings (null until they are read), and a change: shown at once — a checkbox that
 * waited for the storage round trip would flick back first — then stored, and stored wins. */
export function useBarSettings(): [BarSettings | null, ChangeSettings] {
  const [settings, setSettings] = useState<BarSettings | null>(null);
  useEffect(() => {
    void loadBarSettings().then(setSettings);
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area === "sync" && BAR_SETTINGS_KEY in changes) setSettings(readBarSettings(changes[BAR_SETTINGS_KEY].newValue));
    };
    chrome.storage.onChanged.addListener(onChanged);
    return () => chrome.storage.onChanged.removeListener(onChanged);
  }, []);
  const change: ChangeSettings = (update) => {
    setSettings((current) => (current === null ? current : readBarSettings({ ...current, ...update(current) })));
    return updateBarSettings(update).then(() => undefined);
  };
  return [settings, change];
}

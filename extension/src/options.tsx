// The options page: where the extension streams from (the API origin, with the host permission
// asked for when it is set) and what it follows (the same symbol and league settings as the
// dashboard, kept in chrome.storage.sync).

import { type FormEvent, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";

import { DEFAULT_PREFERENCES, type Preferences, PREFERENCES_KEY, readPreferences } from "../../web/shared/preferences";
import { FinanceSettings, SportsSettings } from "../../web/src/components/Settings";
import { useCatalog } from "../../web/src/hooks/useCatalog";
import { saveToAccount } from "./account";
import { AccountBar } from "./AccountBar";
import { BarOptions } from "./bar/BarOptions";
import { apiOrigin, BUILT_API_ORIGIN, parseOrigin, preferences as loadPreferences, savePreferences } from "./settings";
import { SETTINGS_API_KEY } from "./state";

function OriginForm({ origin, onSaved }: { origin: string; onSaved: (origin: string) => void }) {
  const [text, setText] = useState(origin);
  const [message, setMessage] = useState("");
  useEffect(() => setText(origin), [origin]);
  const save = async (event: FormEvent) => {
    event.preventDefault();
    const parsed = parseOrigin(text);
    if ("error" in parsed) {
      setMessage(parsed.error);
      return;
    }
    // Saved first, so the background switches now: with the permission, or through CORS if the relay
    // admits this extension. The permission is asked for within the click (Chrome grants host
    // permissions only on a user gesture) and its prompt may stay open: the answer updates the note.
    const origins = [`${parsed.origin}/*`];
    await chrome.storage.local.set({ [SETTINGS_API_KEY]: parsed.origin });
    onSaved(parsed.origin);
    const corsOnly = `it works only if that relay lists chrome-extension://${chrome.runtime.id} in ALLOWED_ORIGINS`;
    if (await chrome.permissions.contains({ origins })) {
      setMessage(`Saved: streaming from ${parsed.origin}.`);
      return;
    }
    setMessage(`Saved; asking for access to ${parsed.origin}. Until it is granted, ${corsOnly}.`);
    const granted = await chrome.permissions.request({ origins }).catch(() => false);
    setMessage(granted ? `Saved: streaming from ${parsed.origin}.` : `Saved without access to ${parsed.origin}: ${corsOnly}.`);
  };
  return (
    <form onSubmit={(event) => void save(event)}>
      <label htmlFor="api-origin">API origin</label>
      <input id="api-origin" type="url" value={text} onChange={(e) => setText(e.target.value)} placeholder={BUILT_API_ORIGIN} required />
      <button type="submit">Save</button>
      <button type="button" onClick={() => setText(BUILT_API_ORIGIN)}>
        Default
      </button>
      <p role="status" data-testid="origin-message">
        {message}
      </p>
    </form>
  );
}

function Options() {
  const [origin, setOrigin] = useState("");
  const [preferences, setPreferences] = useState<Preferences>(DEFAULT_PREFERENCES);
  useEffect(() => {
    void apiOrigin().then(setOrigin);
    void loadPreferences().then(setPreferences);
    // The account's choices, arriving on the stream (or adopted at sign-in), show here at once.
    const onChanged = (changes: Record<string, chrome.storage.StorageChange>, area: string) => {
      if (area === "sync" && PREFERENCES_KEY in changes) setPreferences(readPreferences(changes[PREFERENCES_KEY].newValue));
    };
    chrome.storage.onChanged.addListener(onChanged);
    return () => chrome.storage.onChanged.removeListener(onChanged);
  }, []);
  const catalog = useCatalog(origin || BUILT_API_ORIGIN);
  const change = (next: Preferences) => {
    setPreferences(next);
    void savePreferences(next).then(() => saveToAccount(origin || BUILT_API_ORIGIN, next));
  };
  return (
    <main className="options">
      <h1>Scrollr settings</h1>
      <AccountBar origin={origin} />
      <section aria-labelledby="connection">
        <h2 id="connection">Connection</h2>
        <OriginForm origin={origin} onSaved={setOrigin} />
      </section>
      <section aria-labelledby="following">
        <h2 id="following">What to follow</h2>
        <FinanceSettings catalog={catalog} preferences={preferences} onChange={change} open />
        <SportsSettings catalog={catalog} preferences={preferences} onChange={change} open />
      </section>
      <BarOptions />
    </main>
  );
}

createRoot(document.getElementById("root")!).render(<Options />);

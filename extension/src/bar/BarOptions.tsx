// The options page's feed bar section: on or off, where (allow and deny lists of site patterns,
// validated line by line: a list with an error is not saved, and what was typed stays), what (the
// active categories, the ticker) and how it looks (edge, density, overlay or push).

import { type FormEvent, type ReactNode, useEffect, useState } from "react";

import { type BarSettings, CATEGORIES, type Category } from "./settings";
import { MAX_PATTERNS, parseSiteList } from "./sites";
import { type ChangeSettings, useBarSettings } from "./useBarSettings";

/** Room for a full list of the longest names, one per line. */
const LIST_CHARS = MAX_PATTERNS * 254;
const CATEGORY_LABELS: Record<Category, string> = { finance: "Finance", sports: "Sports" };

function Choice<T extends string>({ legend, name, value, options, onChange }: { legend: string; name: string; value: T; options: Array<[T, string]>; onChange: (value: T) => void }) {
  return (
    <fieldset>
      <legend>{legend}</legend>
      {options.map(([option, label]) => (
        <label key={option}>
          <input type="radio" name={name} checked={value === option} onChange={() => onChange(option)} /> {label}
        </label>
      ))}
    </fieldset>
  );
}

function SiteLists({ settings, change }: { settings: BarSettings; change: ChangeSettings }) {
  const [allow, setAllow] = useState(settings.allow.join("\n"));
  const [deny, setDeny] = useState(settings.deny.join("\n"));
  const [message, setMessage] = useState<ReactNode>("");
  // The popup's "this site" switch edits the same lists: show what is stored.
  const storedAllow = settings.allow.join("\n");
  const storedDeny = settings.deny.join("\n");
  useEffect(() => setAllow(storedAllow), [storedAllow]);
  useEffect(() => setDeny(storedDeny), [storedDeny]);
  const save = (event: FormEvent) => {
    event.preventDefault();
    const allowed = parseSiteList(allow);
    const denied = parseSiteList(deny);
    const errors = [...allowed.errors.map((e) => `Allow list: ${e}`), ...denied.errors.map((e) => `Deny list: ${e}`)];
    if (errors.length) {
      setMessage(
        <ul>
          {errors.map((error) => (
            <li key={error}>{error}</li>
          ))}
        </ul>,
      );
      return;
    }
    change(() => ({ allow: allowed.patterns, deny: denied.patterns })).then(
      () => setMessage("Saved."),
      (error: unknown) => setMessage(`Not saved: ${error instanceof Error ? error.message : String(error)}`),
    );
  };
  return (
    <form onSubmit={save} className="site-lists">
      <p className="hint">One site per line, like example.com (its subdomains too) or *.example.com. A site on the deny list never shows the bar; with an empty allow list every other site does.</p>
      <label htmlFor="bar-allow">Allow the bar on</label>
      <textarea id="bar-allow" rows={4} maxLength={LIST_CHARS} value={allow} onChange={(e) => setAllow(e.target.value)} />
      <label htmlFor="bar-deny">Never on</label>
      <textarea id="bar-deny" rows={4} maxLength={LIST_CHARS} value={deny} onChange={(e) => setDeny(e.target.value)} />
      <button type="submit">Apply site lists</button>
      <div role="status" data-testid="sites-message">
        {message}
      </div>
    </form>
  );
}

export function BarOptions() {
  const [settings, change] = useBarSettings();
  if (settings === null) return null;
  const set = (values: Partial<BarSettings>) => void change(() => values);
  const toggleCategory = (category: Category, on: boolean) =>
    set({ categories: CATEGORIES.filter((c) => (c === category ? on : settings.categories.includes(c))) });
  return (
    <section aria-labelledby="feed-bar" className="bar-options" data-testid="bar-options">
      <h2 id="feed-bar">Feed bar</h2>
      <label>
        <input type="checkbox" checked={settings.enabled} onChange={(e) => set({ enabled: e.target.checked })} /> Show the feed bar on web pages
      </label>
      <fieldset>
        <legend>Categories</legend>
        {CATEGORIES.map((category) => (
          <label key={category}>
            <input type="checkbox" checked={settings.categories.includes(category)} onChange={(e) => toggleCategory(category, e.target.checked)} />{" "}
            {CATEGORY_LABELS[category]}
          </label>
        ))}
      </fieldset>
      <Choice legend="Edge" name="bar-edge" value={settings.edge} options={[["top", "Top"], ["bottom", "Bottom"]]} onChange={(edge) => set({ edge })} />
      <Choice legend="Density" name="bar-density" value={settings.density} options={[["comfort", "Comfort"], ["compact", "Compact"]]} onChange={(density) => set({ density })} />
      <Choice
        legend="Page layout"
        name="bar-layout"
        value={settings.layout}
        options={[["overlay", "Overlay (over the page)"], ["push", "Push (the page moves to make room)"]]}
        onChange={(layout) => set({ layout })}
      />
      <label>
        <input type="checkbox" checked={settings.ticker} onChange={(e) => set({ ticker: e.target.checked })} /> Scroll the items as a ticker (never with reduced motion)
      </label>
      <SiteLists settings={settings} change={change} />
    </section>
  );
}

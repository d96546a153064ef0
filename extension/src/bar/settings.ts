// The feed bar's settings: where it shows (on/off, allow and deny lists), what (categories, ticker)
// and how (edge, density, overlay or push, height, collapsed). Kept in chrome.storage.sync under one
// key, like the preferences, so every open bar follows a change at once (chrome.storage.onChanged)
// and the choices follow the user to every browser. Read defensively: another release or a hand
// edit may have written anything.

import { MAX_PATTERNS, parseSitePattern, type SiteRules } from "./sites";

export type Edge = "top" | "bottom";
export type Density = "comfort" | "compact";
export type Layout = "overlay" | "push";
export type Category = "finance" | "sports";

export interface BarSettings extends SiteRules {
  categories: Category[];
  /** The category shown when both are active. */
  tab: Category;
  edge: Edge;
  density: Density;
  layout: Layout;
  /** The items scroll by themselves (paused on hover and focus; never under reduced motion). */
  ticker: boolean;
  collapsed: boolean;
  /** The expanded bar's height in CSS px, within HEIGHT_MIN..HEIGHT_MAX. */
  height: number;
}

export const BAR_SETTINGS_KEY = "scrollr:bar";
export const CATEGORIES: Category[] = ["finance", "sports"];
export const HEIGHT_MIN = 36;
export const HEIGHT_MAX = 160;

export const DEFAULT_BAR_SETTINGS: BarSettings = {
  enabled: true,
  allow: [],
  deny: [],
  categories: ["finance", "sports"],
  tab: "finance",
  edge: "top",
  density: "comfort",
  layout: "overlay",
  ticker: false,
  collapsed: false,
  height: 56,
};

export function clampHeight(height: number): number {
  return Math.round(Math.min(HEIGHT_MAX, Math.max(HEIGHT_MIN, height)));
}

function oneOf<T extends string>(value: unknown, choices: readonly T[], fallback: T): T {
  return choices.includes(value as T) ? (value as T) : fallback;
}

function patterns(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  const valid = value.flatMap((v) => {
    const parsed = typeof v === "string" ? parseSitePattern(v) : null;
    return parsed && "pattern" in parsed ? [parsed.pattern] : [];
  });
  return [...new Set(valid)].slice(0, MAX_PATTERNS);
}

/** Stored JSON (or anything) as settings: each missing or wrong field gets its default. */
export function readBarSettings(stored: unknown): BarSettings {
  const raw = (typeof stored === "object" && stored !== null ? stored : {}) as Record<string, unknown>;
  const d = DEFAULT_BAR_SETTINGS;
  const bool = (key: keyof BarSettings, fallback: boolean) => (typeof raw[key] === "boolean" ? (raw[key] as boolean) : fallback);
  const categories = Array.isArray(raw.categories) ? CATEGORIES.filter((c) => (raw.categories as unknown[]).includes(c)) : d.categories;
  const height = typeof raw.height === "number" && Number.isFinite(raw.height) ? clampHeight(raw.height) : d.height;
  return {
    enabled: bool("enabled", d.enabled),
    allow: patterns(raw.allow),
    deny: patterns(raw.deny),
    categories,
    tab: oneOf(raw.tab, CATEGORIES, d.tab),
    edge: oneOf(raw.edge, ["top", "bottom"] as const, d.edge),
    density: oneOf(raw.density, ["comfort", "compact"] as const, d.density),
    layout: oneOf(raw.layout, ["overlay", "push"] as const, d.layout),
    ticker: bool("ticker", d.ticker),
    collapsed: bool("collapsed", d.collapsed),
    height,
  };
}

/** The category on screen: the chosen tab if active, else the first active one (null: none). */
export function shownCategory(settings: BarSettings): Category | null {
  return settings.categories.includes(settings.tab) ? settings.tab : (settings.categories[0] ?? null);
}

export async function loadBarSettings(): Promise<BarSettings> {
  return readBarSettings((await chrome.storage.sync.get(BAR_SETTINGS_KEY))[BAR_SETTINGS_KEY]);
}

/** Change some settings, read afresh so two pages changing different fields don't undo each other. */
export async function updateBarSettings(change: (settings: BarSettings) => Partial<BarSettings>): Promise<BarSettings> {
  const current = await loadBarSettings();
  const next = readBarSettings({ ...current, ...change(current) });
  await chrome.storage.sync.set({ [BAR_SETTINGS_KEY]: next });
  return next;
}

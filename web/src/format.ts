// How values read on screen: money with its currency and separators, signed changes, "40 s ago",
// a game's start time. Pure (the clock and locale are arguments), so tests pin them.

const LOCALE = "en-US";
const money = new Intl.NumberFormat(LOCALE, { style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const plain = new Intl.NumberFormat(LOCALE, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function number(value: unknown): number | null {
  if (value === null || value === undefined || value === "") return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

/** `$97,278.70`; "—" when there is no number. */
export function formatMoney(value: unknown): string {
  const n = number(value);
  return n === null ? "—" : money.format(n);
}

/** `+1,234.50`, `−0.40` (a real minus sign), `0.00`. */
export function formatSigned(value: unknown, suffix = ""): string {
  const n = number(value);
  if (n === null) return "—";
  const sign = n > 0 ? "+" : n < 0 ? "−" : "";
  return `${sign}${plain.format(Math.abs(n))}${suffix}`;
}

/** How long ago, coarsely: "just now", "40 s ago", "3 min ago", "2 h ago", "3 d ago". */
export function formatAgo(thenMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  return hours < 24 ? `${hours} h ago` : `${Math.floor(hours / 24)} d ago`;
}

/** A timestamp's age, or null when it can't be read. */
export function ageOf(timestamp: unknown, nowMs: number): string | null {
  const at = Date.parse(String(timestamp ?? ""));
  return Number.isNaN(at) ? null : formatAgo(at, nowMs);
}

/** A scheduled game's start: "Today 7:30 PM", "Tomorrow 1:00 PM", "Sat, Nov 29 7:30 PM". */
export function formatStart(timestamp: unknown, nowMs: number, timeZone?: string): string {
  const at = Date.parse(String(timestamp ?? ""));
  if (Number.isNaN(at)) return "Scheduled";
  const day = (ms: number) => new Intl.DateTimeFormat(LOCALE, { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(ms);
  const time = new Intl.DateTimeFormat(LOCALE, { timeZone, hour: "numeric", minute: "2-digit" }).format(at);
  if (day(at) === day(nowMs)) return `Today ${time}`;
  if (day(at) === day(nowMs + 86_400_000)) return `Tomorrow ${time}`;
  return `${new Intl.DateTimeFormat(LOCALE, { timeZone, weekday: "short", month: "short", day: "numeric" }).format(at)} ${time}`;
}

/** An https:// address from the data, or null: nothing else becomes a link or an image. */
export function safeLink(value: unknown): string | null {
  return typeof value === "string" && value.startsWith("https://") ? value : null;
}

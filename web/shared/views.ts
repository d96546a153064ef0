// The views (tabs) a stream owner serves: their ids, and how the owner knows a view still lives.
//
// Where Web Locks exist, a view holds a lock named after itself while it lives (owner.ts queries
// them). Outside a secure context (a dashboard opened over plain HTTP on a LAN address) there are
// no Web Locks and no `crypto.randomUUID`, so: the id comes from `crypto.getRandomValues` (which
// every context has), and a view re-says its interest every VIEW_REFRESH_MS; the owner forgets a
// view it hasn't heard from for VIEW_TTL_MS. A closed tab's symbols thus leave the stream within
// VIEW_TTL_MS + one prune, as they do with locks; nothing is followed for ever. Pure: no I/O.

/** How often a view without Web Locks says it still lives (its interest, again). */
export const VIEW_REFRESH_MS = 10_000;
/** A view unheard for this long (three refreshes missed) is taken for closed. */
export const VIEW_TTL_MS = 3 * VIEW_REFRESH_MS;

/** A random view id (122 random bits, as a v4 UUID), from getRandomValues: secure contexts or not. */
export function newViewId(random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes)): string {
  const bytes = random(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The views to forget: without locks, those unheard for VIEW_TTL_MS; with locks, those whose lock is gone. */
export function goneViews(lastHeard: ReadonlyMap<string, number>, now: number, heldLocks: ReadonlySet<string> | null, lockOf: (view: string) => string): string[] {
  return [...lastHeard].filter(([view, heard]) => (heldLocks === null ? now - heard > VIEW_TTL_MS : !heldLocks.has(lockOf(view)))).map(([view]) => view);
}

// Which pages show the feed bar: site patterns as the user types them in the options page, parsed
// and bounded, and the rule that decides a page (a deny wins over an allow). Pure: no I/O.
//
// A pattern names a host: `example.com` covers example.com and its subdomains (what people mean by
// "a site"); `*.example.com` is accepted and means the same; a pasted address keeps only its host.
// Ports and paths aren't part of a site: the bar is per host, as the popup's "this site" switch is.

export const MAX_PATTERNS = 100;
const MAX_PATTERN_CHARS = 253; // the longest DNS name
const HOST_LABELS = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;

export type PatternResult = { pattern: string } | { error: string };

/** One typed pattern as a normalised host, or why it isn't one. */
export function parseSitePattern(text: string): PatternResult {
  let value = text.trim().toLowerCase();
  if (value === "") return { error: "is empty" };
  if (value.length > MAX_PATTERN_CHARS) return { error: "is longer than a host name can be" };
  if (value.includes("://")) {
    try {
      value = new URL(value).hostname;
    } catch {
      return { error: "is not an address" };
    }
  }
  if (value.startsWith("*.")) value = value.slice(2);
  value = value.replace(/\.$/, "");
  if (value.includes("*")) return { error: "may use * only as its first label, as in *.example.com" };
  let url: URL;
  try {
    url = new URL(`http://${value}/`); // IDNs become punycode, as location.hostname is; a port is dropped
  } catch {
    return { error: "is not a site" };
  }
  if (url.pathname !== "/" || url.search || url.hash || url.username) return { error: "is not a site (a host name, without a path)" };
  const host = url.hostname;
  if (!HOST_LABELS.test(host) && !IPV6.test(host)) return { error: "is not a site" };
  return { pattern: host };
}

export interface ListResult {
  patterns: string[];
  /** One message per line that isn't a site, saying which line and why. */
  errors: string[];
}

/** A list as typed (one pattern per line, or separated by commas or spaces): every valid pattern,
 * deduplicated, and every error; more than MAX_PATTERNS is an error too, not a silent cut. */
export function parseSiteList(text: string): ListResult {
  const patterns: string[] = [];
  const errors: string[] = [];
  const entries = text.split(/[\s,]+/).filter((entry) => entry !== "");
  for (const entry of entries) {
    const parsed = parseSitePattern(entry);
    if ("error" in parsed) errors.push(`“${entry.slice(0, 60)}” ${parsed.error}.`);
    else if (!patterns.includes(parsed.pattern)) patterns.push(parsed.pattern);
  }
  if (patterns.length > MAX_PATTERNS) errors.push(`At most ${MAX_PATTERNS} sites per list.`);
  return { patterns, errors };
}

/** Does `pattern` cover `host` (the host itself or one of its subdomains)? */
export function hostMatches(pattern: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  return h === pattern || h.endsWith(`.${pattern}`);
}

export interface SiteRules {
  enabled: boolean;
  allow: string[];
  deny: string[];
}

/** Is the bar shown on `host`? Off everywhere when disabled; a deny wins; an empty allow list allows
 * every site, a non-empty one only its sites. */
export function barAllowedOn(rules: SiteRules, host: string): boolean {
  if (!rules.enabled || host === "") return false;
  if (rules.deny.some((p) => hostMatches(p, host))) return false;
  return rules.allow.length === 0 || rules.allow.some((p) => hostMatches(p, host));
}

/** The rules with the bar switched on or off for one host (the popup's "this site" switch): off adds
 * the host to the deny list; on removes every deny pattern covering it and, under an allow list,
 * adds the host to it. */
export function withSite<T extends SiteRules>(rules: T, host: string, on: boolean): T {
  if (!on) return { ...rules, deny: rules.deny.some((p) => hostMatches(p, host)) ? rules.deny : [...rules.deny, host] };
  const deny = rules.deny.filter((p) => !hostMatches(p, host));
  const allow = rules.allow.length === 0 || rules.allow.some((p) => hostMatches(p, host)) ? rules.allow : [...rules.allow, host];
  return { ...rules, deny, allow };
}

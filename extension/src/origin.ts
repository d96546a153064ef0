// The API origin a user may type in the options page (pure: no chrome APIs, so node tests run it).
//
// Plain http:// only reaches a relay on this machine or the local network: anywhere else the
// stream (and the host permission granted for it) would travel unencrypted. A wildcard host would
// become a wildcard host-permission request, so no `*` anywhere in the host.

const HTTPS_EXAMPLE = "https://api.myscrollr.relentnet.dev";

/** Whether `hostname` (as URL gives it: IPv6 in brackets) is this machine or a private address. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  const v4 = host.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (host.startsWith("[") && host.endsWith("]")) {
    const v6 = host.slice(1, -1);
    if (v6 === "::1") return true;
    const mapped = v6.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped) return isLocalHost(mapped[1]);
    const first = parseInt(v6.split(":")[0] || "0", 16);
    return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80; // unique local fc00::/7, link-local fe80::/10
  }
  return false;
}

/** An API origin as typed by a user: an http(s) origin without path, or null with the reason. */
export function parseOrigin(text: string): { origin: string } | { error: string } {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { error: `Enter a full address, like ${HTTPS_EXAMPLE}` };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { error: `The address must start with https://, like ${HTTPS_EXAMPLE}` };
  if (url.hostname.includes("*")) return { error: "Enter one server's address: wildcards (*) are not allowed" };
  if (url.protocol === "http:" && !isLocalHost(url.hostname)) {
    return { error: "http:// is only for a relay on this computer or your local network (localhost, 192.168.x.x, 10.x.x.x); use https://" };
  }
  if (url.username || url.password) return { error: "Enter the address without a user name or password" };
  if (url.pathname !== "/" || url.search || url.hash) return { error: "Enter the origin only, without a path" };
  return { origin: url.origin };
}

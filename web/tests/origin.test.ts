import assert from "node:assert/strict";
import { test } from "node:test";

import { parseOrigin } from "../../extension/src/origin";

function accepted(text: string): string | null {
  const parsed = parseOrigin(text);
  return "origin" in parsed ? parsed.origin : null;
}

test("https is accepted for any single host", () => {
  assert.equal(accepted("https://api.myscrollr.relentnet.dev"), "https://api.myscrollr.relentnet.dev");
  assert.equal(accepted(" https://relay.example.com:8443/ "), "https://relay.example.com:8443");
});

test("http is accepted only for this machine and private addresses", () => {
  for (const local of [
    "http://localhost:8080",
    "http://relay.localhost:8080",
    "http://127.0.0.1:8080",
    "http://10.1.2.3",
    "http://172.16.0.9",
    "http://172.31.255.1",
    "http://192.168.1.20:8080",
    "http://169.254.3.4",
    "http://[::1]:8080",
    "http://[fd12:3456::1]",
    "http://[fe80::1]",
  ]) {
    assert.notEqual(accepted(local), null, local);
  }
  for (const remote of ["http://example.com", "http://8.8.8.8", "http://172.32.0.1", "http://192.169.0.1", "http://[2001:db8::1]", "http://127.0.0.1.nip.io"]) {
    const parsed = parseOrigin(remote);
    assert.ok("error" in parsed && parsed.error.includes("https://"), remote);
  }
});

test("wildcards are refused, whatever the scheme", () => {
  for (const wild of ["https://*.example.com", "https://*", "http://*.localhost"]) {
    const parsed = parseOrigin(wild);
    assert.ok("error" in parsed && parsed.error.includes("wildcards"), wild);
  }
});

test("anything but an origin is refused", () => {
  for (const bad of ["not a url", "ftp://example.com", "https://example.com/path", "https://user:pw@example.com", "https://example.com/?q=1"]) {
    assert.ok("error" in parseOrigin(bad), bad);
  }
});

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { nameOf, pkcePair } from "../../extension/src/account";

test("PKCE: the challenge is the verifier's SHA-256, base64url without padding (RFC 7636 4.2)", async () => {
  const { verifier, challenge } = await pkcePair();
  assert.match(verifier, /^[A-Za-z0-9_-]{43,128}$/);
  assert.equal(challenge, createHash("sha256").update(verifier).digest("base64url"));
  assert.notEqual((await pkcePair()).verifier, verifier);
});

test("the name shown comes from the ID token's claims, and nothing breaks on a bad one", () => {
  const token = (claims: object) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
  assert.equal(nameOf(token({ sub: "u1", name: "Dev User" })), "Dev User");
  assert.equal(nameOf(token({ sub: "u1", email: "a@b.c" })), "a@b.c");
  assert.equal(nameOf("garbage"), null);
  assert.equal(nameOf(undefined), null);
});

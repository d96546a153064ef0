"""Signing keys and access tokens for tests: the good ones an issuer would make, and the attacks.

The development provider (services/oidc-dev) can be started with a key made here (its private JWK),
so a test can also sign tokens the provider never would (expired, for another audience) with the
key the relay trusts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

ISSUER = "http://127.0.0.1:1/oidc"
AUDIENCE = "https://api.scrollr.test"


class SigningKey:
    def __init__(self, kid: str, *, kind: str = "RSA") -> None:
        self.kid = kid
        if kind == "RSA":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.alg = "RS256"
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
            private = json.loads(RSAAlgorithm.to_jwk(self.private))
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
            private = json.loads(ECAlgorithm.to_jwk(self.private))
        # `use` says what the key is for; PyJWT's `key_ops` (["sign"] on a private key) would keep a
        # provider from verifying its own tokens with it (an id_token_hint at sign-out).
        self.public_jwk: dict[str, Any] = {**public, "kid": kid, "use": "sig", "alg": self.alg}
        self.private_jwk: dict[str, Any] = {**private, "kid": kid, "use": "sig", "alg": self.alg}
        for jwk in (self.public_jwk, self.private_jwk):
            jwk.pop("key_ops", None)

    def public_pem(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], *, kid: str | None = "") -> str:
        headers = {"kid": self.kid if kid == "" else kid} if kid is not None else {}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def jwks(*keys: SigningKey) -> dict[str, Any]:
    return {"keys": [k.public_jwk for k in keys]}


def claims(
    sub: str = "user-1",
    *,
    issuer: str = ISSUER,
    audience: str = AUDIENCE,
    lifetime_seconds: float = 300,
    not_before_seconds: float = 0,
    **extra: Any,
) -> dict[str, Any]:
    now = time.time()
    return {
        "iss": issuer,
        "aud": audience,
        "sub": sub,
        "iat": int(now),
        "nbf": int(now + not_before_seconds),
        "exp": int(now + lifetime_seconds),
        **extra,
    }


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(payload: dict[str, Any], *, kid: str) -> str:
    """`alg: none`: a token with no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    return f"{header}.{_b64(json.dumps(payload).encode())}."


def hmac_with_public_key(payload: dict[str, Any], key: SigningKey) -> str:
    """HS256 with the issuer's public key as the HMAC secret: what anyone holding that key could sign."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    signing_input = f"{header}.{_b64(json.dumps(payload).encode())}"
    mac = hmac.new(key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"

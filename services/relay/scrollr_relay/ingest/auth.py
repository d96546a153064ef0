"""Webhook authentication: either scheme Sequin-compatible senders use, compared in constant time.

Sequin itself signs nothing: it sends a configured "encrypted header", `Authorization: Bearer <secret>`
(its sink's `headers` / encrypted headers setting; see deploy/sequin.yaml). Senders that sign (the project's change emitter, a proxy) send
`Sequin-Signature: [sha256=]<hex HMAC-SHA256 of the raw body as sent>`.

The headers are judged before the body is read (`check_headers`): a request with no credentials, or
only a wrong token, is refused without buffering a byte of its body. Only a signature needs the body.
"""

from __future__ import annotations

import hmac
from enum import Enum

from scrollr_core.signature import signature


class AuthFailure(Enum):
    MISSING = "missing_credentials"
    WRONG = "wrong_credentials"


class AuthStep(Enum):
    AUTHENTIC = "authentic"
    CHECK_SIGNATURE = "check_signature"  # decided once the body is read


def check_headers(
    *, secret: str, authorization: str | None, signature_header: str | None
) -> AuthFailure | AuthStep:
    """What the headers alone decide: authentic (a right token), refused, or the signature to check."""
    if authorization is None and signature_header is None:
        return AuthFailure.MISSING
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret.encode()):
            return AuthStep.AUTHENTIC
    return AuthStep.CHECK_SIGNATURE if signature_header is not None else AuthFailure.WRONG


def signature_matches(secret: str, signature_header: str, body: bytes) -> bool:
    given = signature_header.strip().removeprefix("sha256=").lower()
    return hmac.compare_digest(given.encode(), signature(secret, body).encode())

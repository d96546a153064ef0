"""Webhook authentication: either scheme Sequin-compatible senders use, compared in constant time.

Sequin itself signs nothing: it sends a configured "encrypted header", `Authorization: Bearer <secret>`
(shared/sequin/README.md). Senders that sign (the project's change emitter, a proxy) send
`Sequin-Signature: [sha256=]<hex HMAC-SHA256 of the raw body as sent>`.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum


class AuthFailure(Enum):
    MISSING = "missing_credentials"
    WRONG = "wrong_credentials"


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_webhook_auth(
    *, secret: str, authorization: str | None, signature_header: str | None, body: bytes
) -> AuthFailure | None:
    """None when the request is authentic; otherwise why not."""
    if authorization is None and signature_header is None:
        return AuthFailure.MISSING
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), secret.encode()):
            return None
    if signature_header is not None:
        given = signature_header.strip().removeprefix("sha256=").lower()
        if hmac.compare_digest(given.encode(), signature(secret, body).encode()):
            return None
    return AuthFailure.WRONG

"""`Sequin-Signature`: the hex HMAC-SHA256 of a webhook's body as sent, keyed by the shared secret.
The emitter signs with it; the relay checks it (scrollr_relay.ingest.auth)."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()

"""Access tokens from the OpenID provider (`AUTH_ISSUER`): who is asking, verified. Pure: no I/O.

A token is a JWT (RFC 9068, "JWT Profile for OAuth 2.0 Access Tokens") signed by one of the issuer's
keys (its JWKS, fetched by issuer_keys.py). Only asymmetric algorithms are accepted, and only the
ones that fit the key the token names: never `none`, and never an HMAC whose secret would be the
issuer's public key (the classic confusion, where anyone holding the public key could sign). The
issuer, the audience (this API), `exp` and `nbf` (with a small skew for clocks that disagree) and a
`sub` are required.

Nothing here keeps or reports the token itself: a rejection says why, never what was sent.
"""

from __future__ import annotations

import msgspec
from jwt import PyJWK, PyJWKSet, decode, get_unverified_header
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

# Which algorithms each kind of key may verify (RFC 7518 section 3.1, RFC 8037). HMAC is not here:
# the issuer's keys are public, and a symmetric algorithm would make a public key a signing secret.
ALGORITHMS_BY_KEY_TYPE: dict[str, frozenset[str]] = {
    "RSA": frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
    "EC": frozenset({"ES256", "ES384", "ES512"}),
    "OKP": frozenset({"EdDSA"}),
}
ALLOWED_ALGORITHMS = frozenset().union(*ALGORITHMS_BY_KEY_TYPE.values())
CLOCK_SKEW_SECONDS = 30
MAX_TOKEN_BYTES = 8192
MAX_SUBJECT_CHARS = 255


class TokenRejected(Exception):
    """The token can't be accepted; `reason` is a short code safe to show and log (RFC 6750 3.1)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UnknownKey(TokenRejected):
    """The token names a key the cached key set doesn't hold: the issuer may have rotated its keys."""

    def __init__(self, kid: str | None) -> None:
        super().__init__("unknown_key")
        self.kid = kid


class Identity(msgspec.Struct, frozen=True):
    sub: str
    expires_at: float  # the token's `exp`, seconds since the epoch
    name: str | None = None


class _Header(msgspec.Struct):
    alg: str | None = None
    kid: str | None = None


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 2.1)."""
    if authorization is None:
        raise TokenRejected("missing_token")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected("malformed_token")
    return token


def _header(token: str) -> _Header:
    if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
        raise TokenRejected("malformed_token")
    try:
        return msgspec.convert(get_unverified_header(token), _Header)
    except (InvalidTokenError, msgspec.ValidationError):
        raise TokenRejected("malformed_token") from None


def _key_for(keys: PyJWKSet, header: _Header) -> PyJWK:
    if header.alg not in ALLOWED_ALGORITHMS:
        raise TokenRejected("algorithm_not_allowed")
    matching = [k for k in keys.keys if header.kid is None or k.key_id == header.kid]
    if not matching:
        raise UnknownKey(header.kid)
    if header.kid is None and len(matching) != 1:
        raise TokenRejected("key_not_named")  # with several keys, a token must say which one signed it
    key = matching[0]
    fits = ALGORITHMS_BY_KEY_TYPE.get(key.key_type or "", frozenset())
    # An EC or OKP key's curve fixes its algorithm (PyJWK derives it from `crv`).
    if header.alg not in fits or (key.key_type != "RSA" and header.alg != key.algorithm_name):
        raise TokenRejected("algorithm_not_allowed")
    return key


# What each of PyJWT's errors means, most specific first: every one is an InvalidTokenError.
REASONS: tuple[tuple[type[InvalidTokenError], str], ...] = (
    (ExpiredSignatureError, "token_expired"),
    (ImmatureSignatureError, "token_not_yet_valid"),
    (InvalidAudienceError, "wrong_audience"),
    (InvalidIssuerError, "wrong_issuer"),
    (InvalidSignatureError, "bad_signature"),
    (MissingRequiredClaimError, "missing_claim"),
    (InvalidTokenError, "malformed_token"),
)


def _reason(exc: InvalidTokenError) -> str:
    return next(reason for kind, reason in REASONS if isinstance(exc, kind))


def verify_token(
    token: str, keys: PyJWKSet, *, issuer: str, audience: str, skew_seconds: float = CLOCK_SKEW_SECONDS
) -> Identity:
    """The identity a token proves, or TokenRejected (UnknownKey when its key isn't in `keys`)."""
    header = _header(token)
    key = _key_for(keys, header)
    try:
        claims = decode(
            token,
            key.key,
            algorithms=[str(header.alg)],
            audience=audience,
            issuer=issuer,
            leeway=skew_seconds,
            options={"require": ["exp", "iss", "aud", "sub"], "verify_nbf": True},
        )
    except InvalidTokenError as exc:
        raise TokenRejected(_reason(exc)) from None
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_CHARS:
        raise TokenRejected("bad_subject")
    name = claims.get("name") or claims.get("preferred_username")
    return Identity(sub=sub, expires_at=float(claims["exp"]), name=name if isinstance(name, str) else None)

"""identity.py: which access tokens prove who is asking, and every way a token is refused."""

import base64
import json

import pytest
from jwt import PyJWKSet
from scrollr_relay.accounts.identity import TokenRejected, UnknownKey, bearer_token, verify_token

from tests.support.tokens import (
    AUDIENCE,
    ISSUER,
    SigningKey,
    claims,
    hmac_with_public_key,
    jwks,
    unsigned,
)

KEY = SigningKey("k1")
EC_KEY = SigningKey("k2", kind="EC")
OTHER = SigningKey("k1")  # another key under the same name: a forgery
KEYS = PyJWKSet.from_dict(jwks(KEY, EC_KEY))


def verify(token: str):
    return verify_token(token, KEYS, issuer=ISSUER, audience=AUDIENCE)


def test_a_good_token_proves_its_subject():
    identity = verify(KEY.sign(claims("alice", name="Alice")))
    assert identity.sub == "alice"
    assert identity.name == "Alice"


def test_an_ec_key_verifies_its_own_tokens():
    assert verify(EC_KEY.sign(claims("bob"))).sub == "bob"


def test_an_audience_list_that_holds_ours_is_accepted():
    assert verify(KEY.sign(claims(audience=[AUDIENCE, "other"]))).sub == "user-1"  # type: ignore[arg-type]


def test_a_small_clock_skew_is_tolerated():
    assert verify(KEY.sign(claims(not_before_seconds=10))).sub == "user-1"
    assert verify(KEY.sign(claims(lifetime_seconds=-10))).sub == "user-1"


@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: "not-a-jwt", "malformed_token"),
        (lambda: "a.b.c", "malformed_token"),
        (lambda: "x" * 9000, "malformed_token"),
        (lambda: OTHER.sign(claims()), "bad_signature"),
        (lambda: KEY.sign(claims(lifetime_seconds=-120)), "token_expired"),
        (lambda: KEY.sign(claims(not_before_seconds=120)), "token_not_yet_valid"),
        (lambda: KEY.sign(claims(issuer="https://evil.example.com")), "wrong_issuer"),
        (lambda: KEY.sign(claims(audience="https://other-api")), "wrong_audience"),
        (lambda: unsigned(claims(), kid="k1"), "algorithm_not_allowed"),
        (lambda: hmac_with_public_key(claims(), KEY), "algorithm_not_allowed"),
        (lambda: KEY.sign({k: v for k, v in claims().items() if k != "exp"}), "missing_claim"),
        (lambda: KEY.sign({k: v for k, v in claims().items() if k != "sub"}), "missing_claim"),
        (lambda: KEY.sign(claims(sub="")), "bad_subject"),
    ],
    ids=[
        "garbage",
        "three-garbage-parts",
        "oversized",
        "forged",
        "expired",
        "not-yet-valid",
        "wrong-issuer",
        "wrong-audience",
        "alg-none",
        "hs256-with-public-key",
        "no-exp",
        "no-sub",
        "empty-sub",
    ],
)
def test_a_bad_token_is_refused_with_its_reason(make_token, reason):
    # Signed when the test runs, not at collection: a whole suite's run outlasts the time claims.
    token = make_token()
    with pytest.raises(TokenRejected) as refused:
        verify(token)
    assert refused.value.reason == reason
    assert token[:40] not in str(refused.value)  # the reason never carries the token


def test_an_ec_token_claiming_an_rsa_algorithm_is_refused():
    token = EC_KEY.sign(claims())
    _, _, rest = token.partition(".")
    forged = json.dumps({"alg": "RS256", "kid": "k2"}).encode()
    tampered = base64.urlsafe_b64encode(forged).rstrip(b"=").decode() + "." + rest
    with pytest.raises(TokenRejected, match="algorithm_not_allowed"):
        verify(tampered)


def test_an_unknown_key_is_reported_as_such_so_the_set_is_refetched():
    with pytest.raises(UnknownKey) as unknown:
        verify(SigningKey("rotated").sign(claims()))
    assert unknown.value.kid == "rotated"


def test_without_a_kid_the_only_key_is_used_but_never_a_guess_among_several():
    only = PyJWKSet.from_dict(jwks(KEY))
    assert verify_token(KEY.sign(claims(), kid=None), only, issuer=ISSUER, audience=AUDIENCE).sub == "user-1"
    with pytest.raises(TokenRejected, match="key_not_named"):
        verify(KEY.sign(claims(), kid=None))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_token"),
        ("Basic abc", "malformed_token"),
        ("Bearer ", "malformed_token"),
        ("Bearer  t ", None),
    ],
)
def test_bearer_header(header, reason):
    if reason is None:
        assert bearer_token(header) == "t"
    else:
        with pytest.raises(TokenRejected, match=reason):
            bearer_token(header)

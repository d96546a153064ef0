from scrollr_core.signature import signature
from scrollr_relay.ingest.auth import AuthFailure, AuthStep, check_headers, signature_matches

SECRET = "s3cret-s3cret-s3cret"
BODY = b'{"data":[]}'


def check(authorization=None, sig=None):
    return check_headers(secret=SECRET, authorization=authorization, signature_header=sig)


def test_bearer_token_is_authentic_from_the_headers_alone():
    assert check(authorization=f"Bearer {SECRET}") is AuthStep.AUTHENTIC
    assert check(authorization=f"bearer  {SECRET} ") is AuthStep.AUTHENTIC
    assert check(authorization=f"Bearer {SECRET}", sig="anything") is AuthStep.AUTHENTIC


def test_a_signature_is_checked_against_the_body():
    assert check(sig="whatever") is AuthStep.CHECK_SIGNATURE
    assert check(authorization="Bearer nope", sig="whatever") is AuthStep.CHECK_SIGNATURE
    assert signature_matches(SECRET, signature(SECRET, BODY), BODY)
    assert signature_matches(SECRET, "sha256=" + signature(SECRET, BODY).upper(), BODY)
    assert not signature_matches(SECRET, signature("other-secret-value", BODY), BODY)
    assert not signature_matches(SECRET, signature(SECRET, BODY), BODY + b" ")
    assert not signature_matches(SECRET, "sha256=\u00e9", BODY)


def test_missing_credentials_are_refused_before_the_body():
    assert check() is AuthFailure.MISSING


def test_a_wrong_token_without_signature_is_refused_before_the_body():
    assert check(authorization="Bearer nope") is AuthFailure.WRONG
    assert check(authorization=SECRET) is AuthFailure.WRONG  # no scheme

from scrollr_relay.auth import AuthFailure, check_webhook_auth, signature

SECRET = "s3cret-s3cret-s3cret"
BODY = b'{"data":[]}'


def check(authorization=None, sig=None, body=BODY):
    return check_webhook_auth(secret=SECRET, authorization=authorization, signature_header=sig, body=body)


def test_bearer_token_is_accepted():
    assert check(authorization=f"Bearer {SECRET}") is None
    assert check(authorization=f"bearer  {SECRET} ") is None


def test_hmac_signature_is_accepted_with_or_without_prefix():
    assert check(sig=signature(SECRET, BODY)) is None
    assert check(sig="sha256=" + signature(SECRET, BODY).upper()) is None


def test_missing_credentials():
    assert check() is AuthFailure.MISSING


def test_wrong_credentials():
    assert check(authorization="Bearer nope") is AuthFailure.WRONG
    assert check(authorization=SECRET) is AuthFailure.WRONG  # no scheme
    assert check(sig=signature("other-secret-value", BODY)) is AuthFailure.WRONG
    assert check(sig=signature(SECRET, BODY), body=BODY + b" ") is AuthFailure.WRONG

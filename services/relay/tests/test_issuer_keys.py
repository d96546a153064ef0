"""issuer_keys.py against the real development provider: discovery, JWKS, refetch on an unknown key."""

import pytest
from scrollr_relay.accounts.identity import TokenRejected
from scrollr_relay.accounts.issuer_keys import IssuerKeys, IssuerUnavailable, may_refetch

from tests.support.oidc import AUDIENCE, DEV_SUB, sign_in
from tests.support.tokens import SigningKey, claims


def test_refetch_is_rate_limited():
    assert may_refetch(None, 100.0, 10)
    assert not may_refetch(95.0, 100.0, 10)
    assert may_refetch(90.0, 100.0, 10)


async def test_a_token_from_the_provider_is_verified_with_its_published_keys(dev_provider):
    keys = IssuerKeys(dev_provider.issuer, AUDIENCE)
    identity = await keys.verify(str(sign_in(dev_provider)["access_token"]))
    assert identity.sub == DEV_SUB
    assert keys.fetches == 1


async def test_an_unknown_key_refetches_the_set_at_most_once_per_interval(dev_provider):
    keys = IssuerKeys(dev_provider.issuer, AUDIENCE, refetch_seconds=3600)
    await keys.verify(str(sign_in(dev_provider)["access_token"]))
    stranger = SigningKey("not-published")
    for _ in range(5):
        with pytest.raises(TokenRejected, match="unknown_key"):
            await keys.verify(stranger.sign(claims(issuer=dev_provider.issuer, audience=AUDIENCE)))
    assert keys.fetches == 1  # the first fetch was just now: no refetch within the interval
    eager = IssuerKeys(dev_provider.issuer, AUDIENCE, refetch_seconds=0)
    await eager.verify(str(sign_in(dev_provider)["access_token"]))
    with pytest.raises(TokenRejected, match="unknown_key"):
        await eager.verify(stranger.sign(claims(issuer=dev_provider.issuer, audience=AUDIENCE)))
    assert eager.fetches == 2  # refetched once for the unknown key, then refused


async def test_a_discovery_document_for_another_issuer_is_refused(dev_provider):
    keys = IssuerKeys(dev_provider.issuer + "/", AUDIENCE)
    with pytest.raises(IssuerUnavailable, match="names issuer"):
        await keys.verify(dev_provider.key.sign(claims(issuer=dev_provider.issuer, audience=AUDIENCE)))

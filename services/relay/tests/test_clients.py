"""Who counts as one client for the per-client caps (clients.py)."""

import pytest
from scrollr_relay.fanout.clients import client_key


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),  # the same /64: the same client
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: another
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped: the IPv4 client
        ("::1", "::/64"),
        ("unknown", "unknown"),
        ("010.0.0.1", "010.0.0.1"),  # not an address ipaddress accepts: a key of its own, as before
    ],
)
def test_ipv6_clients_are_their_64(address, key):
    assert client_key(address) == key

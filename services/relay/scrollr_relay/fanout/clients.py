"""Who counts as one client for the per-client caps (streams, replays). Pure: no I/O.

An IPv4 address is one client. An IPv6 address is not: a single host is routinely given a whole /64
(SLAAC, privacy addresses) and can pick any address in it, so counting each address separately let
one host walk around every per-client cap. The /64 is the client.
"""

from __future__ import annotations

import ipaddress

IPV6_CLIENT_PREFIX = 64


def client_key(address: str) -> str:
    """The key `address` counts under: itself for IPv4 (and anything not an IP), its /64 for IPv6."""
    if ":" not in address:
        # IPv4 (which `ipaddress` accepts only in the dotted form it prints) or not an IP: itself,
        # without parsing it on every stream's way in.
        return address
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # "unknown", or a Unix socket's path: one key each
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)  # ::ffff:a.b.c.d is the IPv4 client a.b.c.d
        return str(ipaddress.IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)

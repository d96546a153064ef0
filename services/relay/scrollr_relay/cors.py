"""CORS for `/events`, served in front of Litestar (see entry.py), decided by Litestar's CORSConfig.

Pure: the headers for a stream response and for a preflight, from the config and the request's
Origin, so the stream's fast path keeps exactly the policy the rest of the app has.
"""

from __future__ import annotations

from litestar.config.cors import CORSConfig

Headers = list[tuple[bytes, bytes]]


def _encode(headers: dict[str, str]) -> Headers:
    return [(k.lower().encode(), v.encode()) for k, v in headers.items()]


def stream_headers(config: CORSConfig, origin: str | None) -> Headers:
    """Headers to add to a GET /events response."""
    if origin is None:
        return []
    headers = dict(config.simple_headers)
    if not config.is_allow_all_origins and config.is_origin_allowed(origin):
        headers["Access-Control-Allow-Origin"] = origin
        headers["Vary"] = "Origin"
    return _encode(headers)


def preflight(config: CORSConfig, origin: str | None, method: str | None) -> tuple[int, Headers]:
    """Status and headers answering an OPTIONS /events preflight."""
    if (
        origin is None
        or method is None
        or not config.is_origin_allowed(origin)
        or method.upper() not in (m.upper() for m in config.allow_methods)
    ):
        return 400, []
    headers = dict(config.preflight_headers)
    if not config.is_allow_all_origins:
        headers["Access-Control-Allow-Origin"] = origin
    return 204, _encode(headers)

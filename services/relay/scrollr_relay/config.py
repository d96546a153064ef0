"""Relay settings, read once from the environment (and an optional `.env` file) and validated at start-up.

Every default is named here once; units are in the names. A bad value stops the process with a message
that names the variable, instead of failing on first use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
from scrollr_core.settings import (
    DEFAULT_PORT,
    ConfigError,
    number_setting,
    secret_setting,
    truthy,
    url_setting,
)

from scrollr_relay.redis_topology import RedisSettings, redis_settings

DEFAULT_HOST = "0.0.0.0"
DEFAULT_HEARTBEAT_SECONDS = 5.0  # clients show Delayed after 2 silent intervals: 10 s, within 20 s
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_STREAM_MAXLEN = 10_000
DEFAULT_STREAM_MAX_AGE_SECONDS = 0  # 0: trim by length only
DEFAULT_DEDUPE_WINDOW_SECONDS = 3600
DEFAULT_MAX_STREAMS = 10_000
DEFAULT_CLIENT_BUFFER_BYTES = 1024 * 1024
DEFAULT_RETRY_MILLISECONDS = 2000
DEFAULT_STREAM_MAX_TOPICS = 64
DEFAULT_MAX_STREAMS_PER_CLIENT = 0  # 0: no per-client cap
# Resumes that must read the bus (older than the recent frames), at once: a reconnect storm resumes
# from within the recent frames and takes none of these.
DEFAULT_MAX_REPLAYS = 256
DEFAULT_MAX_REPLAYS_PER_CLIENT = 4
# Distinct symbols and leagues the open streams' filters name, per process; and the values one client's
# streams name (128 maximal filters, or 6,500 streams of 10 symbols): filter_budget.py.
DEFAULT_MAX_FILTER_VALUES = 100_000
DEFAULT_MAX_FILTER_VALUES_PER_CLIENT = 65_536
# The recent frames resumes are served from, and their joined backlogs (recent.py): half each.
DEFAULT_RESUME_CACHE_BYTES = 64 * 1024 * 1024
DEFAULT_HEADER_TIMEOUT_SECONDS = 10.0
DEFAULT_BODY_TIMEOUT_SECONDS = 30.0
# Browsers send a few KiB; nginx's large_client_header_buffers default allows 32 KiB.
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_LOG_SUMMARY_SECONDS = 30.0
# Longer than a Redis restart or failover (seconds), short enough that clients of a relay cut off
# from Redis move to another before their data is long stale.
DEFAULT_BUS_OUTAGE_GRACE_SECONDS = 30.0
# How long a stream's socket may take nothing while bytes wait for it before the client is cut off:
# longer than a slow link's worst stretch, short enough that a client that stopped reading is freed.
DEFAULT_CLIENT_STALL_SECONDS = 30.0
# A webhook's publish and /readyz's check give up after this: under nginx's proxy_read_timeout (30 s),
# so Sequin gets a 503 to retry, not a gateway timeout.
DEFAULT_BUS_TIMEOUT_SECONDS = 5.0
MAX_WORKERS = 64
DEFAULT_DASHBOARD_CLIENT_ID = "scrollr-dashboard"
DEFAULT_EXTENSION_CLIENT_ID = "scrollr-extension"
# WORKERS: a worker whose event loop is silent this long is killed and replaced (workers.py).
DEFAULT_WORKER_TIMEOUT_SECONDS = 5.0
STREAM_KEY = "events:broadcast"
PACKAGED_WEB_DIR = Path(__file__).resolve().parent / "web"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    webhook_secret: str
    dev_mode: bool = False
    redis: RedisSettings | None = None
    database_url: str | None = None
    allowed_origins: tuple[str, ...] = ()
    heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    stream_maxlen: int = DEFAULT_STREAM_MAXLEN
    stream_max_age_seconds: int = DEFAULT_STREAM_MAX_AGE_SECONDS
    dedupe_window_seconds: int = DEFAULT_DEDUPE_WINDOW_SECONDS
    max_streams: int = DEFAULT_MAX_STREAMS
    client_buffer_bytes: int = DEFAULT_CLIENT_BUFFER_BYTES
    retry_milliseconds: int = DEFAULT_RETRY_MILLISECONDS
    stream_key: str = STREAM_KEY
    web_dir: str | None = None
    workers: int = 1
    worker_timeout_seconds: float = DEFAULT_WORKER_TIMEOUT_SECONDS
    stream_max_topics: int = DEFAULT_STREAM_MAX_TOPICS
    max_streams_per_client: int = DEFAULT_MAX_STREAMS_PER_CLIENT
    max_replays: int = DEFAULT_MAX_REPLAYS
    max_replays_per_client: int = DEFAULT_MAX_REPLAYS_PER_CLIENT
    max_filter_values: int = DEFAULT_MAX_FILTER_VALUES
    max_filter_values_per_client: int = DEFAULT_MAX_FILTER_VALUES_PER_CLIENT
    resume_cache_bytes: int = DEFAULT_RESUME_CACHE_BYTES
    trusted_proxies: tuple[str, ...] = ()
    header_timeout_seconds: float = DEFAULT_HEADER_TIMEOUT_SECONDS
    body_timeout_seconds: float = DEFAULT_BODY_TIMEOUT_SECONDS
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    log_summary_seconds: float = DEFAULT_LOG_SUMMARY_SECONDS
    bus_outage_grace_seconds: float = DEFAULT_BUS_OUTAGE_GRACE_SECONDS
    client_stall_seconds: float = DEFAULT_CLIENT_STALL_SECONDS
    bus_timeout_seconds: float = DEFAULT_BUS_TIMEOUT_SECONDS
    # Accounts (OpenID Connect): both set, or neither (everyone is signed out).
    auth_issuer: str | None = None
    auth_audience: str | None = None
    # The public clients registered at the issuer (GET /auth/config tells the browser clients).
    auth_dashboard_client_id: str = DEFAULT_DASHBOARD_CLIENT_ID
    auth_extension_client_id: str = DEFAULT_EXTENSION_CLIENT_ID


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        if origin == "*":
            continue
        scheme, sep, rest = origin.partition("://")
        if not sep or not rest or scheme not in ("http", "https", "chrome-extension", "moz-extension"):
            raise ConfigError(
                f"ALLOWED_ORIGINS entry {origin!r} is not an origin like https://app.example.com "
                "or chrome-extension://<extension id>"
            )
    return origins


def _addresses(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    entries = tuple(a.strip() for a in env.get(name, "").split(",") if a.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"{name} entry {entry!r} is not an IP address or network") from None
    return entries


_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _auth(env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """AUTH_ISSUER and AUTH_AUDIENCE: the OpenID provider whose access tokens are accepted, and the
    audience (this API's resource indicator) they must be issued for."""
    issuer = env.get("AUTH_ISSUER", "").strip() or None
    audience = env.get("AUTH_AUDIENCE", "").strip() or None
    if issuer is None:
        if audience is not None:
            raise ConfigError(
                "AUTH_AUDIENCE is set without AUTH_ISSUER: set both to enable accounts, or neither"
            )
        return None, None
    parsed = urlsplit(issuer)
    local = parsed.scheme == "http" and parsed.hostname in _LOOPBACK_HOSTS
    if not parsed.netloc or not (parsed.scheme == "https" or local) or parsed.query or parsed.fragment:
        raise ConfigError(
            f"AUTH_ISSUER={issuer!r} must be the provider's issuer URL, https://... "
            "(http:// only on this machine, e.g. the development provider)"
        )
    if audience is None:
        raise ConfigError(
            "AUTH_ISSUER is set but AUTH_AUDIENCE is not: name the audience tokens are issued for"
        )
    return issuer, audience


def load_settings(env: Mapping[str, str]) -> Settings:
    dev_mode = truthy(env, "SCROLLR_DEV")
    secret = secret_setting(env, dev_mode=dev_mode)
    redis = redis_settings(env)
    port = int(number_setting(env, "PORT", DEFAULT_PORT, minimum=0, kind=int))
    workers = int(number_setting(env, "WORKERS", 1, minimum=1, maximum=MAX_WORKERS, kind=int))
    if workers > 1 and redis is None:
        raise ConfigError(
            f"WORKERS={workers} needs REDIS_URL (or Sentinel): without Redis each process has a bus of its own "
            "and would miss the events posted to the others"
        )
    if workers > 1 and port == 0:
        raise ConfigError("WORKERS > 1 needs a fixed PORT: the processes share one port")
    web_dir = env.get("SCROLLR_WEB_DIR", "").strip() or None
    if web_dir is not None and not Path(web_dir).is_dir():
        raise ConfigError(f"SCROLLR_WEB_DIR={web_dir!r} is not a directory")
    if web_dir is None and PACKAGED_WEB_DIR.is_dir():
        web_dir = str(PACKAGED_WEB_DIR)  # an installed wheel carries the dashboard (setup.py)
    auth_issuer, auth_audience = _auth(env)
    return Settings(
        webhook_secret=secret,
        auth_issuer=auth_issuer,
        auth_audience=auth_audience,
        auth_dashboard_client_id=env.get("AUTH_DASHBOARD_CLIENT_ID", "").strip()
        or DEFAULT_DASHBOARD_CLIENT_ID,
        auth_extension_client_id=env.get("AUTH_EXTENSION_CLIENT_ID", "").strip()
        or DEFAULT_EXTENSION_CLIENT_ID,
        dev_mode=dev_mode,
        redis=redis,
        database_url=url_setting(env, "DATABASE_URL", ("postgres", "postgresql")),
        allowed_origins=_origins(env.get("ALLOWED_ORIGINS", "")),
        heartbeat_seconds=number_setting(
            env, "SSE_HEARTBEAT_SECONDS", DEFAULT_HEARTBEAT_SECONDS, minimum=0.05, kind=float
        ),
        host=env.get("HOST", "").strip() or DEFAULT_HOST,
        port=port,
        max_body_bytes=int(
            number_setting(env, "WEBHOOK_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, minimum=1024, kind=int)
        ),
        stream_maxlen=int(number_setting(env, "STREAM_MAXLEN", DEFAULT_STREAM_MAXLEN, minimum=1, kind=int)),
        stream_max_age_seconds=int(
            number_setting(env, "STREAM_MAX_AGE_SECONDS", DEFAULT_STREAM_MAX_AGE_SECONDS, minimum=0, kind=int)
        ),
        dedupe_window_seconds=int(
            number_setting(env, "DEDUPE_WINDOW_SECONDS", DEFAULT_DEDUPE_WINDOW_SECONDS, minimum=1, kind=int)
        ),
        max_streams=int(number_setting(env, "MAX_STREAMS", DEFAULT_MAX_STREAMS, minimum=1, kind=int)),
        client_buffer_bytes=int(
            number_setting(env, "CLIENT_BUFFER_BYTES", DEFAULT_CLIENT_BUFFER_BYTES, minimum=4096, kind=int)
        ),
        stream_key=env.get("STREAM_KEY", "").strip() or STREAM_KEY,
        web_dir=web_dir,
        workers=workers,
        worker_timeout_seconds=number_setting(
            env, "WORKER_TIMEOUT_SECONDS", DEFAULT_WORKER_TIMEOUT_SECONDS, minimum=0.5, kind=float
        ),
        stream_max_topics=int(
            number_setting(env, "STREAM_MAX_TOPICS", DEFAULT_STREAM_MAX_TOPICS, minimum=1, kind=int)
        ),
        max_streams_per_client=int(
            number_setting(env, "MAX_STREAMS_PER_CLIENT", DEFAULT_MAX_STREAMS_PER_CLIENT, minimum=0, kind=int)
        ),
        max_replays=int(number_setting(env, "MAX_REPLAYS", DEFAULT_MAX_REPLAYS, minimum=1, kind=int)),
        max_replays_per_client=int(
            number_setting(env, "MAX_REPLAYS_PER_CLIENT", DEFAULT_MAX_REPLAYS_PER_CLIENT, minimum=0, kind=int)
        ),
        max_filter_values=int(
            number_setting(env, "MAX_FILTER_VALUES", DEFAULT_MAX_FILTER_VALUES, minimum=512, kind=int)
        ),
        max_filter_values_per_client=int(
            number_setting(
                env,
                "MAX_FILTER_VALUES_PER_CLIENT",
                DEFAULT_MAX_FILTER_VALUES_PER_CLIENT,
                minimum=512,
                kind=int,
            )
        ),
        resume_cache_bytes=int(
            number_setting(
                env, "RESUME_CACHE_BYTES", DEFAULT_RESUME_CACHE_BYTES, minimum=1024 * 1024, kind=int
            )
        ),
        trusted_proxies=_addresses(env, "TRUSTED_PROXIES"),
        header_timeout_seconds=number_setting(
            env, "HEADER_TIMEOUT_SECONDS", DEFAULT_HEADER_TIMEOUT_SECONDS, minimum=0.1, kind=float
        ),
        body_timeout_seconds=number_setting(
            env, "BODY_TIMEOUT_SECONDS", DEFAULT_BODY_TIMEOUT_SECONDS, minimum=0.1, kind=float
        ),
        max_header_bytes=int(
            number_setting(env, "MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES, minimum=1024, kind=int)
        ),
        log_summary_seconds=number_setting(
            env, "LOG_SUMMARY_SECONDS", DEFAULT_LOG_SUMMARY_SECONDS, minimum=0.1, kind=float
        ),
        bus_outage_grace_seconds=number_setting(
            env, "BUS_OUTAGE_GRACE_SECONDS", DEFAULT_BUS_OUTAGE_GRACE_SECONDS, minimum=0, kind=float
        ),
        client_stall_seconds=number_setting(
            env, "CLIENT_STALL_SECONDS", DEFAULT_CLIENT_STALL_SECONDS, minimum=0.1, kind=float
        ),
        bus_timeout_seconds=number_setting(
            env, "BUS_TIMEOUT_SECONDS", DEFAULT_BUS_TIMEOUT_SECONDS, minimum=0.1, kind=float
        ),
    )

"""Which Redis the bus talks to: one server, a Sentinel-managed master, or a Cluster.

The settings (`RedisSettings`) are parsed and checked at start-up; the client is built on first use,
because telling a cluster from a single server (`REDIS_MODE` unset) needs Redis to answer, and a
relay must start, and say it isn't ready, while Redis is down.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import msgspec
import redis.asyncio as redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from scrollr_core.settings import ConfigError, url_setting

Mode = Literal["auto", "standalone", "cluster", "sentinel"]
MODES: tuple[Mode, ...] = ("standalone", "cluster", "sentinel")

SOCKET_TIMEOUT_SECONDS = 10.0
CONNECT_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_SECONDS = 30
# A pooled connection that Redis closed (a restart, a failover) fails on its next use. Retried on a
# fresh connection, so a restart costs no failed webhook once Redis is back. Retrying a publish whose
# reply was lost is safe: the script dedupes by idempotency key, so the retry can't append twice.
RETRIES = 2
RETRY_BACKOFF = ExponentialWithJitterBackoff(base=0.05, cap=0.5)
Client = redis.Redis | RedisCluster


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    mode: Mode
    url: str | None = None
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str | None = None
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None

    def describe(self) -> str:
        """Where the bus lives, without credentials (for the start-up banner)."""
        if self.mode == "sentinel":
            nodes = ",".join(f"{h}:{p}" for h, p in self.sentinels)
            return f"redis sentinel {self.sentinel_master} via {nodes}"
        assert self.url is not None
        where = self.url.split("@")[-1]
        return f"redis {where}" if self.mode == "auto" else f"redis {self.mode} {where}"


def _host_port(entry: str) -> tuple[str, int]:
    host, sep, port = entry.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"REDIS_SENTINELS entry {entry!r} is not host:port")
    return host.strip("[]"), int(port)


def redis_settings(env: Mapping[str, str]) -> RedisSettings | None:
    """The Redis settings, or None for the in-memory bus; ConfigError names what is wrong."""
    url = url_setting(env, "REDIS_URL", ("redis", "rediss", "unix"))
    sentinels = tuple(_host_port(e.strip()) for e in env.get("REDIS_SENTINELS", "").split(",") if e.strip())
    master = env.get("REDIS_SENTINEL_MASTER", "").strip() or None
    raw_mode = env.get("REDIS_MODE", "").strip().lower()
    if raw_mode and raw_mode not in MODES:
        raise ConfigError(f"REDIS_MODE={raw_mode!r} must be one of {', '.join(MODES)}")
    mode: Mode = raw_mode or ("sentinel" if sentinels else "auto")
    if mode == "sentinel":
        if url is not None:
            raise ConfigError(
                "REDIS_URL and Sentinel both set: Sentinel names the master, leave REDIS_URL unset"
            )
        if not sentinels or master is None:
            raise ConfigError("Sentinel needs REDIS_SENTINELS=host:port,... and REDIS_SENTINEL_MASTER=name")
        return RedisSettings(
            mode=mode,
            sentinels=sentinels,
            sentinel_master=master,
            username=env.get("REDIS_USERNAME") or None,
            password=env.get("REDIS_PASSWORD") or None,
            sentinel_password=env.get("REDIS_SENTINEL_PASSWORD") or None,
        )
    if sentinels or master is not None:
        raise ConfigError(f"REDIS_SENTINELS/REDIS_SENTINEL_MASTER are for REDIS_MODE=sentinel, not {mode}")
    if url is None:
        if raw_mode:
            raise ConfigError(f"REDIS_MODE={raw_mode} needs REDIS_URL")
        return None
    return RedisSettings(mode=mode, url=url)


def _connection_options() -> dict[str, Any]:
    return {
        "socket_timeout": SOCKET_TIMEOUT_SECONDS,
        "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "health_check_interval": HEALTH_CHECK_SECONDS,
        # Given to the pool's connections: the client ignores its own `retry` for them.
        "retry": Retry(RETRY_BACKOFF, RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


async def _is_cluster(url: str) -> bool:
    probe = redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_SECONDS, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        info = await probe.info("cluster")
    finally:
        await probe.aclose()
    return bool(info.get("cluster_enabled"))


async def connect(settings: RedisSettings) -> Client:
    """A client for the topology; `auto` asks the server whether it is a cluster node."""
    mode = settings.mode
    if mode == "sentinel":
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(settings.sentinels),
            sentinel_kwargs={
                "password": settings.sentinel_password,
                "socket_timeout": CONNECT_TIMEOUT_SECONDS,
                "socket_connect_timeout": CONNECT_TIMEOUT_SECONDS,
                # redis-py's default retries each sentinel with backoff up to a second: a refused
                # password took 35 s to surface over three sentinels (test with passwords).
                "retry": Retry(RETRY_BACKOFF, RETRIES),
            },
            username=settings.username,
            password=settings.password,
            **_connection_options(),
        )
        # Every command goes to whichever server the sentinels name master now: a connection to a
        # demoted one is refused (READONLY) or lost, and the pool asks the sentinels again.
        master: redis.Redis = sentinel.master_for(settings.sentinel_master or "", check_connection=True)
        return master
    assert settings.url is not None
    if mode == "auto":
        mode = "cluster" if await _is_cluster(settings.url) else "standalone"
    if mode == "cluster":
        # The cluster client follows MOVED/ASK itself, and after a lost node fetches the slot map
        # again: its `retry` spans the attempts over the whole cluster, not one connection.
        options = _connection_options()
        options.pop("health_check_interval")
        return RedisCluster.from_url(settings.url, max_connections=1000, **options)
    return redis.Redis.from_url(settings.url, **_connection_options())

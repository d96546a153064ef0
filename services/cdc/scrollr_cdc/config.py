"""`scrollr-cdc` settings from the environment, validated at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec
from scrollr_relay.config import ConfigError

DEFAULT_WEBHOOK_URL = "http://127.0.0.1:8080/webhooks/sequin"
DEFAULT_SLOT = "scrollr_cdc"
DEFAULT_PUBLICATION = "scrollr"
DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCH_LINGER_MS = 5
DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
DEFAULT_RETRY_MAX_SECONDS = 30.0
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class CdcSettings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    webhook_url: str = DEFAULT_WEBHOOK_URL
    secret: str
    slot: str = DEFAULT_SLOT
    publication: str = DEFAULT_PUBLICATION
    batch_size: int = DEFAULT_BATCH_SIZE
    batch_linger_ms: int = DEFAULT_BATCH_LINGER_MS
    http_timeout_seconds: float = DEFAULT_HTTP_TIMEOUT_SECONDS
    retry_max_seconds: float = DEFAULT_RETRY_MAX_SECONDS


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _int(env: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise ConfigError(f"{name}={raw!r} must be a whole number of at least {minimum}")
    return int(raw)


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _NAME.match(value):
        raise ConfigError(f"{name}={value!r} must be a lower-case Postgres identifier")
    return value


def load_cdc_settings(env: Mapping[str, str]) -> CdcSettings:
    database_url = _required(env, "DATABASE_URL")
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise ConfigError(f"DATABASE_URL={database_url!r} must start with postgresql://")
    webhook_url = env.get("RELAY_WEBHOOK_URL", "").strip() or DEFAULT_WEBHOOK_URL
    if not webhook_url.startswith(("http://", "https://")):
        raise ConfigError(f"RELAY_WEBHOOK_URL={webhook_url!r} must be an http(s) URL")
    return CdcSettings(
        database_url=database_url,
        webhook_url=webhook_url,
        secret=_required(env, "SEQUIN_WEBHOOK_SECRET"),
        slot=_name(env, "CDC_SLOT", DEFAULT_SLOT),
        publication=_name(env, "CDC_PUBLICATION", DEFAULT_PUBLICATION),
        batch_size=_int(env, "CDC_BATCH_SIZE", DEFAULT_BATCH_SIZE, 1),
        batch_linger_ms=_int(env, "CDC_BATCH_LINGER_MS", DEFAULT_BATCH_LINGER_MS, 0),
        http_timeout_seconds=float(
            _int(env, "CDC_HTTP_TIMEOUT_SECONDS", int(DEFAULT_HTTP_TIMEOUT_SECONDS), 1)
        ),
        retry_max_seconds=float(_int(env, "CDC_RETRY_MAX_SECONDS", int(DEFAULT_RETRY_MAX_SECONDS), 1)),
    )

"""`scrollr-cdc` settings from the environment, validated at start-up."""

from __future__ import annotations

import re
from collections.abc import Mapping

import msgspec
from scrollr_core.settings import (
    ConfigError,
    default_webhook_url,
    number_setting,
    secret_setting,
    url_setting,
)

DEFAULT_WEBHOOK_URL = default_webhook_url()
DEFAULT_SLOT = "scrollr_cdc"
DEFAULT_PUBLICATION = "scrollr"
DEFAULT_BATCH_SIZE = 100
DEFAULT_BATCH_LINGER_MS = 5
DEFAULT_HTTP_TIMEOUT_SECONDS = 30.0
DEFAULT_RETRY_MAX_SECONDS = 30.0
DEFAULT_PARKED_RETRY_MAX_SECONDS = 600.0  # Sequin's own cap between retries of a failing message
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
    parked_retry_max_seconds: float = DEFAULT_PARKED_RETRY_MAX_SECONDS
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 0  # 0: no metrics endpoint


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not _NAME.match(value):
        raise ConfigError(f"{name}={value!r} must be a lower-case Postgres identifier")
    return value


def load_cdc_settings(env: Mapping[str, str]) -> CdcSettings:
    database_url = url_setting(env, "DATABASE_URL", ("postgres", "postgresql"))
    if database_url is None:
        raise ConfigError("DATABASE_URL is not set")
    return CdcSettings(
        database_url=database_url,
        webhook_url=url_setting(env, "RELAY_WEBHOOK_URL", ("http", "https")) or DEFAULT_WEBHOOK_URL,
        secret=secret_setting(env),
        slot=_name(env, "CDC_SLOT", DEFAULT_SLOT),
        publication=_name(env, "CDC_PUBLICATION", DEFAULT_PUBLICATION),
        batch_size=int(number_setting(env, "CDC_BATCH_SIZE", DEFAULT_BATCH_SIZE, minimum=1, kind=int)),
        batch_linger_ms=int(
            number_setting(env, "CDC_BATCH_LINGER_MS", DEFAULT_BATCH_LINGER_MS, minimum=0, kind=int)
        ),
        http_timeout_seconds=number_setting(
            env, "CDC_HTTP_TIMEOUT_SECONDS", DEFAULT_HTTP_TIMEOUT_SECONDS, minimum=1, kind=float
        ),
        retry_max_seconds=number_setting(
            env, "CDC_RETRY_MAX_SECONDS", DEFAULT_RETRY_MAX_SECONDS, minimum=1, kind=float
        ),
        parked_retry_max_seconds=number_setting(
            env, "CDC_PARKED_RETRY_MAX_SECONDS", DEFAULT_PARKED_RETRY_MAX_SECONDS, minimum=1, kind=float
        ),
        metrics_host=env.get("CDC_METRICS_HOST", "").strip() or "127.0.0.1",
        metrics_port=int(number_setting(env, "CDC_METRICS_PORT", 0, minimum=0, maximum=65535, kind=int)),
    )

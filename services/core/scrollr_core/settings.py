"""Settings from the environment (and an optional `.env` file), one mechanism for every command.

Each command declares its settings as a frozen Struct and builds it with these parsers; a bad value
raises ConfigError naming the variable, and `load_or_exit` turns that into exit status 2 at start-up
instead of a failure on first use.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from dotenv import dotenv_values

DEFAULT_PORT = 8080
MIN_SECRET_CHARS = 16
T = TypeVar("T")


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names the variable."""


def default_webhook_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}/webhooks/sequin"


def number_setting(
    env: Mapping[str, str],
    name: str,
    default: float,
    *,
    minimum: float,
    kind: type,
    maximum: float | None = None,
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={raw!r} must be at most {maximum}")
    return float(value) if kind is float else value


def truthy(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name}={raw!r} must be one of 1/0, true/false, yes/no, on/off")


def url_setting(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(tuple(f"{s}://" for s in schemes)):
        raise ConfigError(f"{name}={raw!r} must start with one of {', '.join(s + '://' for s in schemes)}")
    return raw


def merged_environment(env_file: str | os.PathLike[str] | None = ".env") -> dict[str, str]:
    """The process environment over the `.env` file's values (the environment wins, as in twelve-factor)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level_setting(env: Mapping[str, str]) -> str:
    """LOG_LEVEL (INFO when unset), any case."""
    raw = env.get("LOG_LEVEL", "").strip()
    if raw.upper() not in LOG_LEVELS and raw:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return raw.upper() or "INFO"


def load_or_exit(command: str, loader: Callable[[Mapping[str, str]], T]) -> T:
    """Settings for a command, or exit status 2 with the message that names the bad variable."""
    try:
        return loader(merged_environment())
    except ConfigError as exc:
        print(f"{command}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def secret_setting(env: Mapping[str, str], *, dev_mode: bool = False) -> str:
    """SEQUIN_WEBHOOK_SECRET, the same rule for whoever signs and whoever checks: at least 16
    characters. Unset, it is an error unless `dev_mode`, which makes one up."""
    secret = env.get("SEQUIN_WEBHOOK_SECRET", "").strip()
    if not secret:
        if not dev_mode:
            raise ConfigError(
                "SEQUIN_WEBHOOK_SECRET is not set: the relay refuses unauthenticated webhooks. "
                "Set it, or run with SCROLLR_DEV=1 to generate one for local development."
            )
        return secrets.token_urlsafe(24)
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"SEQUIN_WEBHOOK_SECRET must be at least {MIN_SECRET_CHARS} characters")
    return secret

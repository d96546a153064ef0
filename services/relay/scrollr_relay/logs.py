"""Logging set-up shared by the project's commands: one line per record, to stderr."""

from __future__ import annotations

import logging
import os


def configure(default_level: str = "INFO") -> None:
    level = os.environ.get("LOG_LEVEL", default_level).upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per webhook POST is noise

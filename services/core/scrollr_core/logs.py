"""Logging set-up shared by the project's commands: one line per record, to stderr."""

from __future__ import annotations

import logging
import os


def configure(default_level: str = "INFO", *, quiet: tuple[str, ...] = ()) -> None:
    """One line per record at LOG_LEVEL; the `quiet` loggers only from WARNING (a command's noise)."""
    level = os.environ.get("LOG_LEVEL", default_level).upper()
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)

"""Logging set-up shared by the project's commands: one line per record, to stderr."""

from __future__ import annotations

import logging

from scrollr_core.settings import load_or_exit, log_level_setting


def configure(command: str, *, quiet: tuple[str, ...] = ()) -> None:
    """One line per record at LOG_LEVEL; the `quiet` loggers only from WARNING (a command's noise).
    A level logging doesn't know stops `command` with one line, as any bad setting does."""
    level = load_or_exit(command, log_level_setting)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        force=True,
    )
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)

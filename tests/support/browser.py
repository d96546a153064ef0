"""Debian's Chromium driven by Playwright for Python: never a downloaded browser."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it off the closed network.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"
EXTENSION_DIST = Path(__file__).resolve().parents[2] / "extension" / "dist"

"""Loading the unpacked extension, built for a test relay's origin, into Debian's Chromium."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, Playwright

from tests.support.browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parents[2]


def build_extension(api_origin: str) -> Path:
    """The extension with its test hooks (`--test-hooks`: the ids it applied, kept for the tests)."""
    out = Path(tempfile.mkdtemp(prefix="scrollr-ext-"))
    subprocess.run(
        ["node", "web/build.mjs", "--extension-out", str(out), "--test-hooks"],
        cwd=ROOT,
        env={**os.environ, "SCROLLR_EXTENSION_API_ORIGIN": api_origin},
        check=True,
    )
    return out


@contextmanager
def extension_browser(playwright: Playwright, api_origin: str) -> Iterator[tuple[BrowserContext, str]]:
    """A persistent Chromium profile with the extension loaded; yields the context and extension id."""
    folder = build_extension(api_origin)
    context = playwright.chromium.launch_persistent_context(
        tempfile.mkdtemp(prefix="scrollr-profile-"),
        executable_path=CHROMIUM,
        headless=True,
        args=[*ARGS, f"--disable-extensions-except={folder}", f"--load-extension={folder}"],
    )
    try:
        worker = (
            context.service_workers[0] if context.service_workers else context.wait_for_event("serviceworker")
        )
        yield context, worker.url.split("/")[2]
    finally:
        context.close()


def open_popup(context: BrowserContext, extension_id: str) -> Page:
    page = context.new_page()
    page.goto(f"chrome-extension://{extension_id}/popup.html")
    return page

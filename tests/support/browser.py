"""Debian's Chromium driven by Playwright for Python: never a downloaded browser."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

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


def dollars(price: str) -> str:
    """A price as the clients show it: `97278.7` → `$97,278.70`."""
    return f"${float(price):,.2f}"


def expect_price(page: Page, symbol: str, price: str, timeout_ms: float = 30_000) -> None:
    """Wait for a trade's price cell to show `price` (a locator assertion: no eval, so CSP-safe)."""
    expect(page.locator(f'tr[data-symbol="{symbol}"] [data-field="price"]')).to_have_text(
        dollars(price), timeout=timeout_ms
    )


def record_applied(page: Page) -> None:
    """From now on, note each stream id the tab applies (the store's test hook, `onApplied`): the
    dashboard itself keeps none."""
    page.evaluate("window.__applied = []; window.__scrollr.onApplied = (id) => window.__applied.push(id)")


def applied_ids(page: Page) -> list[str]:
    """The ids the tab applied since `record_applied`, in order."""
    ids: list[str] = page.evaluate("window.__applied")
    return ids


def expect_status(page: Page, status: str, timeout_ms: float = 30_000) -> None:
    expect(page.locator("[data-testid=status]")).to_have_attribute("data-status", status, timeout=timeout_ms)


def expect_not_live(page: Page, timeout_ms: float = 20_000) -> None:
    expect(page.locator("[data-testid=status]")).not_to_have_attribute(
        "data-status", "connected", timeout=timeout_ms
    )


def dashboard_relay_env(database_url: str, **extra: str) -> dict[str, str]:
    """A relay that serves the built dashboard and its snapshots, with a quick heartbeat."""
    return {
        "DATABASE_URL": database_url,
        "SCROLLR_WEB_DIR": str(WEB_DIST),
        "SSE_HEARTBEAT_SECONDS": "1",
        **extra,
    }

"""What the feed bar costs a page's main thread per event, with 20 tabs open (issue 21): printed, not
asserted (timing on a shared machine is noise). Run: `pytest tests/bench/test_feed_bar_cost.py -s`.

Each tab is on a site of its own (127.0.0.2 … 127.0.0.21), so Chromium gives it its own renderer and
main thread, and DevTools' `Performance.getMetrics` TaskDuration (every task of that main thread)
is that page's alone. The same 20 tabs take the same paced events twice in one run: with the bar,
then with the bar switched off (its content script still loaded, listening to nothing); the
difference is the bar's cost. The bar's idle cost (no events, same duration) is printed apart. Playwright keeps every page it drives visible, so all 20 bars render: the worst
case, where a real browser renders only the visible tab's bar.
"""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack

import pytest
from playwright.sync_api import expect

from tests.support.browser import dollars
from tests.support.extension import extension_browser
from tests.support.pages import page_server
from tests.support.pg import insert_trade
from tests.support.procs import free_port
from tests.support.sequin import batch, post, trade_message

pytestmark = pytest.mark.bench
TABS = 20
EVENTS = 100
EVENTS_PER_SECOND = 10
SYMBOLS = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AMD")


def main_thread(session) -> tuple[float, float]:
    """Seconds of the page's main thread so far: every task, and the scripts' part of them."""
    metrics = {m["name"]: m["value"] for m in session.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"], metrics["ScriptDuration"]


def run_events(relay, ids, sessions, start: int | None) -> list[tuple[float, float]]:
    """Main-thread ms per event slot for each tab (all tasks, scripts), over EVENTS paced price
    changes (None: no event is sent, the same time passes: the idle cost)."""
    before = [main_thread(s) for s in sessions]
    for n in range(EVENTS):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        if start is not None:
            message = trade_message(symbol, f"{start + n}.00", row_id=ids[symbol])
            assert post(relay.url, batch(message)).status_code == 200
        time.sleep(1 / EVENTS_PER_SECOND)  # pacing the load, not waiting for a result
    after = [main_thread(s) for s in sessions]
    return [
        ((a[0] - b[0]) * 1000 / EVENTS, (a[1] - b[1]) * 1000 / EVENTS)
        for a, b in zip(after, before, strict=True)
    ]


def test_main_thread_time_per_event_with_20_tabs(playwright, database_url, start_relay):
    ids = {symbol: insert_trade(database_url, symbol, "100.00") for symbol in SYMBOLS}
    relay = start_relay({"DATABASE_URL": database_url}, port=free_port())
    with ExitStack() as stack:
        sites = [stack.enter_context(page_server(f"127.0.0.{n + 2}")) for n in range(TABS)]
        context, _ = stack.enter_context(extension_browser(playwright, relay.url))
        pages = []
        for site in sites:
            page = context.new_page()
            page.goto(f"{site}/plain")
            pages.append(page)
        sessions = []
        for page in pages:
            session = context.new_cdp_session(page)
            session.send("Performance.enable")
            sessions.append(session)
        last = SYMBOLS[(EVENTS - 1) % len(SYMBOLS)]
        for page in pages:
            expect(
                page.locator(f'scrollr-feed-bar [data-symbol="{last}"] [data-field="price"]')
            ).to_be_visible()
        idle = run_events(relay, ids, sessions, None)
        with_bar = run_events(relay, ids, sessions, 200)
        for page in pages:  # every bar showed the last event
            expect(
                page.locator(f'scrollr-feed-bar [data-symbol="{last}"] [data-field="price"]').first
            ).to_have_text(dollars(f"{200 + EVENTS - 1}.00"), timeout=30_000)
        for page in pages:  # flashes held still: what is left is rendering the new values
            page.emulate_media(reduced_motion="reduce")
        still = run_events(relay, ids, sessions, 300)
        context.service_workers[0].evaluate(
            "chrome.storage.sync.get('scrollr:bar').then((s) => chrome.storage.sync.set("
            "{'scrollr:bar': {...(s['scrollr:bar'] || {}), enabled: false}}))"
        )
        for page in pages:
            expect(page.locator("scrollr-feed-bar")).to_have_count(0)
        without_bar = run_events(relay, ids, sessions, 400)

    def summary(runs: list[tuple[float, float]]) -> str:
        tasks = [task for task, _ in runs]
        scripts = statistics.median(script for _, script in runs)
        return f"{statistics.median(tasks):.2f} ({min(tasks):.2f}-{max(tasks):.2f}; scripts {scripts:.2f})"

    print(
        f"\nfeed bar, {TABS} tabs, {EVENTS} events at {EVENTS_PER_SECOND}/s; main-thread ms per event per tab,"
        f" median (min-max; the scripts' median):\n  with the bar        {summary(with_bar)}"
        f"\n  reduced motion      {summary(still)}\n  the bar, no events  {summary(idle)}"
        f"\n  bar off             {summary(without_bar)}"
    )
    assert len(with_bar) == len(without_bar) == len(idle) == len(still) == TABS

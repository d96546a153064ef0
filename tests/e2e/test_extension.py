"""The MV3 extension in real Chromium: background stream, popup, worker stops, relay outages."""

import pytest
from playwright.sync_api import expect

from tests.support.browser import dashboard_relay_env, expect_not_live, expect_price, expect_status
from tests.support.extension import extension_browser, open_popup
from tests.support.pg import insert_trade
from tests.support.procs import free_port, wait_until
from tests.support.sequin import batch, post, trade_message

pytestmark = pytest.mark.browser
SYMBOLS = ("AAPL", "NVDA", "MSFT")


def wait_price(page, symbol, price, timeout=30_000):
    expect_price(page, symbol, price, timeout)


def wait_status(page, status, timeout=30_000):
    expect_status(page, status, timeout)


@pytest.fixture
def ids(database_url):
    return {symbol: insert_trade(database_url, symbol, "100.00") for symbol in SYMBOLS}


def applied(page):
    """The ids the background applied, kept by the tests' build only (extension/src/test-hooks.ts)."""
    return page.evaluate(
        "chrome.storage.session.get('scrollr:test:applied').then((s) => s['scrollr:test:applied'])"
    )


def test_popup_shows_live_updates_without_being_reopened(playwright, database_url, ids, start_relay):
    relay = start_relay({"DATABASE_URL": database_url}, port=free_port())
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        wait_status(popup, "connected")
        wait_price(popup, "NVDA", "100.00")
        for price in ("187.34", "187.90"):
            assert post(relay.url, batch(trade_message("NVDA", price, row_id=ids["NVDA"]))).status_code == 200
            wait_price(popup, "NVDA", price)
        assert relay.metric("scrollr_open_streams") == 1


def test_events_published_while_the_worker_is_stopped_all_show_once_it_runs_again(
    playwright, database_url, ids, start_relay
):
    relay = start_relay({"DATABASE_URL": database_url}, port=free_port())
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        wait_status(popup, "connected")
        cdp = context.new_cdp_session(popup)
        cdp.send("ServiceWorker.enable")
        cdp.send("ServiceWorker.stopAllWorkers")
        wait_until(lambda: relay.metric("scrollr_open_streams") == 0, what="the worker's stream to close")
        cursors = []
        for n, symbol in enumerate(SYMBOLS):
            response = post(relay.url, batch(trade_message(symbol, f"{300 + n}.00", row_id=ids[symbol])))
            cursors.append(response.json()["cursor"])
        # The popup's port dropped with the worker; reconnecting it starts the worker again, which
        # resumes from the cursor it stored.
        for n, symbol in enumerate(SYMBOLS):
            wait_price(popup, symbol, f"{300 + n}.00")
        wait_status(popup, "connected")
        seen = applied(popup)
        assert all(cursor in seen for cursor in cursors)
        assert len(seen) == len(set(seen))


def test_relay_down_and_back_status_follows_and_the_stream_resumes_without_gap(
    playwright, database_url, ids, start_relay, redis_server
):
    env = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_server.url,
        "STREAM_KEY": "events:extension-outage",
    }
    relay = start_relay(env, port=free_port())
    publisher = start_relay(env)
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        wait_status(popup, "connected")
        relay.kill()
        expect_not_live(popup)
        cursors = [
            post(publisher.url, batch(trade_message(s, "222.00", row_id=ids[s]))).json()["cursor"]
            for s in SYMBOLS
        ]
        relay.start()
        wait_status(popup, "connected", timeout=60_000)
        for symbol in SYMBOLS:
            wait_price(popup, symbol, "222.00")
        seen = applied(popup)
        assert all(cursor in seen for cursor in cursors)
        assert len(seen) == len(set(seen))


def test_a_relay_that_no_longer_serves_this_extension_makes_it_ask_for_its_update(
    playwright, database_url, start_relay
):
    # A relay of a later release, which serves clients of protocol 2 and up only.
    relay = start_relay(dashboard_relay_env(database_url), server="next-release")
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        wait_status(popup, "outdated")
        # It asked Chrome for its update; an unpacked extension has none, and the popup says what to do.
        check = "chrome.storage.session.get('scrollr').then((s) => s.scrollr.updateCheck)"
        wait_until(lambda: popup.evaluate(check) is not None, what="the update check")
        expect(popup.get_by_test_id("popup-note")).to_contain_text("A new version of Scrollr is needed")
        expect(popup.get_by_test_id("popup-note")).to_contain_text("update the extension")
        assert relay.metric("scrollr_streams_opened_total", 'sink="socket"') >= 1  # its own stream told it

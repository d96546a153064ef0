"""The extension as its own product, in real Chromium: a popup that fits 360 px with Finance/Sports
tabs and says honestly where it connects, an options page that points it at another relay at run time
and chooses what it follows (chrome.storage.sync), and no axe-core violations."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.test_product import axe_violations
from tests.support.browser import ARTIFACTS, dashboard_relay_env, expect_not_live, expect_price, expect_status
from tests.support.extension import extension_browser, open_popup
from tests.support.pg import insert_trade
from tests.support.procs import free_port, wait_until

pytestmark = pytest.mark.browser
POPUP_WIDTH = 360


@pytest.fixture
def trades(database_url):
    for symbol in ("AAPL", "MSFT", "NVDA"):
        insert_trade(database_url, symbol, "1234.50")
    return database_url


def test_the_popup_fits_360_px_and_says_where_it_connects(playwright, trades, start_relay):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    with extension_browser(playwright, origin) as (context, extension_id):
        popup = open_popup(context, extension_id)
        popup.set_viewport_size({"width": POPUP_WIDTH, "height": 600})
        # Nothing stored yet and no relay: it says it is connecting, and to where — not "offline".
        expect_status(popup, "connecting")
        expect(popup.get_by_test_id("popup-note")).to_have_text(f"Connecting to {origin}…")
        relay = start_relay(dashboard_relay_env(trades), port=port)
        expect_status(popup, "connected")
        expect_price(popup, "NVDA", "1234.50")
        expect(popup.get_by_test_id("popup-note")).to_have_count(0)
        assert popup.evaluate("document.body.getBoundingClientRect().width") == POPUP_WIDTH
        assert popup.evaluate("document.documentElement.scrollWidth") <= POPUP_WIDTH, "horizontal overflow"
        assert popup.get_by_role("link", name="Open dashboard").get_attribute("href") == f"{origin}/"
        # A symbol links to its quote page, as on the dashboard (the link is the catalog's).
        quote = popup.locator('tr[data-symbol="NVDA"]').get_by_role("link", name="NVDA")
        expect(quote).to_have_attribute("href", "https://finance.yahoo.com/quote/NVDA")
        popup.get_by_role("button", name="Sports (0)").click()
        expect(popup.get_by_test_id("games-empty")).to_be_visible()
        popup.get_by_role("button", name="Finance (3)").click()
        ARTIFACTS.mkdir(exist_ok=True)
        popup.screenshot(path=str(ARTIFACTS / "popup.png"), full_page=True)
        assert axe_violations(popup) == []
        # Now there is data: without the relay it is shown, with its age.
        relay.kill()
        expect_not_live(popup)
        expect(popup.get_by_test_id("freshness")).to_contain_text("Showing data from")
        expect_price(popup, "NVDA", "1234.50")


def test_the_options_page_points_at_another_relay_and_chooses_what_to_follow(playwright, trades, start_relay):
    first = start_relay(dashboard_relay_env(trades))
    with extension_browser(playwright, first.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        expect_status(popup, "connected")
        wait_until(lambda: first.metric("scrollr_open_streams") == 1, what="the stream from the built origin")
        # Another relay, which admits the extension by CORS (the permission prompt can't be answered
        # in a headless browser; a user answering it gets the same stream without CORS).
        second = start_relay(
            dashboard_relay_env(trades, ALLOWED_ORIGINS=f"chrome-extension://{extension_id}")
        )
        options = context.new_page()
        options.goto(f"chrome-extension://{extension_id}/options.html")
        options.get_by_label("API origin").fill("ftp://example.com")
        options.get_by_role("button", name="Save").click()
        expect(options.get_by_test_id("origin-message")).to_contain_text("must start with https://")
        options.get_by_label("API origin").fill(second.url)
        options.get_by_role("button", name="Save").click()
        expect(options.get_by_test_id("origin-message")).to_contain_text(
            f"Saved; asking for access to {second.url}"
        )
        wait_until(lambda: second.metric("scrollr_open_streams") == 1, timeout=30, what="the stream moved")
        wait_until(lambda: first.metric("scrollr_open_streams") == 0, what="the old stream closed")
        expect_status(popup, "connected")
        expect_price(popup, "MSFT", "1234.50")
        # What to follow: the same settings as the dashboard, kept in chrome.storage.sync.
        options.get_by_test_id("finance-settings").get_by_role("button", name="Clear all").click()
        options.get_by_label("AAPL").check()
        expect(popup.locator("tr[data-symbol]")).to_have_count(1)
        expect_price(popup, "AAPL", "1234.50")
        wait_until(
            lambda: "symbols=frozenset({'AAPL'})" in second.log(), what="a stream filtered by the relay"
        )
        stored = options.evaluate("chrome.storage.sync.get('scrollr:preferences')")
        assert stored["scrollr:preferences"]["symbols"] == ["AAPL"]
        assert axe_violations(options) == []


def test_a_saved_symbol_the_catalog_lacks_is_dropped_named_and_the_stream_goes_on(
    playwright, trades, start_relay
):
    relay = start_relay(dashboard_relay_env(trades))
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        expect_status(popup, "connected")
        # A corrupted or older-format entry arrives in the synced preferences.
        popup.evaluate(
            "chrome.storage.sync.set({'scrollr:preferences': {symbols: ['MSFT', 'BAD$SYM'], leagues: null}})"
        )
        expect(popup.get_by_test_id("popup-dropped")).to_contain_text("BAD$SYM")
        expect_status(popup, "connected")
        expect(popup.locator("tr[data-symbol]")).to_have_count(1)
        expect_price(popup, "MSFT", "1234.50")
        stored = popup.evaluate("chrome.storage.sync.get('scrollr:preferences')")
        assert stored["scrollr:preferences"]["symbols"] == ["MSFT"]


def test_the_options_page_offers_every_team_of_a_league_as_favourite(playwright, trades, start_relay):
    relay = start_relay(dashboard_relay_env(trades))  # no game in the feed
    with extension_browser(playwright, relay.url) as (context, extension_id):
        options = context.new_page()
        options.goto(f"chrome-extension://{extension_id}/options.html")
        leagues = options.get_by_test_id("sports-settings")
        nfl = leagues.locator("li", has=options.locator(".symbol", has_text="NFL")).get_by_label(
            "Favourite team"
        )
        expect(nfl.locator("option")).to_have_count(33)  # "None" and the 32 teams
        nfl.select_option(label="Kansas City Chiefs")
        wait_until(
            lambda: (
                options.evaluate("chrome.storage.sync.get('scrollr:preferences')")["scrollr:preferences"][
                    "favouriteTeams"
                ]
                == {"NFL": "KC"}
            ),
            what="the favourite saved",
        )


def test_an_unreachable_api_origin_is_reported_in_an_open_popup(playwright, trades, start_relay):
    relay = start_relay(dashboard_relay_env(trades))
    with extension_browser(playwright, relay.url) as (context, extension_id):
        popup = open_popup(context, extension_id)
        expect_status(popup, "connected")
        nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        options = context.new_page()
        options.goto(f"chrome-extension://{extension_id}/options.html")
        options.get_by_label("API origin").fill(nowhere)
        options.get_by_role("button", name="Save").click()
        note = popup.get_by_test_id("popup-note")
        # The open popup follows the change at once: no data from the old origin, its new address.
        expect(note).to_have_text(f"Connecting to {nowhere}…", timeout=5_000)
        expect(popup.locator("tr[data-symbol]")).to_have_count(0)
        # After a bounded time it says so, and what to do, in plain words.
        expect(note).to_contain_text(f"Can't reach {nowhere}. Check in Settings", timeout=30_000)
        assert "ALLOWED_ORIGINS" not in note.inner_text()
        assert axe_violations(popup) == []

"""The dashboard as its users know it, in real Chromium over the real path (Postgres → emitter →
relay): liveness that a frozen relay can't fake, preferences that choose what streams and persist,
re-subscribing without a gap or a stale row, reduced motion, keyboard settings, a phone layout, and
no axe-core violations. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import (
    ARTIFACTS,
    applied_ids,
    dashboard_relay_env,
    expect_price,
    expect_status,
    record_applied,
)
from tests.support.pg import cdc_env, execute, insert_trade
from tests.support.procs import wait_until

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def insert_game(
    url: str, league: str, state: str, home: tuple[str, str], away: tuple[str, str], score=(0, 0)
) -> int:
    rows = execute(
        url,
        "INSERT INTO games (league, sport, external_game_id, home_team_code, home_team_name, away_team_code, "
        "away_team_name, home_team_score, away_team_score, state, short_detail, start_time) "
        "VALUES (%s, 'x', %s, %s, %s, %s, %s, %s, %s, %s, %s, now() + interval '1 hour') RETURNING id",
        (
            league,
            f"{league}-{home[0]}",
            *home,
            *away,
            *score,
            state,
            "Final" if state == "post" else "Q2 5:00",
        ),
    )
    return int(rows[0][0])


def set_price(url: str, symbol: str, price: str) -> None:
    execute(url, "UPDATE trades SET price = %s WHERE symbol = %s", (price, symbol))


def shown_symbols(page: Page) -> list[str]:
    return page.eval_on_selector_all("tr[data-symbol]", "rows => rows.map((r) => r.dataset.symbol)")


@pytest.fixture
def live_path(database_url, start_relay, start_cdc):
    """Trades and games in Postgres, a relay with a 1 s heartbeat, and the emitter feeding it."""
    for symbol in ("AAPL", "MSFT", "NVDA"):
        insert_trade(database_url, symbol, "100.00")
    insert_game(database_url, "NFL", "in", ("KC", "Kansas City Chiefs"), ("BUF", "Buffalo Bills"), (14, 10))
    insert_game(
        database_url, "NFL", "post", ("DAL", "Dallas Cowboys"), ("PHI", "Philadelphia Eagles"), (20, 27)
    )
    insert_game(database_url, "NBA", "in", ("BOS", "Boston Celtics"), ("MIA", "Miami Heat"), (50, 48))
    relay = start_relay(dashboard_relay_env(database_url))
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    return database_url, relay


def open_tabs(browser, relay, count=2):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pages = [context.new_page() for _ in range(count)]
    for page in pages:
        page.goto(relay.url)
        expect_status(page, "connected")
        expect_price(page, "NVDA", "100.00")
    return context, pages


def test_a_frozen_relay_is_not_shown_as_live_and_comes_back_with_nothing_lost(browser, live_path):
    database_url, relay = live_path
    context, (page,) = open_tabs(browser, relay, 1)
    try:
        set_price(database_url, "AAPL", "101.00")
        expect_price(page, "AAPL", "101.00")
        record_applied(page)
        os.kill(relay.proc.pid, signal.SIGSTOP)  # the socket stays open; nothing more comes through it
        try:
            # The heartbeat is 1 s: Delayed after 2 silent heartbeats, given up after 2.5.
            expect_status(page, "delayed", timeout_ms=6_000)
            expect(page.get_by_test_id("freshness")).to_contain_text("Showing data from")
            expect_status(page, "reconnecting", timeout_ms=6_000)
            expect_price(page, "AAPL", "101.00")  # the last data stays on screen
            set_price(database_url, "MSFT", "102.00")  # committed while the relay is frozen
            seen = []
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:  # watch the label through several failed attempts
                status = page.get_attribute("[data-testid=status]", "data-status")
                if not seen or seen[-1] != status:
                    seen.append(status)
                page.wait_for_timeout(100)
            assert seen == ["reconnecting"], f"the label flapped: {seen}"
        finally:
            os.kill(relay.proc.pid, signal.SIGCONT)
        expect_status(page, "connected", timeout_ms=30_000)
        expect_price(page, "MSFT", "102.00")
        expect(page.get_by_test_id("freshness")).to_have_count(0)
        applied = applied_ids(page)
        assert applied, "the change committed while frozen was applied"
        assert len(applied) == len(set(applied)), "an event was applied twice"
    finally:
        context.close()


def test_a_frozen_relay_on_the_default_heartbeat_is_shown_delayed_within_20_s(
    browser, database_url, start_relay
):
    insert_trade(database_url, "NVDA", "100.00")
    env = dashboard_relay_env(database_url)
    del env["SSE_HEARTBEAT_SECONDS"]  # the default, as deployed
    relay = start_relay(env)
    context, (page,) = open_tabs(browser, relay, 1)
    try:
        os.kill(relay.proc.pid, signal.SIGSTOP)
        frozen_at = time.monotonic()
        try:
            # The last sign of life came at most one heartbeat (5 s) before the freeze.
            expect_status(page, "delayed", timeout_ms=15_000)
            print(f"Delayed {time.monotonic() - frozen_at:.1f} s after SIGSTOP")
        finally:
            os.kill(relay.proc.pid, signal.SIGCONT)
        expect_status(page, "connected", timeout_ms=30_000)
    finally:
        context.close()


def test_a_relay_cut_off_from_its_bus_is_shown_as_delayed_with_the_data_age(
    browser, database_url, start_relay, start_cdc, fresh_redis
):
    insert_trade(database_url, "AAPL", "100.00")
    env = dashboard_relay_env(database_url, REDIS_URL=fresh_redis.url, BUS_OUTAGE_GRACE_SECONDS="600")
    relay = start_relay(env)
    start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(relay.url)
        set_price(database_url, "AAPL", "101.00")
        expect_price(page, "AAPL", "101.00")
        expect_status(page, "connected")
        fresh_redis.stop()  # the stream stays open (heartbeats), but no change can come through it
        expect_status(page, "delayed", timeout_ms=30_000)
        expect(page.get_by_test_id("status")).to_have_text("Delayed")
        expect(page.get_by_test_id("freshness")).to_contain_text("Showing data from")
        set_price(database_url, "AAPL", "102.00")  # committed while the relay can't publish it
        fresh_redis.start()  # back empty: the stream says reset, the page reloads its snapshot
        expect_status(page, "connected", timeout_ms=30_000)
        expect_price(page, "AAPL", "102.00")
        expect(page.get_by_test_id("freshness")).to_have_count(0)
    finally:
        context.close()


def test_reduced_motion_stops_the_pulse_and_the_flashes(browser, live_path):
    database_url, relay = live_path
    animation = "(sel) => getComputedStyle(document.querySelector(sel)).animationName"
    for motion, pulse in (("no-preference", "pulse"), ("reduce", "none")):
        context = browser.new_context(reduced_motion=motion)
        page = context.new_page()
        try:
            page.goto(relay.url)
            expect_status(page, "connected")
            assert page.evaluate(animation, ".status .dot") == pulse
            set_price(database_url, "NVDA", "99.00" if motion == "reduce" else "98.00")
            page.wait_for_selector('tr[data-symbol="NVDA"] .flash')
            assert page.evaluate(animation, 'tr[data-symbol="NVDA"] .flash') == (
                "none" if motion == "reduce" else "flash-down"
            )
        finally:
            context.close()


def open_settings(page: Page, name: str) -> None:
    summary = page.locator("summary", has_text=name)
    if page.locator("details", has=summary).get_attribute("open") is None:
        summary.click()


def test_chosen_symbols_choose_what_streams_and_resubscribe_without_gap_or_stale_row(browser, live_path):
    database_url, relay = live_path
    context, (first, second) = open_tabs(browser, relay)
    try:
        open_settings(first, "Symbols settings")
        first.get_by_role("button", name="Clear all").click()
        for page in (first, second):  # every tab shows the same choices
            expect(page.get_by_test_id("markets-empty")).to_have_text(
                "No symbols selected — choose some in Symbols settings."
            )
        wait_until(
            lambda: first.evaluate("window.__scrollr.followedByOwner?.symbols") == [],
            what="the shared stream to follow no symbols",
        )
        first.get_by_label("AAPL").check()
        for page in (first, second):
            expect_price(page, "AAPL", "100.00")
            assert shown_symbols(page) == ["AAPL"]
        wait_until(
            lambda: "symbols=frozenset({'AAPL'})" in relay.log(), what="a stream filtered by the server"
        )
        set_price(database_url, "MSFT", "150.00")  # not followed: nobody shows it
        set_price(database_url, "AAPL", "110.00")
        expect_price(first, "AAPL", "110.00")
        assert shown_symbols(first) == ["AAPL"]
        first.get_by_label("MSFT").check()  # MSFT enters: from the snapshot, with its latest price
        for page in (first, second):
            expect_price(page, "MSFT", "150.00")
        set_price(database_url, "MSFT", "151.00")  # and the stream after it, with no gap
        expect_price(second, "MSFT", "151.00")
        first.get_by_label("AAPL").uncheck()  # AAPL leaves: gone, and its changes stay away
        set_price(database_url, "AAPL", "111.00")
        set_price(database_url, "MSFT", "152.00")
        for page in (first, second):
            expect_price(page, "MSFT", "152.00")
            assert shown_symbols(page) == ["MSFT"]

        # One stream for the union of what the tabs show; a closed tab's rows stop being followed.
        def followed():
            return first.evaluate("window.__scrollr.followedByOwner?.symbols")

        second.evaluate("window.__scrollr.sendInterest({symbols: ['NVDA'], leagues: null})")
        wait_until(lambda: followed() == ["MSFT", "NVDA"], what="the union of both tabs")
        second.close()
        first.get_by_label("AAPL").check()  # any interest makes the worker look for closed tabs
        wait_until(lambda: followed() == ["AAPL", "MSFT"], what="the closed tab's NVDA dropped")
    finally:
        context.close()


def test_a_game_card_flashes_the_score_that_changed_and_shows_a_scheduled_start(browser, live_path):
    database_url, relay = live_path
    context, (page,) = open_tabs(browser, relay, 1)
    try:
        card = page.locator("article.game", has_text="Boston Celtics")
        execute(database_url, "UPDATE games SET short_detail = 'Q2 4:10' WHERE home_team_code = 'BOS'")
        expect(card.locator("header .detail")).to_have_text("Q2 4:10")
        expect(card.locator(".flash")).to_have_count(0)  # the clock ticked: nothing flashes
        execute(database_url, "UPDATE games SET home_team_score = 52 WHERE home_team_code = 'BOS'")
        expect(card.locator("[data-side=home] .score")).to_have_text("52")
        expect(card.locator("[data-side=home] .flash.flash-up")).to_have_count(1)
        expect(card.locator("[data-side=away] .flash")).to_have_count(0)
        game = insert_game(
            database_url, "NHL", "pre", ("TOR", "Toronto Maple Leafs"), ("NYR", "New York Rangers")
        )
        scheduled = page.locator(f'article[data-game-id="{game}"]')
        expect(scheduled.locator("header .detail")).to_have_text(
            re.compile(r"^(Today|Tomorrow) \d{1,2}:\d\d [AP]M$")
        )
        expect(scheduled.locator(".score")).to_have_count(0)  # not "0-0"
    finally:
        context.close()


def test_league_and_game_choices_apply_and_persist(browser, live_path):
    _, relay = live_path
    context, (first, second) = open_tabs(browser, relay)
    try:
        expect(first.locator("article.game")).to_have_count(3)
        open_settings(first, "Leagues settings")
        first.get_by_label("NBA National Basketball Association").uncheck()
        expect(first.locator("article.game")).to_have_count(2)
        expect(first.locator("article.game .team.winner .score")).to_have_text(["27 (winner)"])
        # A favourite team's game comes first, starred, even a final one.
        nfl = first.get_by_test_id("sports-settings").locator("li", has_text="National Football League")
        nfl.get_by_label("Favourite team").select_option("PHI")
        expect(first.locator("article.game").first).to_have_attribute(
            "aria-label", "Philadelphia Eagles at Dallas Cowboys"
        )
        expect(first.locator("article.game").first.locator(".favourite")).to_have_count(1)
        first.get_by_label("Show final games").uncheck()
        expect(first.locator("article.game")).to_have_count(1)
        wait_until(lambda: "leagues=frozenset({" in relay.log(), what="a stream filtered by league")
        open_settings(first, "Symbols settings")
        first.get_by_label("NVDA").uncheck()
        # Persisted: a reload comes back with the same choices.
        second.reload()
        expect_status(second, "connected")
        expect_price(second, "MSFT", "100.00")
        assert shown_symbols(second) == ["AAPL", "MSFT"]
        expect(second.locator("article.game")).to_have_count(1)
        first.get_by_role("button", name="Losers").click()
        expect(first.get_by_test_id("markets-empty")).to_have_text("No losers right now.")
        ARTIFACTS.mkdir(exist_ok=True)
        first.screenshot(path=str(ARTIFACTS / "dashboard-settings.png"), full_page=True)
    finally:
        context.close()


def test_settings_work_from_the_keyboard(browser, live_path):
    _, relay = live_path
    context, (page,) = open_tabs(browser, relay, 1)
    try:
        for _ in range(40):  # Tab through the page to the symbol settings
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent").startswith("Symbols settings"):
                break
        else:
            pytest.fail("the symbol settings can't be reached with Tab")
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        page.keyboard.type("nvda")  # the search box
        for _ in range(10):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.type") == "checkbox":
                break
        page.keyboard.press("Space")  # NVDA off
        expect(page.locator('tr[data-symbol="NVDA"]')).to_have_count(0)
        expect(page.locator('tr[data-symbol="AAPL"]')).to_have_count(1)
    finally:
        context.close()


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is. axe goes in through the DevTools protocol, which the
    page's CSP (script-src 'self', extension pages included) doesn't govern."""
    page.evaluate(AXE.read_text())
    violations: list[dict] = page.evaluate(
        "axe.run(document, {resultTypes: ['violations']}).then((r) => r.violations.map("
        "(v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5)})))"
    )
    return violations


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_the_dashboard_has_no_axe_violations_and_fits_a_phone(browser, live_path, width):
    database_url, relay = live_path
    # The catalog's longest name and the widest numbers must fit a phone, not widen the table.
    insert_trade(database_url, "BRK.B", "450.00")
    insert_trade(database_url, "BTC-USD", "101916.18")
    execute(
        database_url,
        "UPDATE trades SET previous_close = 97234.10, price_change = 4682.08, percentage_change = 4.82 "
        "WHERE symbol = 'BTC-USD'",
    )
    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    try:
        page.goto(relay.url)
        expect_status(page, "connected")
        expect_price(page, "NVDA", "100.00")
        if width < 700:
            # Markets and games are tabs: the games are one tap away, not past every row.
            expect(page.get_by_test_id("games")).to_be_hidden()
            page.get_by_role("button", name="Games (3)").click()
            expect(page.get_by_test_id("games")).to_be_visible()
            expect(page.get_by_test_id("markets")).to_be_hidden()
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            page.get_by_role("button", name="Markets (5)").click()
            expect_price(page, "BTC-USD", "101916.18")
            table = page.locator("table.trades").bounding_box()
            panel = page.get_by_test_id("markets").bounding_box()
            assert table is not None and panel is not None
            assert table["x"] + table["width"] <= panel["x"] + panel["width"], "the table overflows its panel"
            # Team names aren't cut off: each name's box holds all of its text.
            assert page.eval_on_selector_all(
                ".team .name", "els => els.every((e) => e.scrollWidth <= e.clientWidth)"
            )
        else:
            open_settings(page, "Symbols settings")
            open_settings(page, "Leagues settings")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(
            path=str(ARTIFACTS / f"dashboard-{'phone' if width < 700 else 'desktop'}.png"), full_page=True
        )
        assert axe_violations(page) == []
    finally:
        context.close()


def test_on_a_phone_the_first_price_comes_soon_and_settings_need_no_inner_scrolling(browser, live_path):
    _, relay = live_path
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(relay.url)
        expect_price(page, "AAPL", "100.00")
        first_price = page.locator("tr[data-symbol] [data-field=price]").first.bounding_box()
        assert first_price is not None
        print(f"first price at {first_price['y']:.0f} px")
        page.screenshot(path=str(ARTIFACTS / "phone-first-price.png"))
        assert first_price["y"] <= 200, f"{first_price['y']:.0f} px of controls before the first price"
        # The symbol picker: grouped by category under headings, and no list scrolls inside itself.
        open_settings(page, "Symbols settings")
        picker = page.get_by_test_id("finance-settings")
        expect(picker.get_by_role("heading", name="Technology")).to_be_visible()
        expect(picker.get_by_role("heading", name="Crypto")).to_be_visible()
        assert (
            picker.locator("section", has=page.get_by_role("heading", name="Crypto"))
            .get_by_label("BTC-USD")
            .is_visible()
        )
        page.get_by_role("button", name=re.compile(r"^Games")).click()
        open_settings(page, "Leagues settings")
        assert page.eval_on_selector_all(
            ".choices",
            "lists => lists.every((l) => l.scrollHeight <= l.clientHeight && getComputedStyle(l).overflowY !== 'auto')",
        )
        assert axe_violations(page) == []
    finally:
        context.close()


def test_rows_and_game_cards_link_to_their_pages_and_logos_wait_behind_their_badge(browser, live_path):
    database_url, relay = live_path
    context = browser.new_context()
    # The logo CDN answers slowly: until its image has loaded, the team's code shows, never a broken image.
    held = []

    def hold(route):
        held.append(route)

    context.route("https://a.espncdn.com/**", hold)
    execute(
        database_url,
        "UPDATE games SET link = 'https://www.espn.com/nfl/game/_/gameId/1', "
        "home_team_logo = 'https://a.espncdn.com/i/teamlogos/nfl/500/kc.png' WHERE home_team_code = 'KC'",
    )
    page = context.new_page()
    try:
        page.goto(relay.url)
        expect_price(page, "AAPL", "100.00")
        symbol = page.locator('tr[data-symbol="AAPL"] th a')
        expect(symbol).to_have_attribute("href", "https://finance.yahoo.com/quote/AAPL")
        card = page.locator("article.game", has_text="Kansas City Chiefs")
        expect(card.get_by_role("link")).to_have_attribute("href", "https://www.espn.com/nfl/game/_/gameId/1")
        home = card.locator('[data-side="home"]')
        expect(home.locator(".badge")).to_have_text("KC")
        expect(home.locator("[data-logo]")).to_have_attribute("data-logo", "loading")
        assert home.locator("img").evaluate("(img) => getComputedStyle(img).opacity") == "0"
        wait_until(lambda: held, what="the logo requested")
        png = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "popup.png").read_bytes()
        held[0].fulfill(body=png, content_type="image/png")
        expect(home.locator("[data-logo]")).to_have_attribute("data-logo", "loaded")
        expect(home.locator(".badge")).to_have_count(0)
    finally:
        context.close()

"""The dashboard in real Chromium: one shared stream for every tab, live updates, outages, reset."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.browser import (
    ARTIFACTS,
    WEB_DIST,
    applied_ids,
    dashboard_relay_env,
    expect_not_live,
    expect_price,
    expect_status,
    record_applied,
)
from tests.support.pg import execute, insert_trade
from tests.support.sequin import batch, post, trade_message

pytestmark = pytest.mark.browser


def price_cell(page, symbol):
    return page.locator(f'tr[data-symbol="{symbol}"] [data-field="price"]')


def wait_price(page, symbol, price, timeout=20_000):
    expect_price(page, symbol, price, timeout)


def status(page):
    return page.get_attribute("[data-testid=status]", "data-status")


def update(trade_id, symbol, price):
    message = trade_message(symbol, price, row_id=trade_id)
    return message


@pytest.fixture
def seeded(database_url):
    ids = {symbol: insert_trade(database_url, symbol, "100.00") for symbol in ("AAPL", "NVDA", "MSFT")}
    return database_url, ids


def open_tabs(browser, url, count):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pages = [context.new_page() for _ in range(count)]
    for page in pages:
        page.goto(url)
    for page in pages:
        page.wait_for_selector("[data-status=connected]", timeout=20_000)
    return context, pages


def test_three_tabs_share_one_stream_and_show_the_same_live_updates(browser, seeded, start_relay):
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context, pages = open_tabs(browser, relay.url, 3)
    try:
        for page in pages:
            wait_price(page, "NVDA", "100.00")
        # Every tab is connected and shows the snapshot: had each opened its own, there would be 3.
        assert relay.metric("scrollr_open_streams") == 1
        assert post(relay.url, batch(update(ids["NVDA"], "NVDA", "187.34"))).status_code == 200
        for page in pages:
            wait_price(page, "NVDA", "187.34")  # no reload: the same page objects
        assert relay.metric("scrollr_open_streams") == 1
        ARTIFACTS.mkdir(exist_ok=True)
        pages[0].screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
    finally:
        context.close()


def test_a_tab_opened_late_gets_the_current_state_at_once(browser, seeded, start_relay):
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context, pages = open_tabs(browser, relay.url, 1)
    try:
        post(relay.url, batch(update(ids["AAPL"], "AAPL", "231.40")))
        wait_price(pages[0], "AAPL", "231.40")
        late = context.new_page()
        late.goto(relay.url)
        wait_price(late, "AAPL", "231.40", timeout=5_000)
        assert relay.metric("scrollr_open_streams") == 1
    finally:
        context.close()


def test_relay_outage_keeps_data_shows_status_and_resumes_without_gaps(
    browser, seeded, start_relay, redis_server
):
    database_url, ids = seeded
    env = dashboard_relay_env(database_url, REDIS_URL=redis_server.url, STREAM_KEY="events:dashboard-outage")
    served = start_relay(env)
    publisher = start_relay(env)
    context, pages = open_tabs(browser, served.url, 2)
    try:
        post(publisher.url, batch(update(ids["MSFT"], "MSFT", "101.00")))
        for page in pages:
            wait_price(page, "MSFT", "101.00")
            record_applied(page)
        served.kill()
        for page in pages:
            expect_not_live(page)
            assert price_cell(page, "MSFT").text_content() == "$101.00"  # last data kept
        sent = []
        for n, price in enumerate(("102.00", "103.00", "104.00")):
            response = post(
                publisher.url,
                batch(update(ids["MSFT"], "MSFT", price), update(ids["AAPL"], "AAPL", f"2{n}0.00")),
            )
            sent.append(response.json()["cursor"])
        served.start()
        for page in pages:
            page.wait_for_selector("[data-status=connected]", timeout=60_000)
            wait_price(page, "MSFT", "104.00")
            wait_price(page, "AAPL", "220.00")
            applied = applied_ids(page)
            assert len(applied) == len(set(applied)), "an event was applied twice"
            assert sent[-1] in applied
    finally:
        context.close()


def test_reset_refetches_the_snapshot(browser, seeded, start_relay, fresh_redis):
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url, REDIS_URL=fresh_redis.url))
    context, pages = open_tabs(browser, relay.url, 1)
    try:
        wait_price(pages[0], "AAPL", "100.00")
        # A change the stream never carries: only a fresh snapshot can show it.
        execute(database_url, "UPDATE trades SET price = 555.55 WHERE id = %s", (ids["AAPL"],))
        fresh_redis.restart()  # the bus loses its history: open streams get `reset`
        wait_price(pages[0], "AAPL", "555.55", timeout=30_000)
        pages[0].wait_for_selector("[data-status=connected]", timeout=30_000)
    finally:
        context.close()


def test_without_shared_worker_one_tab_elected_by_web_locks_holds_the_only_stream(
    browser, seeded, start_relay
):
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context()
    context.add_init_script("delete window.SharedWorker")
    try:
        pages = [context.new_page() for _ in range(3)]
        for page in pages:
            page.goto(relay.url)
        for page in pages:
            page.wait_for_selector("[data-status=connected]", timeout=20_000)
            wait_price(page, "AAPL", "100.00")
        assert pages[0].evaluate("typeof SharedWorker") == "undefined"
        assert relay.metric("scrollr_open_streams") == 1
        post(relay.url, batch(update(ids["AAPL"], "AAPL", "123.45")))
        for page in pages:
            wait_price(page, "AAPL", "123.45")
    finally:
        context.close()


def test_a_tab_and_a_worker_of_different_releases_notice_and_the_tab_streams_by_itself(
    browser, seeded, start_relay
):
    """After a deploy, /sse-worker.js is the new release while an open tab is the old one."""
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    worker_js = (WEB_DIST / "sse-worker.js").read_text()
    (build,) = set(re.findall(r'"([0-9a-f]{12})"', worker_js))
    context = browser.new_context()
    # Every worker this context starts runs a newer release's code than its tabs.
    newer = worker_js.replace(f'"{build}"', '"0123456789ab"')
    context.route("**/sse-worker.js", lambda route: route.fulfill(body=newer, content_type="text/javascript"))
    try:
        page = context.new_page()
        page.goto(relay.url)
        reply = page.evaluate(
            """() => new Promise((resolve) => {
                const worker = new SharedWorker('/sse-worker.js', { name: 'scrollr-realtime@an-older-release' });
                worker.port.onmessage = (event) => resolve(event.data);
                worker.port.start();
            })"""
        )
        assert reply == {"type": "mismatch", "worker": "0123456789ab"}
        # The tab fell back to streaming with its own code (Web Locks): live, and updating.
        page.wait_for_selector("[data-status=connected]", timeout=20_000)
        wait_price(page, "NVDA", "100.00")
        assert post(relay.url, batch(update(ids["NVDA"], "NVDA", "187.34"))).status_code == 200
        wait_price(page, "NVDA", "187.34")
    finally:
        context.close()


def saved_preferences(context, symbols):
    context.add_init_script(
        "localStorage.getItem('scrollr:preferences') || localStorage.setItem('scrollr:preferences', "
        f"JSON.stringify({{symbols: {symbols!r}, leagues: null}}))"
    )


def test_a_new_web_locks_leader_streams_the_tabs_filters_not_everything(browser, seeded, start_relay):
    """Without SharedWorker the first tab holds the stream; when it closes, another tab is elected
    and must ask the tabs for their filters instead of following every row."""
    database_url, _ = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context()
    context.add_init_script("delete window.SharedWorker")
    saved_preferences(context, ["NVDA"])
    try:
        leader, follower = context.new_page(), context.new_page()
        leader.goto(relay.url)
        leader.wait_for_selector("[data-status=connected]", timeout=20_000)
        follower.goto(relay.url)
        wait_price(follower, "NVDA", "100.00")
        with follower.expect_request(lambda request: "/snapshot" in request.url, timeout=20_000) as first:
            leader.close()
        assert "symbols=NVDA" in first.value.url, first.value.url
        follower.wait_for_selector("[data-status=connected]", timeout=20_000)
        wait_price(follower, "NVDA", "100.00")
    finally:
        context.close()


def test_a_relay_that_no_longer_serves_this_client_asks_for_a_reload(browser, seeded, start_relay):
    database_url, _ = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    with httpx.stream("GET", f"{relay.url}/events", timeout=10) as response:
        preamble = b""
        for chunk in response.iter_bytes():
            preamble += chunk
            if b"event: heartbeat" in preamble:
                break
    assert b'event: protocol\ndata: {"version":1,"oldest_client":1}\n\n' in preamble
    # A relay of a later release, which serves clients of protocol 2 and up only.
    newer = start_relay(dashboard_relay_env(database_url), server="next-release")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(newer.url)
        expect_status(page, "outdated")
        notice = page.get_by_test_id("notice-update")
        expect(notice).to_contain_text("A new version is available — reload")
        with page.expect_navigation():
            notice.get_by_role("button", name="reload").click()
    finally:
        context.close()


def test_a_saved_symbol_the_catalog_lacks_is_dropped_and_named_and_the_stream_goes_live(
    browser, seeded, start_relay
):
    database_url, ids = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context()
    saved_preferences(context, ["AAPL", "BAD$SYM"])  # a corrupted or older-format entry
    try:
        page = context.new_page()
        page.goto(relay.url)
        expect(page.get_by_test_id("notice-dropped")).to_contain_text("BAD$SYM")
        expect_status(page, "connected")
        wait_price(page, "AAPL", "100.00")
        stored = page.evaluate("JSON.parse(localStorage.getItem('scrollr:preferences')).symbols")
        assert stored == ["AAPL"]
        post(relay.url, batch(update(ids["AAPL"], "AAPL", "101.00")))
        wait_price(page, "AAPL", "101.00")
    finally:
        context.close()


def test_a_refused_stream_names_the_cause(browser, seeded, start_relay):
    database_url, _ = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context()
    saved_preferences(context, ["BAD$SYM"])
    # Without the catalog the saved choice can't be checked: the relay refuses it, and says why.
    context.route("**/catalog", lambda route: route.abort())
    try:
        page = context.new_page()
        page.goto(relay.url)
        expect_status(page, "error")
        expect(page.get_by_test_id("notice-problem")).to_contain_text("HTTP 400")
        expect(page.get_by_test_id("notice-problem")).to_contain_text("'BAD$SYM'")
    finally:
        context.close()


def test_a_relay_out_of_reach_is_named_after_a_bounded_time_and_the_notice_goes_when_it_answers(
    browser, seeded, start_relay
):
    database_url, _ = seeded
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(relay.url)
        expect_status(page, "connected")
        notice = page.get_by_test_id("notice-problem")
        expect(notice).to_have_count(0)
        relay.kill()
        expect_not_live(page)
        # "Reconnecting…" alone would go on for ever: 10 s (UNREACHABLE_AFTER_MS) after the attempts
        # began failing unanswered, the page names the origin it can't reach.
        expect(notice).to_contain_text(
            f"Can't reach {relay.url}. Check your network connection", timeout=40_000
        )
        relay.start()
        expect_status(page, "connected", 60_000)
        expect(notice).to_have_count(0)
    finally:
        context.close()


def test_favourite_teams_come_from_the_catalog_not_from_todays_games(browser, seeded, start_relay):
    database_url, _ = seeded  # no game at all in the feed
    relay = start_relay(dashboard_relay_env(database_url))
    page = browser.new_page()
    try:
        page.goto(relay.url)
        settings = page.get_by_test_id("sports-settings")
        settings.locator("summary").click()
        for league, team in (("MLB", "New York Yankees"), ("College Football", "Ohio State Buckeyes")):
            choice = settings.locator("li", has=page.locator(".symbol", has_text=league)).get_by_label(
                "Favourite team"
            )
            choice.select_option(label=team)
        stored = page.evaluate("JSON.parse(localStorage.getItem('scrollr:preferences')).favouriteTeams")
        assert stored == {"MLB": "NYY", "College Football": "OSU"}
    finally:
        page.close()

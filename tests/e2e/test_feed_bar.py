"""The feed bar in real Chromium: the unpacked extension's content script on pages served by the test
from 127.0.0.1, fed by the background service worker's one stream (issue 21)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.test_product import axe_violations, insert_game
from tests.support.browser import ARTIFACTS, dollars, expect_status
from tests.support.cdp import Tab, cdp_browser
from tests.support.extension import build_extension, extension_browser, open_popup
from tests.support.pages import page_server
from tests.support.pg import execute, insert_trade
from tests.support.procs import RelayProcess, free_port, wait_until
from tests.support.sequin import batch, game_message, post, trade_message

pytestmark = pytest.mark.browser
SYMBOLS = ("AAPL", "MSFT", "NVDA")
HOST = "scrollr-feed-bar"


@pytest.fixture
def ids(database_url):
    return {symbol: insert_trade(database_url, symbol, "100.00") for symbol in SYMBOLS}


@contextmanager
def bar_browser(
    playwright, start_relay, database_url
) -> Iterator[tuple[RelayProcess, str, BrowserContext, str]]:
    """A relay on the test's database, a server of ordinary pages, and Chromium with the extension
    built for that relay; yields the relay, the pages' origin, the context and the extension id."""
    relay = start_relay({"DATABASE_URL": database_url}, port=free_port())
    with page_server() as site, extension_browser(playwright, relay.url) as (context, extension_id):
        yield relay, site, context, extension_id


def bar(page: Page):
    return page.locator(f"{HOST} [data-testid=feed-bar]")


def bar_price(page: Page, symbol: str):
    return page.locator(f'{HOST} [data-testid=bar-items] [data-symbol="{symbol}"] [data-field="price"]')


def expect_bar_price(page: Page, symbol: str, price: str, timeout_ms: float = 30_000) -> None:
    expect(bar_price(page, symbol)).to_have_text(dollars(price), timeout=timeout_ms)


def host_box(page: Page) -> dict:
    return page.evaluate(
        f"(() => {{ const r = document.querySelector('{HOST}').getBoundingClientRect();"
        " return {top: r.top, bottom: r.bottom, left: r.left, width: r.width, height: r.height,"
        " viewportWidth: document.documentElement.clientWidth, viewportHeight: window.innerHeight}; })()"
    )


def focused_text(page: Page) -> str:
    """The text of the element with keyboard focus, inside the bar's Shadow Root too."""
    return page.evaluate(
        "(() => { let e = document.activeElement;"
        " while (e?.shadowRoot?.activeElement) e = e.shadowRoot.activeElement; return e?.textContent ?? ''; })()"
    )


def bar_option(page: Page, name: str):
    """A toggle behind the bar's Options button, opened if it isn't."""
    options = bar(page).get_by_role("button", name="Options")
    if options.get_attribute("aria-expanded") == "false":
        options.click()
    return bar(page).get_by_role("group", name="Feed bar options").get_by_role("button", name=name)


def streams_opened(relay) -> float:
    lines = httpx.get(f"{relay.url}/metrics", timeout=5).text.splitlines()
    return sum(float(line.split()[-1]) for line in lines if line.startswith("scrollr_streams_opened_total{"))


def set_price(relay, ids, symbol: str, price: str) -> None:
    assert post(relay.url, batch(trade_message(symbol, price, row_id=ids[symbol]))).status_code == 200


def open_page(context: BrowserContext, url: str) -> Page:
    page = context.new_page()
    page.goto(url)
    return page


def test_on_a_hostile_page_with_a_strict_csp_the_bar_spans_its_edge_and_prices_move(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/hostile")
        expect_bar_price(page, "NVDA", "100.00")
        # The policy is in force (the page's own inline style was blocked) and the bar shows anyway.
        assert page.locator("#first").evaluate("(e) => getComputedStyle(e).color") != "rgb(255, 0, 0)"
        box = host_box(page)
        assert (box["top"], box["left"], box["width"]) == (0, 0, box["viewportWidth"])
        assert box["height"] == 56
        # `* { all: unset !important }` didn't reach into the bar, and the bar's styles didn't leak out.
        inside = bar(page).evaluate(
            "(e) => { const s = getComputedStyle(e); return [s.display, s.backgroundColor, s.fontSize]; }"
        )
        assert inside == ["flex", "rgb(23, 27, 33)", "14px"]
        page_button = page.locator("#page-button").evaluate(
            "(e) => { const s = getComputedStyle(e); return [s.display, s.backgroundColor]; }"
        )
        assert page_button == ["inline", "rgba(0, 0, 0, 0)"]
        for price in ("187.34", "187.90"):
            set_price(relay, ids, "NVDA", price)
            expect_bar_price(page, "NVDA", price)
        # The item reads as on the dashboard: symbol, dollars, signed change with its arrow.
        item = page.locator(f'{HOST} [data-testid=bar-items] [data-symbol="NVDA"]')
        expect(item).to_contain_text("NVDA$187.90")
        # The edge, chosen on the bar, is kept and applied to every open page.
        other = open_page(context, f"{site}/plain")
        expect(bar(other)).to_be_visible()
        bar_option(page, "Move to bottom").click()
        for shown in (page, other):
            wait_until(
                lambda p=shown: host_box(p)["bottom"] == host_box(p)["viewportHeight"],
                what="the bar at the bottom",
            )
        box = host_box(page)
        assert (box["left"], box["width"]) == (0, box["viewportWidth"])


def test_styles_on_the_pages_root_or_on_the_bars_element_dont_move_or_hide_it(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, _):
        page = open_page(context, f"{site}/trapping")
        expect_bar_price(page, "NVDA", "100.00")
        page.evaluate("window.scrollTo(0, 800)")
        wait_until(lambda: page.evaluate("window.scrollY") == 800, what="the page scrolled")
        box = host_box(page)
        assert (box["top"], box["left"], box["width"], box["height"]) == (0, 0, box["viewportWidth"], 56)
        bar_option(page, "Move to bottom").click()
        wait_until(lambda: host_box(page)["bottom"] == host_box(page)["viewportHeight"], what="the bottom")


def popup_for(context: BrowserContext, page: Page) -> Page:
    """The popup, about `page`: opened in a window of its own while `page` is its window's active tab
    (a test can't click the toolbar button)."""
    page.bring_to_front()
    worker = context.service_workers[0]
    with context.expect_page() as opened:
        worker.evaluate("chrome.windows.create({url: 'popup.html', type: 'popup'})")
    popup = opened.value
    popup.wait_for_load_state()
    return popup


def test_three_pages_with_the_bar_and_the_popup_make_one_stream(playwright, database_url, ids, start_relay):
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, extension_id):
        pages = [open_page(context, f"{site}/plain/{n}") for n in range(3)]
        popup = open_popup(context, extension_id)
        expect_status(popup, "connected")
        set_price(relay, ids, "MSFT", "321.00")
        for page in pages:
            expect_bar_price(page, "MSFT", "321.00")
            expect(page.locator(f"{HOST} [data-testid=status]")).to_have_attribute("data-status", "connected")
        assert relay.metric("scrollr_open_streams") == 1
        assert streams_opened(relay) == 1


def test_after_the_service_worker_is_stopped_the_bar_moves_again(playwright, database_url, ids, start_relay):
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        expect_bar_price(page, "NVDA", "100.00")
        assert streams_opened(relay) == 1
        cdp = context.new_cdp_session(page)
        cdp.send("ServiceWorker.enable")
        cdp.send("ServiceWorker.stopAllWorkers")
        # The bar's port dropped with the worker; reconnecting it started a new worker, whose stream
        # resumed from the stored cursor.
        wait_until(lambda: streams_opened(relay) >= 2, timeout=30, what="a new worker's stream")
        set_price(relay, ids, "NVDA", "301.00")
        expect_bar_price(page, "NVDA", "301.00", timeout_ms=30_000)
        expect(page.locator(f"{HOST} [data-testid=status]")).to_have_attribute("data-status", "connected")


def shown_price(tab: Tab, symbol: str) -> str | None:
    return tab.evaluate(
        f"document.querySelector('{HOST}')?.shadowRoot?.querySelector("
        f"'[data-testid=bar-items] [data-symbol=\"{symbol}\"] [data-field=price]')?.textContent ?? null"
    )


def test_a_bar_in_a_background_tab_renders_only_once_shown_again(database_url, ids, start_relay):
    relay = start_relay({"DATABASE_URL": database_url}, port=free_port())
    # Not Playwright: it keeps every page it drives visible (tests/support/cdp.py).
    with page_server() as site, cdp_browser(build_extension(relay.url)) as browser:
        behind = browser.open(f"{site}/plain")
        wait_until(lambda: shown_price(behind, "NVDA") == dollars("100.00"), what="the first bar")
        front = browser.open(f"{site}/plain/2")  # a new tab in the same window, in front
        wait_until(lambda: behind.evaluate("document.visibilityState") == "hidden", what="the tab hidden")
        behind.evaluate(
            f"window.barMutations = 0; new MutationObserver((records) => window.barMutations += records.length)"
            f".observe(document.querySelector('{HOST}').shadowRoot,"
            " {subtree: true, childList: true, characterData: true, attributes: true})"
        )
        set_price(relay, ids, "NVDA", "150.00")
        wait_until(lambda: shown_price(front, "NVDA") == dollars("150.00"), what="the bar in front")
        # The tab behind had the same change posted to it: for a second more, its bar stays as it was
        # (Chromium runs no animation frame in a hidden tab; the bar asks for none either).
        until = time.monotonic() + 1
        while time.monotonic() < until:
            assert shown_price(behind, "NVDA") == dollars("100.00")
            assert behind.evaluate("window.barMutations") == 0
        # Shown again, it renders what it missed, with no further change to prompt it.
        behind.bring_to_front()
        wait_until(lambda: behind.evaluate("document.visibilityState") == "visible", what="the tab shown")
        wait_until(lambda: shown_price(behind, "NVDA") == dollars("150.00"), what="the missed change")


def test_allow_and_deny_lists_and_the_this_site_switch_hide_and_show_the_bar(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, extension_id):
        local = open_page(context, f"{site}/plain")  # 127.0.0.1
        named = open_page(context, site.replace("127.0.0.1", "localhost") + "/plain")
        for page in (local, named):
            expect(bar(page)).to_be_visible()
        options = open_page(context, f"chrome-extension://{extension_id}/options.html")
        # The extension's icons are real images of their sizes, named in the manifest.
        icons = options.evaluate(
            "Promise.all(Object.entries(chrome.runtime.getManifest().icons).map(async ([size, path]) =>"
            " { const image = await createImageBitmap(await (await fetch(path)).blob());"
            " return [Number(size), image.width, image.height]; }))"
        )
        assert icons == [[size, size, size] for size in (16, 32, 48, 128)]
        deny = options.get_by_label("Never on")
        # The options page, in a tab of its own, isn't held to the popup's 360 px.
        assert (
            options.evaluate("document.body.getBoundingClientRect().width") == options.viewport_size["width"]
        )
        # A list with a mistake isn't saved, and says which entry is wrong.
        deny.fill("127.0.0.1\nnot a site/at all")
        options.get_by_role("button", name="Apply site lists").click()
        expect(options.get_by_test_id("sites-message")).to_contain_text("Deny list: “site/at” is not a site")
        expect(bar(local)).to_be_visible()
        deny.fill("127.0.0.1")
        options.get_by_role("button", name="Apply site lists").click()
        expect(options.get_by_test_id("sites-message")).to_have_text("Saved.")
        expect(local.locator(HOST)).to_have_count(0)
        expect(bar(named)).to_be_visible()
        # An allow list shows the bar only on its sites; a deny still wins over it.
        options.get_by_label("Allow the bar on").fill("127.0.0.1\nexample.org")
        options.get_by_role("button", name="Apply site lists").click()
        expect(named.locator(HOST)).to_have_count(0)
        expect(local.locator(HOST)).to_have_count(0)
        # The popup's "this site" switch, over the page on 127.0.0.1, shows the bar there again.
        popup = popup_for(context, local)
        switch = popup.get_by_role("switch", name="this site")
        expect(switch).to_have_accessible_name("Show it on this site (127.0.0.1)")
        popup.set_viewport_size({"width": 360, "height": 250})  # shorter than its rows: still in reach
        wait_until(
            lambda: switch.bounding_box()["y"] + switch.bounding_box()["height"] <= 250, what="in view"
        )
        expect(switch).not_to_be_checked()
        switch.click()  # controlled by the stored settings: checked once they are written
        expect(switch).to_be_checked()
        expect(bar(local)).to_be_visible()
        expect(named.locator(HOST)).to_have_count(0)
        expect(options.get_by_label("Never on")).to_have_value("")
        switch.click()
        expect(switch).not_to_be_checked()
        expect(local.locator(HOST)).to_have_count(0)
        # The global switch hides it everywhere, whatever the lists say.
        options.get_by_label("Allow the bar on").fill("")
        options.get_by_label("Never on").fill("")
        options.get_by_role("button", name="Apply site lists").click()
        expect(bar(named)).to_be_visible()
        popup.get_by_role("switch", name="Show the feed bar on web pages").click()
        expect(named.locator(HOST)).to_have_count(0)
        expect(local.locator(HOST)).to_have_count(0)


def test_push_mode_moves_the_page_content_and_overlay_leaves_it(playwright, database_url, ids, start_relay):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, _):
        page = open_page(context, f"{site}/hostile")
        expect(bar(page)).to_be_visible()
        first = page.locator("#first")
        top = first.evaluate("(e) => e.getBoundingClientRect().top")
        bar_option(page, "Push").click()
        wait_until(
            lambda: first.evaluate("(e) => e.getBoundingClientRect().top") == top + 56,
            what="room for the bar",
        )
        assert first.evaluate("(e) => e.getBoundingClientRect().top") >= host_box(page)["bottom"]
        # At the bottom, the room moves there: the page's top is back where it was.
        bar_option(page, "Move to bottom").click()
        wait_until(
            lambda: first.evaluate("(e) => e.getBoundingClientRect().top") == top, what="the top given back"
        )
        assert page.evaluate("getComputedStyle(document.documentElement).marginBottom") == "56px"
        bar_option(page, "Push").click()
        wait_until(
            lambda: page.evaluate("getComputedStyle(document.documentElement).marginBottom") == "0px",
            what="overlay",
        )
        assert first.evaluate("(e) => e.getBoundingClientRect().top") == top
        # A page that takes the bar out has push mode's room back (the bar is unmounted, not left running).
        bar_option(page, "Push").click()
        margin = "getComputedStyle(document.documentElement).marginBottom"
        wait_until(lambda: page.evaluate(margin) == "56px", what="push again")
        page.evaluate(f"document.querySelector('{HOST}').remove()")
        wait_until(lambda: page.evaluate(margin) == "0px", what="the room given back")


def test_a_symbol_removed_in_the_options_page_leaves_every_open_bar(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, extension_id):
        pages = [open_page(context, f"{site}/plain/{n}") for n in range(3)]
        for page in pages:
            expect_bar_price(page, "AAPL", "100.00")
        options = open_page(context, f"chrome-extension://{extension_id}/options.html")
        options.get_by_label("AAPL").uncheck()
        for page in pages:
            expect(page.locator(f'{HOST} [data-symbol="AAPL"]')).to_have_count(0)
            expect(page.locator(f"{HOST} [data-testid=bar-items] [data-symbol]")).to_have_count(2)
        # The active categories and the appearance, from the options page, reach every bar at once.
        bar_options = options.get_by_test_id("bar-options")
        bar_options.get_by_label("Finance").uncheck()
        for page in pages:
            expect(bar(page).get_by_role("group", name="Feed")).to_have_count(0)  # one category: no tabs
            expect(page.locator(f"{HOST} [data-testid=bar-empty]")).to_have_text("No games right now.")
        bar_options.get_by_label("Bottom").check()
        bar_options.get_by_label("Compact").check()
        for page in pages:
            wait_until(
                lambda p=page: host_box(p)["bottom"] == host_box(p)["viewportHeight"], what="at the bottom"
            )
            expect(bar(page)).to_have_class(re.compile(r"\bdensity-compact\b"))
        bar_options.get_by_label("Show the feed bar on web pages").uncheck()
        for page in pages:
            expect(page.locator(HOST)).to_have_count(0)


def test_collapse_and_height_are_kept_bounded_and_applied_everywhere(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        other = open_page(context, f"{site}/plain/2")
        expect_bar_price(page, "AAPL", "100.00")
        page.bring_to_front()
        handle = page.locator(f"{HOST} [data-testid=bar-resize]")
        box = handle.bounding_box()
        page.mouse.move(box["x"] + 200, box["y"] + 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 200, 100, steps=4)
        page.mouse.move(box["x"] + 200, 400, steps=4)  # far past the bound
        page.mouse.up()
        wait_until(lambda: host_box(page)["height"] == 160, what="the bar at its tallest")
        stored = page.context.service_workers[0].evaluate("chrome.storage.sync.get('scrollr:bar')")
        assert stored["scrollr:bar"]["height"] == 160
        wait_until(lambda: host_box(other)["height"] == 160, what="the other page following")
        handle.focus()
        page.keyboard.press("ArrowUp")
        wait_until(lambda: host_box(page)["height"] == 152, what="a keyboard resize")
        wait_until(lambda: host_box(other)["height"] == 152, what="the key's height kept, once let go")
        collapse = bar(page).get_by_role("button", name="Collapse")
        expect(collapse).to_have_attribute("aria-expanded", "true")
        # By keyboard: Tab from the page's own controls reaches the bar's, and Enter works them.
        page.locator("#page-button").focus()
        for _ in range(10):
            page.keyboard.press("Tab")
            if focused_text(page) == "Collapse":
                break
        else:
            pytest.fail("the bar's Collapse can't be reached with Tab")
        page.keyboard.press("Enter")
        wait_until(lambda: host_box(other)["height"] == 32, what="collapsed everywhere")
        expect(page.locator(f"{HOST} [data-testid=bar-items]")).to_have_count(0)
        bar(other).get_by_role("button", name="Expand").click()
        wait_until(lambda: host_box(page)["height"] == 152, what="expanded at the kept height")
        expect(bar(other)).to_have_class(re.compile(r"\bdensity-comfort\b"))
        bar_option(page, "Compact").click()
        expect(bar(other)).to_have_class(re.compile(r"\bdensity-compact\b"))


def test_on_a_narrow_window_items_show_and_every_control_stays_on_screen(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (_relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        expect_bar_price(page, "AAPL", "100.00")
        items = bar(page).get_by_role("group", name="Finance items")
        for width in (640, 400, 320):
            page.set_viewport_size({"width": width, "height": 300})
            for name in ("Options", "Collapse"):  # glyphs below 640 px, still named by their text
                box = bar(page).get_by_role("button", name=name, exact=True).bounding_box()
                assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (name, width)
            shown = items.bounding_box()
            assert shown is not None and shown["width"] >= 30, f"no room for the items at {width} px"
            first = page.locator(
                f'{HOST} [data-testid=bar-items] [data-symbol="AAPL"] .symbol'
            ).bounding_box()
            assert first is not None and first["x"] + first["width"] <= shown["x"] + shown["width"]
        assert axe_violations(page) == []
        bar(page).get_by_role("button", name="Collapse", exact=True).click()
        expect(bar(page).get_by_role("button", name="Expand", exact=True)).to_be_visible()


def test_the_ticker_pauses_on_hover_and_focus_and_stays_still_under_reduced_motion(
    playwright, database_url, ids, start_relay
):
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        expect_bar_price(page, "AAPL", "100.00")
        bar_option(page, "Ticker").click()
        bar(page).get_by_role("button", name="Options").click()  # the items come back, ticking
        track = page.locator(f"{HOST} .track")
        play_state = "(e) => e.getAnimations().map((a) => a.playState).join()"
        wait_until(lambda: track.evaluate(play_state) == "running", what="the ticker running")
        page.locator(f"{HOST} [role=group][aria-label='Finance items']").hover()
        wait_until(lambda: track.evaluate(play_state) == "paused", what="paused under the pointer")
        page.mouse.move(5, 300)
        wait_until(lambda: track.evaluate(play_state) == "running", what="running again")
        page.locator(f"{HOST} [role=group][aria-label='Finance items']").focus()
        wait_until(lambda: track.evaluate(play_state) == "paused", what="paused with keyboard focus")
        # The copy that makes the loop seamless is hidden from assistive technology.
        expect(page.locator(f"{HOST} ul.items[aria-hidden=true]")).to_have_count(1)
        set_price(relay, ids, "AAPL", "100.50")
        expect_bar_price(page, "AAPL", "100.50")
        moving = bar_price(page, "AAPL").locator(".flash")
        expect(moving).to_have_class("flash flash-up")
        assert moving.evaluate("(e) => e.getAnimations().map((a) => a.animationName).join()") == "flash-up"
        page.emulate_media(reduced_motion="reduce")
        wait_until(lambda: track.evaluate(play_state) == "", what="no animation under reduced motion")
        set_price(relay, ids, "AAPL", "99.00")
        expect_bar_price(page, "AAPL", "99.00")
        # The price changed: the dashboard's flash, which reduced motion keeps still too.
        flash = bar_price(page, "AAPL").locator(".flash")
        expect(flash).to_have_class("flash flash-down")
        assert flash.evaluate("(e) => e.getAnimations().length") == 0


def test_sports_items_and_the_honest_status_with_the_data_age(playwright, database_url, start_relay):
    insert_trade(database_url, "AAPL", "100.00")
    live = insert_game(
        database_url, "NFL", "in", ("KC", "Kansas City Chiefs"), ("BUF", "Buffalo Bills"), (14, 10)
    )
    insert_game(database_url, "NBA", "pre", ("BOS", "Boston Celtics"), ("MIA", "Miami Heat"))
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        expect(page.locator(f"{HOST} [data-testid=status]")).to_have_attribute("data-status", "connected")
        bar(page).get_by_role("button", name="Sports").click()
        game = page.locator(f'{HOST} [data-testid=bar-items] [data-game-id="{live}"]')
        # As on the dashboard: league, teams with their logos (badges when there is no logo), away
        # first, the scores, the clock.
        expect(game).to_have_text("NFLBUFBUF10@ at KCKC14Q2 5:00")
        expect(game.locator(".logo")).to_have_count(2)
        scheduled = page.locator(f"{HOST} [data-testid=bar-items] .state-pre")
        expect(scheduled.locator(".detail")).to_have_text(
            re.compile(r"^(Today|Tomorrow) \d{1,2}:\d\d [AP]M$")
        )
        expect(scheduled.locator(".score")).to_have_count(0)
        assert post(relay.url, batch(game_message(live, home=21, away=10))).status_code == 200
        score = page.locator(f'{HOST} [data-game-id="{live}"] [data-field="home_team_score"]')
        expect(score).to_have_text("21")
        expect(score.locator(".flash")).to_have_class("flash flash-up")
        # The relay goes: the bar says so, keeps the data and says how old it is.
        relay.kill()
        expect(page.locator(f"{HOST} [data-testid=status]")).not_to_have_attribute(
            "data-status", "connected", timeout=20_000
        )
        expect(page.locator(f"{HOST} [data-testid=freshness]")).to_contain_text("Showing data from")
        expect(score).to_have_text("21")
        bar_option(page, "Compact").click()  # compact keeps the age too
        expect(bar(page)).to_have_class(re.compile(r"\bdensity-compact\b"))
        expect(page.locator(f"{HOST} [data-testid=freshness]")).to_be_visible()


def test_the_bar_ignores_what_the_page_posts(playwright, database_url, ids, start_relay):
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        expect_bar_price(page, "NVDA", "100.00")
        # A page posting what the background sends a bar, by every route a page has.
        forged = {
            "type": "update",
            "upserts": [{"table": "trades", "row": {"id": 999_999, "symbol": "EVIL", "price": "1.00"}}],
            "removals": [],
            "status": "connected",
            "liveAt": 0,
        }
        page.evaluate(
            "(m) => { window.postMessage(m, '*'); document.dispatchEvent(new CustomEvent('scrollr', {detail: m}));"
            " try { chrome.runtime.sendMessage('x', m); } catch {} }",
            forged,
        )
        # Nor can it work the bar's controls: the open Shadow Root lets it reach them, but its clicks
        # and keys are not the user's.
        page.evaluate(
            "(tag) => { const root = document.querySelector(tag).shadowRoot;"
            " const collapse = [...root.querySelectorAll('button')].find((b) => b.textContent === 'Collapse');"
            " collapse.click(); collapse.focus();"
            " collapse.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true})); }",
            HOST,
        )
        # Anything the page could have slipped in would be on screen by the time a real change is.
        set_price(relay, ids, "NVDA", "150.00")
        expect_bar_price(page, "NVDA", "150.00")
        expect(page.locator(f'{HOST} [data-symbol="EVIL"]')).to_have_count(0)
        expect(page.locator(f"{HOST} [data-testid=bar-items] [data-symbol]")).to_have_count(3)
        stored = context.service_workers[0].evaluate("chrome.storage.sync.get('scrollr:bar')")
        assert stored.get("scrollr:bar", {}).get("collapsed", False) is False
        bar(page).get_by_role("button", name="Collapse").click()  # the user's own click works
        expect(bar(page).get_by_role("button", name="Expand")).to_be_visible()


MARKET = [  # symbol, price, previous close, change, % change (the screenshot's data)
    ("AAPL", "229.87", "227.52", "2.35", "1.03"),
    ("MSFT", "415.26", "418.10", "-2.84", "-0.68"),
    ("NVDA", "183.02", "181.60", "1.42", "0.78"),
    ("TSLA", "352.56", "345.16", "7.40", "2.14"),
    ("BTC-USD", "97278.70", "98412.03", "-1133.33", "-1.15"),
]


def test_the_bar_has_no_axe_violations_and_a_screenshot(playwright, database_url, ids, start_relay):
    for symbol, price, close, change, percent in MARKET:
        if symbol not in ids:
            ids[symbol] = insert_trade(database_url, symbol, price)
        execute(
            database_url,
            "UPDATE trades SET price = %s, previous_close = %s, price_change = %s, percentage_change = %s"
            " WHERE symbol = %s",
            (price, close, change, percent, symbol),
        )
    insert_game(database_url, "NFL", "in", ("KC", "Kansas City Chiefs"), ("BUF", "Buffalo Bills"), (14, 10))
    with bar_browser(playwright, start_relay, database_url) as (relay, site, context, _):
        page = open_page(context, f"{site}/plain")
        page.set_viewport_size({"width": 1280, "height": 260})
        expect_bar_price(page, "NVDA", "183.02")
        expect(page.locator(f"{HOST} [data-symbol=MSFT] .change")).to_have_text(
            "▼\u22122.84 (\u22120.68%)"
        )  # a real minus sign
        message = trade_message("NVDA", "187.34", row_id=ids["NVDA"])
        message["record"].update(price_change="5.74", percentage_change="3.16", previous_close="181.60")
        assert post(relay.url, batch(message)).status_code == 200
        expect_bar_price(page, "NVDA", "187.34")
        expect(page.get_by_role("region", name="Scrollr live feed")).to_be_visible()
        bar_option(page, "Push").click()  # the page's title moves down, out from under the bar
        bar(page).get_by_role("button", name="Options").click()
        expect_bar_price(page, "NVDA", "187.34")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "feed-bar.png"))
        assert axe_violations(page) == []
        bar(page).get_by_role("button", name="Sports").click()
        expect(page.locator(f"{HOST} [data-testid=bar-items] [data-game-id]")).to_have_count(1)
        assert axe_violations(page) == []
        bar(page).get_by_role("button", name="Finance").click()
        bar_option(page, "Ticker").click()
        assert axe_violations(page) == []  # with the options open
        bar(page).get_by_role("button", name="Options").click()
        expect(page.locator(f"{HOST} ul.items[aria-hidden=true]")).to_have_count(1)
        assert axe_violations(page) == []
        bar(page).get_by_role("button", name="Collapse").click()
        expect(bar(page).get_by_role("button", name="Expand")).to_be_visible()
        assert axe_violations(page) == []
        # The popup over this page, with its feed bar switches (the README's popup screenshot).
        popup = popup_for(context, page)
        popup.set_viewport_size({"width": 360, "height": 600})
        expect(popup.get_by_role("switch", name="this site")).to_be_checked()
        expect(popup.locator('tr[data-symbol="NVDA"] [data-field="price"]')).to_have_text("$187.34")
        popup.screenshot(path=str(ARTIFACTS / "popup-over-a-page.png"))
        assert axe_violations(popup) == []

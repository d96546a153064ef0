"""Accounts in real Chromium with the real development OpenID provider: sign in on the dashboard
(authorization code + PKCE), the browser's choices move to an empty account, another profile signed
in to the same account shows them, and a change on one reaches the other through its stream."""

import time

import pytest
from playwright.sync_api import Page, expect

from tests.support.browser import dashboard_relay_env, expect_price, expect_status
from tests.support.extension import extension_browser
from tests.support.oidc import DEV_PASSWORD, DEV_SUB, DEV_USERNAME, DevProvider
from tests.support.pg import cdc_env, execute, insert_trade
from tests.support.procs import free_port, wait_until

pytestmark = pytest.mark.browser


def shown_symbols(page: Page) -> list[str]:
    return sorted(page.eval_on_selector_all("tr[data-symbol]", "rows => rows.map((r) => r.dataset.symbol)"))


def open_settings(page: Page, name: str) -> None:
    summary = page.locator("summary", has_text=name)
    if page.locator("details", has=summary).get_attribute("open") is None:
        summary.click()


def log_in(login: Page) -> None:
    """The provider's own login page, filled in as a user would."""
    login.get_by_label("Email").fill(DEV_USERNAME)
    login.get_by_label("Password").fill(DEV_PASSWORD)
    login.get_by_role("button", name="Sign in").click()


def sign_in(page: Page) -> None:
    page.get_by_role("button", name="Sign in").click()
    log_in(page)
    expect(page.locator(".account-name")).to_have_text("Dev User", timeout=20_000)


@pytest.fixture
def accounts_stack(database_url, start_relay, start_cdc):
    port = free_port()
    provider = DevProvider(redirect_uris=(f"http://127.0.0.1:{port}/",)).start()
    try:
        relay = start_relay(dashboard_relay_env(database_url, **provider.relay_env()), port=port)
        start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
        for symbol in ("AAPL", "MSFT", "NVDA"):
            insert_trade(database_url, symbol, "100.00")
        yield relay
    finally:
        provider.stop()


def account_symbols(database_url: str) -> object:
    rows = execute(database_url, "SELECT symbols FROM user_preferences WHERE sub = %s", (DEV_SUB,))
    return rows[0][0] if rows else None


def test_signed_in_choices_follow_the_account_to_another_profile_through_the_stream(
    browser, accounts_stack, database_url
):
    relay = accounts_stack
    first = browser.new_context(viewport={"width": 1280, "height": 900})
    second = browser.new_context(viewport={"width": 1280, "height": 900})  # another browser profile
    try:
        a = first.new_page()
        a.goto(relay.url)
        expect_status(a, "connected")
        open_settings(a, "Symbols settings")
        a.get_by_role("button", name="Clear all").click()
        a.get_by_label("AAPL").check()  # chosen signed out: kept in this browser only
        expect_price(a, "AAPL", "100.00")
        sign_in(a)
        # The account had none: signing in moved this browser's choices to it.
        wait_until(lambda: account_symbols(database_url) == ["AAPL"], what="the choices saved to the account")
        b = second.new_page()
        b.goto(relay.url)
        expect_status(b, "connected")
        expect_price(b, "NVDA", "100.00")  # signed out: this profile's own default, every symbol
        sign_in(b)
        wait_until(
            lambda: shown_symbols(b) == ["AAPL"], what="the account's choices to win in the second profile"
        )
        asked = []
        b.on("request", lambda r: asked.append(r.url) if "/me/preferences" in r.url else None)
        open_settings(a, "Symbols settings")
        started = time.monotonic()
        a.get_by_label("MSFT").check()
        wait_until(
            lambda: shown_symbols(b) == ["AAPL", "MSFT"], what="the other profile to follow", timeout=10
        )
        print(
            f"\nchoice on one profile shown on the other after {1000 * (time.monotonic() - started):.0f} ms"
        )
        assert asked == []  # it came through the stream, not by asking the server
        assert account_symbols(database_url) == ["AAPL", "MSFT"]
        b.reload()
        expect(b.locator(".account-name")).to_have_text("Dev User", timeout=20_000)  # still signed in
        wait_until(lambda: shown_symbols(b) == ["AAPL", "MSFT"], what="the choices to survive a reload")
        assert "Authorization" not in relay.log() and "Bearer ey" not in relay.log()
        b.get_by_role("button", name="Sign out").click()  # through the provider's sign-out, and back
        expect(b.get_by_role("button", name="Sign in")).to_be_visible(timeout=20_000)
        assert not any(key.startswith("oidc.user") for key in b.evaluate("Object.keys(localStorage)"))
        a.get_by_label("NVDA").check()  # signed out, b no longer follows the account
        wait_until(lambda: account_symbols(database_url) == ["AAPL", "MSFT", "NVDA"], what="a's write")
        # A later change on b's stream: had the account's event come to b, it would have come first.
        execute(database_url, "UPDATE trades SET price = 123.00 WHERE symbol = 'AAPL'")
        expect_price(b, "AAPL", "123.00")
        assert shown_symbols(b) == ["AAPL", "MSFT"]  # its own (last) choices, kept in the browser
    finally:
        first.close()
        second.close()


def extension_symbols(page: Page) -> object:
    return page.evaluate(
        "chrome.storage.sync.get('scrollr:preferences').then((s) => s['scrollr:preferences']?.symbols)"
    )


def test_the_extension_signs_in_and_follows_the_dashboard_through_its_stream(
    playwright, browser, database_url, start_relay, start_cdc
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with extension_browser(playwright, base) as (extension, extension_id):
        provider = DevProvider(
            redirect_uris=(f"{base}/",), extension_redirect_uris=(f"https://{extension_id}.chromiumapp.org/",)
        ).start()
        dashboard = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            relay = start_relay(dashboard_relay_env(database_url, **provider.relay_env()), port=port)
            start_cdc(cdc_env(database_url, relay.url)).wait_streaming()
            for symbol in ("AAPL", "MSFT", "NVDA"):
                insert_trade(database_url, symbol, "100.00")
            options = extension.new_page()
            options.goto(f"chrome-extension://{extension_id}/options.html")
            with extension.expect_page() as opened:  # chrome.identity.launchWebAuthFlow's window
                options.get_by_role("button", name="Sign in").click()
            log_in(opened.value)
            expect(options.locator(".account-name")).to_have_text("Dev User", timeout=20_000)
            tokens = options.evaluate("chrome.storage.session.get('scrollr:auth')")
            assert tokens["scrollr:auth"]["accessToken"]  # in session storage...
            synced = options.evaluate("chrome.storage.sync.get(null)")
            assert all("accessToken" not in str(v) for v in synced.values())  # ...never in sync
            # The account was empty: the extension's own choices (every symbol) went to it.
            wait_until(
                lambda: account_symbols(database_url) is None and _has_account(database_url), what="upload"
            )
            page = dashboard.new_page()
            page.goto(relay.url)
            expect_status(page, "connected")
            sign_in(page)
            open_settings(page, "Symbols settings")
            page.get_by_role("button", name="Clear all").click()
            page.get_by_label("NVDA").check()
            started = time.monotonic()
            wait_until(
                lambda: extension_symbols(options) == ["NVDA"], what="the extension to follow", timeout=10
            )
            print(f"\ndashboard choice in the extension after {1000 * (time.monotonic() - started):.0f} ms")
            popup = extension.new_page()
            popup.goto(f"chrome-extension://{extension_id}/popup.html")
            expect_price(popup, "NVDA", "100.00")
            wait_until(
                lambda: shown_symbols(popup) == ["NVDA"], what="the popup to show the account's symbols"
            )
            options.get_by_label("AAPL").check()  # and back: a choice in the extension reaches the dashboard
            started = time.monotonic()
            wait_until(
                lambda: shown_symbols(page) == ["AAPL", "NVDA"], what="the dashboard to follow", timeout=10
            )
            print(f"extension choice on the dashboard after {1000 * (time.monotonic() - started):.0f} ms")
            popup.get_by_role("button", name="Sign out").click()  # the popup signs out and in too
            expect(options.get_by_role("button", name="Sign in")).to_be_visible()
            assert options.evaluate("chrome.storage.session.get('scrollr:auth')") == {}
            # The provider still has its session: signing in again needs no password (no window shows).
            popup.get_by_role("button", name="Sign in").click()
            expect(popup.locator(".account-name")).to_have_text("Dev User", timeout=20_000)
            wait_until(lambda: shown_symbols(popup) == ["AAPL", "NVDA"], what="the account's choices kept")
        finally:
            dashboard.close()
            provider.stop()


def _has_account(database_url: str) -> bool:
    return bool(execute(database_url, "SELECT 1 FROM user_preferences WHERE sub = %s", (DEV_SUB,)))


def test_after_a_reset_the_dashboard_reads_the_accounts_choices_again(
    browser, database_url, start_relay, start_cdc
):
    port = free_port()
    provider = DevProvider(redirect_uris=(f"http://127.0.0.1:{port}/",)).start()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        relay = start_relay(dashboard_relay_env(database_url, **provider.relay_env()), port=port)
        emitter = start_cdc(cdc_env(database_url, relay.url))
        emitter.wait_streaming()
        for symbol in ("AAPL", "MSFT", "NVDA"):
            insert_trade(database_url, symbol, "100.00")
        page = context.new_page()
        page.goto(relay.url)
        expect_status(page, "connected")
        open_settings(page, "Symbols settings")
        page.get_by_role("button", name="Clear all").click()
        page.get_by_label("AAPL").check()
        sign_in(page)
        wait_until(lambda: account_symbols(database_url) == ["AAPL"], what="the choices saved to the account")
        # Another device's write whose event can't reach the stream: the change feed is down...
        emitter.kill()
        execute(
            database_url,
            "UPDATE user_preferences SET symbols = '[\"MSFT\"]', version = version + 1 WHERE sub = %s",
            (DEV_SUB,),
        )
        # ...and the relay restarts with an empty in-memory history: the dashboard gets `reset`.
        relay.kill()
        relay.start()
        wait_until(
            lambda: shown_symbols(page) == ["MSFT"], what="the account's choices read again after the reset"
        )
    finally:
        context.close()
        provider.stop()

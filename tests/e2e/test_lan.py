"""The dashboard opened over plain HTTP on a LAN address: not a secure context, so no
`crypto.randomUUID` and no Web Locks. Chromium maps the name `scrollr-lan.test` to 127.0.0.1, so
the origin is non-local (not potentially trustworthy) while the traffic stays on loopback."""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Playwright

from tests.support.browser import ARGS, CHROMIUM, dashboard_relay_env, expect_price, expect_status
from tests.support.pg import insert_trade
from tests.support.sequin import batch, post, trade_message

pytestmark = pytest.mark.browser

LAN_HOST = "scrollr-lan.test"


@pytest.fixture(scope="module")
def lan_browser(playwright: Playwright) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*ARGS, f"--host-resolver-rules=MAP {LAN_HOST} 127.0.0.1"],
    )
    yield chromium
    chromium.close()


@pytest.mark.parametrize("shared_worker", [True, False], ids=["shared-worker", "tab-streams"])
def test_the_dashboard_goes_live_on_a_plain_http_lan_address(
    lan_browser, database_url, start_relay, shared_worker
):
    trade_id = insert_trade(database_url, "AAPL", "100.00")
    relay = start_relay(dashboard_relay_env(database_url))
    context = lan_browser.new_context()
    if not shared_worker:
        context.add_init_script("delete window.SharedWorker")
    try:
        pages = [context.new_page() for _ in range(2)]
        for page in pages:
            page.goto(f"http://{LAN_HOST}:{relay.port}/")
        assert pages[0].evaluate(
            "[window.isSecureContext, typeof crypto.randomUUID, typeof navigator.locks]"
        ) == [
            False,
            "undefined",
            "undefined",
        ]
        for page in pages:
            expect_status(page, "connected", 20_000)
            expect_price(page, "AAPL", "100.00", 20_000)
        assert post(relay.url, batch(trade_message("AAPL", "187.34", row_id=trade_id))).status_code == 200
        for page in pages:
            expect_price(page, "AAPL", "187.34", 20_000)
        # One SharedWorker streams for both tabs; without it (and without Web Locks to elect one), each its own.
        assert relay.metric("scrollr_open_streams") == (1 if shared_worker else 2)
    finally:
        context.close()

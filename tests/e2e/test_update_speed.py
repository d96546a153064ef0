"""The dashboard's "Update speed" setting in real Chromium: calm asks the relay for each row's newest
value at most once a second (`max_rate`), and the choice is kept with the other preferences."""

import time

import pytest

from tests.support.browser import dashboard_relay_env, expect_price
from tests.support.pg import insert_trade
from tests.support.procs import wait_until
from tests.support.sequin import batch, post, trade_message

pytestmark = pytest.mark.browser

# Records each distinct price NVDA's cell shows, in order, whatever React re-renders.
WATCH = """() => {
  window.__prices = [];
  const note = () => {
    const cell = document.querySelector('tr[data-symbol="NVDA"] [data-field="price"]');
    const text = cell ? cell.textContent : null;
    if (text && window.__prices[window.__prices.length - 1] !== text) window.__prices.push(text);
  };
  new MutationObserver(note).observe(document.body, { childList: true, characterData: true, subtree: true });
}"""


def tick(relay, trade_id, start: int, count: int) -> float:
    """`count` prices of NVDA, 20 a second; how long that took."""
    began = time.monotonic()
    for n in range(count):
        message = trade_message("NVDA", f"{start + n}.00", row_id=trade_id)
        assert post(relay.url, batch(message)).status_code == 200
        time.sleep(0.05)
    return time.monotonic() - began


def shown(page) -> int:
    return len(page.evaluate("window.__prices"))


def test_calm_updates_each_price_at_most_once_a_second_and_the_choice_is_kept(
    browser, database_url, start_relay
):
    trade_id = insert_trade(database_url, "NVDA", "100.00")
    relay = start_relay(dashboard_relay_env(database_url))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(relay.url)
        expect_price(page, "NVDA", "100.00", 20_000)
        page.evaluate(WATCH)
        tick(relay, trade_id, 200, 20)  # real time: every price (or nearly) is shown
        expect_price(page, "NVDA", "219.00", 20_000)
        assert shown(page) >= 10

        opened = relay.metric("scrollr_streams_opened_total", 'sink="socket"')
        page.locator("summary", has_text="Symbols settings").click()
        page.get_by_label("Update speed").select_option("1s")
        wait_until(
            lambda: relay.metric("scrollr_streams_opened_total", 'sink="socket"') > opened,
            what="the stream to reopen with max_rate",
        )
        page.evaluate(WATCH)
        took = tick(relay, trade_id, 300, 40)
        expect_price(page, "NVDA", "339.00", 20_000)  # ends on the newest
        assert shown(page) <= took + 2  # once a second, and the newest at the end

        page.reload()
        page.wait_for_selector("[data-status=connected]", timeout=20_000)
        page.locator("summary", has_text="Symbols settings").click()
        assert page.get_by_label("Update speed").input_value() == "1s"
    finally:
        context.close()

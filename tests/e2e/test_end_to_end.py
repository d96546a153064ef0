"""End to end: a Postgres row reaches two dashboard tabs and the extension popup, also under faults.

Every fault test ends by comparing every client's rows with the database's. Each test prints the
latency from row commit to DOM update (p50/p99) over its burst.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import pytest

from tests.support.browser import dashboard_relay_env, dollars, expect_not_live, expect_price, expect_status
from tests.support.extension import extension_browser, open_popup
from tests.support.nginx import Nginx
from tests.support.pg import cdc_env, execute, insert_trade, trade_prices
from tests.support.procs import free_port, wait_until
from tests.support.sse import SSEClient

pytestmark = pytest.mark.browser
SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "NFLX"]

# Records when each price reached the DOM (Date.now(), the same clock as Python's time.time()).
OBSERVE = """
window.__seen = [];
new MutationObserver(() => {
  for (const cell of document.querySelectorAll('tr[data-symbol] [data-field=price]')) {
    const key = cell.closest('tr').dataset.symbol + '=' + cell.textContent;
    if (!window.__seenKeys?.has(key)) {
      (window.__seenKeys ??= new Set()).add(key);
      window.__seen.push([key, Date.now()]);
    }
  }
}).observe(document.body, { subtree: true, childList: true, characterData: true });
"""
TAB_ROWS = "Object.fromEntries(window.__scrollr.getSnapshot().latestTrades.map(r => [String(r.id), r.price]))"
POPUP_ROWS = (  # each stored row is a key of its own (extension/src/storage.ts)
    "chrome.storage.session.get(null).then(s => Object.fromEntries(Object.entries(s)"
    ".filter(([k]) => k.startsWith('scrollr:row:trades:')).map(([, v]) => [String(v.row.id), v.row.price])))"
)


class Clients:
    """Two dashboard tabs (one SharedWorker) and the extension popup, all following `base`."""

    def __init__(self, playwright: Any, browser: Any, base: str, stack: ExitStack) -> None:
        context = browser.new_context()
        stack.callback(context.close)
        self.tabs = [context.new_page() for _ in range(2)]
        for tab in self.tabs:
            tab.goto(base)
            tab.evaluate(OBSERVE)
        extension, extension_id = stack.enter_context(extension_browser(playwright, base))
        self.popup = open_popup(extension, extension_id)
        for page in [*self.tabs, self.popup]:
            expect_status(page, "connected")

    def views(self) -> list[dict[str, str]]:
        return [tab.evaluate(TAB_ROWS) for tab in self.tabs] + [self.popup.evaluate(POPUP_ROWS)]

    def converge(self, database_url: str, timeout: float = 60) -> dict[str, str]:
        truth = trade_prices(database_url)
        wait_until(
            lambda: all(view == truth for view in self.views()),
            timeout=timeout,
            interval=0.2,
            what="every client's rows to equal the database's",
        )
        return truth

    def latencies_ms(self, commits: dict[str, float]) -> list[float]:
        out = []
        for tab in self.tabs:
            for key, shown_at in tab.evaluate("window.__seen"):
                if key in commits:
                    out.append(shown_at - commits[key] * 1000)
        return out


def report(name: str, latencies: list[float]) -> None:
    if not latencies:
        print(f"\n[{name}] commit-to-DOM latency: no samples")
        return
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(
        f"\n[{name}] commit-to-DOM latency over {len(ordered)} DOM updates (2 tabs): "
        f"p50 {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms"
    )


class Burst:
    """Writes `count` price updates, one transaction each, `pause` apart; remembers commit times."""

    def __init__(self, database_url: str, ids: dict[str, int], count: int, pause: float = 0.02) -> None:
        self.commits: dict[str, float] = {}
        self.done = threading.Event()
        self.written = 0

        def run() -> None:
            rand = random.Random(7)
            for n in range(count):
                symbol = rand.choice(SYMBOLS)
                price = f"{1000 + n}.{rand.randint(0, 99):02d}"
                execute(database_url, "UPDATE trades SET price = %s WHERE id = %s", (price, ids[symbol]))
                self.commits[f"{symbol}={dollars(price)}"] = time.time()  # as the DOM shows it
                self.written += 1
                time.sleep(pause)
            self.done.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait(self, timeout: float = 60) -> None:
        assert self.done.wait(timeout), "burst did not finish"


@pytest.fixture
def e2e(database_url, start_relay, start_cdc, fresh_redis, playwright, browser):
    ids = {symbol: insert_trade(database_url, symbol, "100.00") for symbol in SYMBOLS}
    with ExitStack() as stack:
        yield {
            "db": database_url,
            "ids": ids,
            "redis": fresh_redis,
            "stack": stack,
            "start_relay": start_relay,
            "start_cdc": start_cdc,
            "playwright": playwright,
            "browser": browser,
        }


def relay_env(e2e: dict[str, Any], **extra: str) -> dict[str, str]:
    return dashboard_relay_env(e2e["db"], REDIS_URL=e2e["redis"].url, **extra)


def accepted(relay: Any) -> int:
    return relay.log().count('"outcome":"accepted"')


def test_a_row_update_reaches_two_dashboard_tabs_and_the_extension_popup(e2e):
    relay = e2e["start_relay"](relay_env(e2e), port=free_port())
    e2e["start_cdc"](cdc_env(e2e["db"], relay.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], relay.url, e2e["stack"])
    # 1. Update a row in Postgres.
    execute(e2e["db"], "UPDATE trades SET price = 187.34 WHERE id = %s", (e2e["ids"]["NVDA"],))
    # 2-3. The emitter sends the webhook; the relay logs its reception.
    wait_until(lambda: '"tables":{"trades":1},"actions":{"update":1}' in relay.log(), what="webhook logged")
    # 4-5. Both tabs and the popup update without a reload.
    for page in [*clients.tabs, clients.popup]:
        expect_price(page, "NVDA", "187.34", 20_000)
    assert relay.metric("scrollr_open_streams") == 2  # one SharedWorker for both tabs + the extension
    burst = Burst(e2e["db"], e2e["ids"], 100)
    burst.wait()
    clients.converge(e2e["db"])
    latencies = clients.latencies_ms(burst.commits)
    report("steady path", latencies)
    assert len(latencies) >= 50


def test_truncate_empties_the_table_in_the_dashboard_and_the_popup(e2e):
    relay = e2e["start_relay"](relay_env(e2e), port=free_port())
    e2e["start_cdc"](cdc_env(e2e["db"], relay.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], relay.url, e2e["stack"])
    clients.converge(e2e["db"])
    assert all(tab.locator("tr[data-symbol]").count() == len(SYMBOLS) for tab in clients.tabs)
    execute(e2e["db"], "TRUNCATE trades")
    wait_until(
        lambda: (
            all(view == {} for view in clients.views())
            and all(tab.locator("tr[data-symbol]").count() == 0 for tab in clients.tabs)
        ),
        timeout=30,
        interval=0.2,
        what="every client's trades gone",
    )
    insert_trade(e2e["db"], "NVDA", "187.34")  # the stream goes on after the reload
    for page in [*clients.tabs, clients.popup]:
        expect_price(page, "NVDA", "187.34", 20_000)
    clients.converge(e2e["db"])


def burst_through_fault(
    e2e: dict[str, Any],
    clients: Clients,
    relays: list[Any],
    name: str,
    fault: Callable[[], object],
    recover: Callable[[], object] = lambda: None,
) -> None:
    """150 commits; `fault` strikes once the relays have accepted some, `recover` after the last
    commit; then every client's rows must equal the database's."""
    burst = Burst(e2e["db"], e2e["ids"], 150)
    wait_until(lambda: sum(accepted(r) for r in relays) >= 10, what="burst under way")
    fault()
    burst.wait()
    recover()
    clients.converge(e2e["db"])
    report(name, clients.latencies_ms(burst.commits))


def test_relay_killed_and_restarted_mid_burst(e2e):
    relay = e2e["start_relay"](relay_env(e2e), port=free_port())
    e2e["start_cdc"](cdc_env(e2e["db"], relay.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], relay.url, e2e["stack"])

    def restart() -> None:
        relay.kill()
        relay.start()

    burst_through_fault(e2e, clients, [relay], "relay killed and restarted", restart)


def test_two_relays_on_one_redis_one_killed_its_clients_move_and_resume(e2e):
    first = e2e["start_relay"](relay_env(e2e))
    second = e2e["start_relay"](relay_env(e2e))
    proxy = Nginx([first.port, second.port]).start()
    e2e["stack"].callback(proxy.stop)
    e2e["start_cdc"](cdc_env(e2e["db"], proxy.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], proxy.url, e2e["stack"])
    victim, survivor = (first, second) if first.metric("scrollr_open_streams") else (second, first)
    moved = victim.metric("scrollr_open_streams")
    assert moved >= 1
    burst_through_fault(e2e, clients, [first, second], "two relays, one killed", victim.kill)
    assert survivor.metric("scrollr_open_streams") == 2  # the victim's clients are here now


def test_redis_restarted_clients_reset_refetch_and_converge(e2e):
    relay = e2e["start_relay"](relay_env(e2e), port=free_port())
    e2e["start_cdc"](cdc_env(e2e["db"], relay.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], relay.url, e2e["stack"])
    burst_through_fault(e2e, clients, [relay], "redis restarted", e2e["redis"].restart)
    assert relay.metric("scrollr_resets_total", 'reason="history_lost"') >= 1


def test_emitter_sigkill_mid_burst(e2e):
    relay = e2e["start_relay"](relay_env(e2e), port=free_port())
    env = cdc_env(e2e["db"], relay.url)
    emitter = e2e["start_cdc"](env)
    emitter.wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], relay.url, e2e["stack"])

    def kill_and_restart() -> None:
        emitter.kill()
        e2e["start_cdc"](env).wait_streaming()

    burst_through_fault(e2e, clients, [relay], "emitter SIGKILL", kill_and_restart)


def test_clients_cut_off_by_the_server_for_a_while_then_back(e2e):
    relay = e2e["start_relay"](relay_env(e2e))
    proxy = Nginx([relay.port]).start()
    e2e["stack"].callback(proxy.stop)
    e2e["start_cdc"](cdc_env(e2e["db"], relay.url)).wait_streaming()
    clients = Clients(e2e["playwright"], e2e["browser"], proxy.url, e2e["stack"])

    def cut_off() -> None:
        proxy.stop()  # every client's connection is cut and reconnects are refused
        for page in [*clients.tabs, clients.popup]:
            expect_not_live(page)

    burst_through_fault(e2e, clients, [relay], "clients cut off, then back", cut_off, recover=proxy.start)


@pytest.mark.parametrize(
    ("heartbeat", "holds"), [("0.5", True), ("5", False)], ids=["heartbeat", "no-heartbeat"]
)
def test_a_stream_through_nginx_outlives_several_idle_timeouts_only_with_the_heartbeat(
    start_relay, heartbeat, holds
):
    relay = start_relay({"SSE_HEARTBEAT_SECONDS": heartbeat})
    proxy = Nginx([relay.port], read_timeout_seconds=1.5).start()
    try:
        client = SSEClient(f"{proxy.url}/events")
        client.wait_comment("connected")
        if holds:
            # 12 pings at 0.5 s span four of nginx's 1.5 s idle timeouts, on one connection.
            client.wait_comments("ping", 12, timeout=15)
            assert not client.closed
            assert relay.metric("scrollr_stream_closes_total", 'reason="client_disconnected"') == 0
        else:
            client.wait_closed(timeout=10)  # nginx cut the idle stream: the heartbeat is what holds it
    finally:
        proxy.stop()

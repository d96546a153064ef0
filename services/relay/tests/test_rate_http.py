"""`/events?max_rate=` on a real relay process with a real Redis."""

import threading
import time

import httpx

from tests.support.sequin import batch, post, trade_message
from tests.support.sse import open_stream


def test_a_bad_max_rate_is_refused_with_a_400_naming_it(redis_relay):
    refused = httpx.get(f"{redis_relay.url}/events?max_rate=fast")
    assert refused.status_code == 400
    assert "max_rate value 'fast'" in refused.json()["error"]
    assert httpx.get(f"{redis_relay.url}/events?max_rate=0").status_code == 400


def test_max_rate_is_in_the_schema(redis_relay):
    operation = httpx.get(f"{redis_relay.url}/schema/openapi.json").json()["paths"]["/events"]["get"]
    (param,) = [p for p in operation["parameters"] if p["name"] == "max_rate"]
    assert param["in"] == "query" and param["schema"]["type"] == "number"


def test_a_client_with_a_rate_gets_each_row_at_most_that_often_and_ends_on_the_newest(redis_relay):
    client = open_stream(redis_relay, query="?max_rate=2")
    opened = time.monotonic()
    sent: list[int] = []

    def feed() -> None:  # 2 rows at up to 20 changes/s each
        for n in range(60):
            body = batch(*(trade_message(s, f"{n}.00", row_id=i + 1) for i, s in enumerate("AB")))
            assert post(redis_relay.url, body).status_code == 200
            sent.append(n)
            time.sleep(0.05)

    feeding = threading.Thread(target=feed)
    feeding.start()
    arrivals: dict[str, list[tuple[float, str]]] = {"A": [], "B": []}
    deadline = time.monotonic() + 60

    def newest_arrived() -> bool:
        return not feeding.is_alive() and all(
            got and got[-1][1] == f"{sent[-1]}.00" for got in arrivals.values()
        )

    while not newest_arrived() and time.monotonic() < deadline:
        try:
            event = client.next(timeout=0.5)
        except TimeoutError:
            continue
        record = event.json()["record"]
        arrivals[record["symbol"]].append((time.monotonic(), record["price"]))
    feeding.join()
    for symbol, got in arrivals.items():
        # At most one round of rows when the stream opened, then one every half second (counted
        # against arrival times, which are only later than the relay's).
        assert len(got) <= (got[-1][0] - opened) * 2 + 1, (symbol, len(got), got[-1][0] - opened)
        assert len(got) < len(sent) / 2
        assert got[-1][1] == f"{sent[-1]}.00"  # ends on the newest value

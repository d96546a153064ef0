"""`max_rate` (rate.py): parsing, and a subscriber spacing its rounds of rows, in process."""

import asyncio
import itertools
import time

import pytest
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout.rate import RateError, parse_max_rate
from scrollr_relay.fanout.subscriber import Subscriber

from services.relay.tests.test_flow import published, trade


@pytest.mark.parametrize(
    ("raw", "rate"), [(None, None), ("", None), ("1", 1.0), ("0.2", 0.2), ("100", 100.0)]
)
def test_a_rate_is_updates_per_row_per_second(raw, rate):
    assert parse_max_rate(raw) == rate


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "nan", "inf", "1000", "1e9", "0.001"])
def test_a_bad_rate_is_refused_naming_it(raw):
    with pytest.raises(RateError, match=f"max_rate value '{raw}'"):
        parse_max_rate(raw)


class Socket:
    """A sink with room for everything, recording when each write went."""

    writable = True
    on_writable = None

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []

    def write(self, data: bytes) -> str | None:
        self.writes.append((time.monotonic(), data))
        return None


async def test_a_client_with_a_rate_gets_each_row_at_most_that_often_and_ends_on_the_newest():
    bus = MemoryBus(maxlen=10_000, dedupe_window_seconds=60)
    socket = Socket()
    subscriber = Subscriber(socket, filter=None, max_rate=10)  # a round every 100 ms at most
    start = time.monotonic()
    price = 0
    while time.monotonic() - start < 1.0:  # 2 rows at about 200 changes/s each
        price += 1
        subscriber.deliver(await published(bus, [trade("A", price), trade("B", price)]))
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.25)  # the last round
    rounds = [when for when, data in socket.writes if b"event: change" in data]
    assert all(b - a >= 0.099 for a, b in itertools.pairwise(rounds))
    assert 5 <= len(rounds) <= 13
    last = socket.writes[-1][1]
    assert f'"price": "{price}"'.encode() in last and last.count(b"event: change") == 2
    assert not subscriber.closed

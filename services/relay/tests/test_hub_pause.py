"""The hub's reader in a reconnect storm: after a long fan-out amid a burst of new streams, it leaves
the loop to the openings for a while, and what arrives meanwhile goes out in one write per client.
Without a burst it goes on at once, however long its fan-out (no latency is added to a steady feed)."""

import asyncio
import time

from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout.hub import LONG_FAN_OUT_SECONDS, OPENING_BURST, Hub
from scrollr_relay.fanout.subscriber import Subscriber

from services.relay.tests.test_hub import Recorder

# Loop turns within which a reader that isn't paused has fanned a published event out.
TURNS = 50


class CostlySink(Recorder):
    """A client's socket whose every write holds the loop for `cost` seconds of CPU, as a send to each
    of thousands of sockets adds up in a real fan-out (stands in for them in-process)."""

    def __init__(self, cost: float) -> None:
        super().__init__()
        self.cost = cost

    def write(self, data: bytes) -> str | None:
        until = time.perf_counter() + self.cost
        while time.perf_counter() < until:
            pass
        return super().write(data)


async def publish(bus: MemoryBus, key: str) -> None:
    await bus.publish([Envelope(topic="t", dedupe_key=key, data=key.encode())])


async def within_turns(condition) -> bool:
    for _ in range(TURNS):
        if condition():
            return True
        await asyncio.sleep(0)
    return condition()


async def until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.001)


def got(sinks: list[CostlySink], key: str) -> bool:
    return all(any(f"data: {key}".encode() in body for body in sink.bodies) for sink in sinks)


async def started_hub(streams: int) -> tuple[MemoryBus, Hub, list[CostlySink]]:
    """A hub with `streams` new subscribers whose fan-out takes about twice LONG_FAN_OUT_SECONDS."""
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    sinks = [CostlySink(2 * LONG_FAN_OUT_SECONDS / streams) for _ in range(streams)]
    await hub.start()
    await until(lambda: hub.recent._epoch is not None)  # the reader has the bus's head
    for sink in sinks:
        subscriber = Subscriber(sink, filter=None)
        hub.add(subscriber)
    return bus, hub, sinks


async def test_after_a_long_fan_out_amid_a_burst_of_openings_the_reader_pauses_and_then_joins_what_came():
    bus, hub, sinks = await started_hub(OPENING_BURST)
    try:
        await publish(bus, "e1")
        await until(lambda: got(sinks, "e1"))
        await publish(bus, "e2")
        assert not await within_turns(lambda: got(sinks, "e2")), "the reader went on at once"
        await publish(bus, "e3")
        await until(lambda: got(sinks, "e3"))
        for sink in sinks:
            assert sink.bodies[-1].count(b"data: ") == 2, "e2 and e3 in one write"
    finally:
        await hub.stop()


async def test_a_long_fan_out_without_a_burst_of_openings_is_followed_at_once():
    bus, hub, sinks = await started_hub(OPENING_BURST - 1)
    try:
        await publish(bus, "e1")
        await until(lambda: got(sinks, "e1"))
        await publish(bus, "e2")
        assert await within_turns(lambda: got(sinks, "e2"))
    finally:
        await hub.stop()

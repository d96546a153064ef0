"""The hub with the in-memory bus, in process: fan-out, filtering, and resets of replaying clients."""

from scrollr_relay.cursor import StreamId
from scrollr_relay.event import Envelope
from scrollr_relay.hub import Hub, encode_frames
from scrollr_relay.memory_bus import MemoryBus
from scrollr_relay.sinks import AsgiSink
from scrollr_relay.subscriber import CLOSE_SEND_FAILED, Subscriber


class Recorder:
    """An ASGI `send` that records bodies (stands in for a socket in these in-process tests)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, message: dict) -> None:
        self.bodies.append(message.get("body", b""))


async def test_a_replaying_client_gets_the_hubs_reset_instead_of_being_cut_off():
    bus = MemoryBus(maxlen=5, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    send = Recorder()
    subscriber = Subscriber(AsgiSink(send, 1 << 20), topics=None)
    hub.add(subscriber)
    await bus.publish([Envelope(topic="t", dedupe_key="a", data=b"{}")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(await bus.head(), 10)))
    head = await bus.head()
    hub.reset_all(head, "history_trimmed")
    assert not subscriber.closed
    subscriber.go_live(StreamId(0, 0))  # the recorder's send completes in place: no waiting needed
    assert send.bodies == [
        f'id: {head}\nevent: reset\ndata: {{"reason":"history_trimmed","cursor":"{head}"}}\n\n'.encode()
    ]


async def test_fan_out_encodes_once_and_filters_by_topic():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    every, games = Recorder(), Recorder()
    for send, topics in ((every, None), (games, frozenset({"games"}))):
        subscriber = Subscriber(AsgiSink(send, 1 << 20), topics=topics)
        subscriber.go_live(None)
        hub.add(subscriber)
    start = await bus.head()
    await bus.publish(
        [
            Envelope(topic="trades", dedupe_key="1", data=b"1"),
            Envelope(topic="games", dedupe_key="2", data=b"2"),
        ]
    )
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(start, 10)))
    assert len(every.bodies) == 1 and every.bodies[0].count(b"event: change") == 2  # one write per batch
    assert games.bodies[0].count(b"event: change") == 1 and b"data: 2" in games.bodies[0]


class LostConnectionSink:
    """Stands in for a socket whose peer is gone but not yet noticed: uvloop's write then raises."""

    def write(self, data: bytes) -> str | None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

    async def finish(self, reason: str) -> None:
        pass


async def test_a_lost_connection_mid_fan_out_ends_that_stream_only():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    before, after = Recorder(), Recorder()
    lost = Subscriber(LostConnectionSink(), topics=None)
    for subscriber in (
        Subscriber(AsgiSink(before, 1 << 20), topics=None),
        lost,
        Subscriber(AsgiSink(after, 1 << 20), topics=None),
    ):
        subscriber.go_live(None)
        hub.add(subscriber)
    start = await bus.head()
    await bus.publish([Envelope(topic="trades", dedupe_key="1", data=b"1")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(start, 10)))
    assert lost.closed and lost.done.result() == CLOSE_SEND_FAILED
    assert len(before.bodies) == len(after.bodies) == 1

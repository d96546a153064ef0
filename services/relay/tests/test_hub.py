"""The hub with the in-memory bus, in process: fan-out, filtering, resets of replaying clients, and
the hand-over from a replay (the stream's own, fanout/handover.py) to live frames."""

from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.bus.event import Envelope
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.fanout import handover
from scrollr_relay.fanout.filters import EVERY_ROW, StreamFilter
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.groups import FilterGroups
from scrollr_relay.fanout.hub import Hub, encode_frames
from scrollr_relay.fanout.subscriber import CLOSE_SEND_FAILED, Subscriber


class Recorder:
    """A sink that records each write (stands in for a client's socket in these in-process tests);
    always has room."""

    writable = True
    on_writable = None

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def write(self, data: bytes) -> str | None:
        self.bodies.append(data)
        return None

    async def finish(self, reason: str) -> None:
        pass

    def watch_disconnect(self, on_gone) -> bool:
        return True


async def test_a_replaying_client_gets_the_hubs_reset_instead_of_being_cut_off():
    bus = MemoryBus(maxlen=5, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    send = Recorder()
    subscriber = Subscriber(send, filter=None)
    resuming = handover.Handover(subscriber)
    hub.add(subscriber)
    await bus.publish([Envelope(topic="t", dedupe_key="a", data=b"{}")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(await bus.head(), 10)))
    head = await bus.head()
    hub.reset_all(head, "history_trimmed")
    assert not subscriber.closed
    resuming.go_live(StreamId(0, 0))
    assert send.bodies == [
        f'id: {head}\nevent: reset\ndata: {{"reason":"history_trimmed","cursor":"{head}"}}\n\n'.encode()
    ]


async def test_fan_out_encodes_once_and_filters_by_topic():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    every, games = Recorder(), Recorder()
    for send, topics in ((every, None), (games, frozenset({"games"}))):
        hub.add(Subscriber(send, filter=None if topics is None else StreamFilter(topics=topics)))
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

    writable = True
    on_writable = None

    def write(self, data: bytes) -> str | None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>; the handler is closed")

    async def finish(self, reason: str) -> None:
        pass


async def test_a_lost_connection_mid_fan_out_ends_that_stream_only():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    before, after = Recorder(), Recorder()
    lost = Subscriber(LostConnectionSink(), filter=None)
    for subscriber in (
        Subscriber(before, filter=None),
        lost,
        Subscriber(after, filter=None),
    ):
        hub.add(subscriber)
    start = await bus.head()
    await bus.publish([Envelope(topic="trades", dedupe_key="1", data=b"1")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(start, 10)))
    assert lost.closed and lost.done.result() == CLOSE_SEND_FAILED
    assert len(before.bodies) == len(after.bodies) == 1


def resuming_subscriber(hub, topics=None):
    """A stream registered as serve/stream.py does it: its hand-over first, then the hub."""
    send = Recorder()
    subscriber = Subscriber(send, filter=None if topics is None else StreamFilter(topics=topics))
    resuming = handover.Handover(subscriber)
    hub.add(subscriber)
    return subscriber, resuming, send


async def test_an_event_replayed_before_the_hub_reads_it_is_not_sent_again():
    """Publish → register → replay (reads up to the bus head) → live → the hub reads the same event."""
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    hub_position = await bus.head()
    old = await bus.head()
    await bus.publish([Envelope(topic="t", dedupe_key="a", data=b"A")])
    subscriber, resuming, send = resuming_subscriber(hub)
    replayed_to = await handover.replay(hub, bus, subscriber, old)  # the hub hasn't read "A": from the bus
    resuming.go_live(replayed_to)
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(hub_position, 10)))  # the hub catches up
    await bus.publish([Envelope(topic="t", dedupe_key="b", data=b"B")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(Cursor(bus.epoch, replayed_to), 10)))
    sent = b"".join(send.bodies)
    assert sent.count(b"data: A") == 1
    assert sent.count(b"data: B") == 1


async def test_a_batch_straddling_the_replay_sends_only_what_the_replay_did_not():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    start = await bus.head()
    await bus.publish([Envelope(topic="t", dedupe_key=k, data=k.encode()) for k in "AB"])
    subscriber, resuming, send = resuming_subscriber(hub)
    resuming.go_live(await handover.replay(hub, bus, subscriber, start))
    assert subscriber.handover is resuming  # the hub's reader is behind the replay
    await bus.publish([Envelope(topic="t", dedupe_key="C", data=b"C")])
    hub.fan_out(encode_frames(bus.epoch, await bus.read_after(start, 10)))  # A, B and C in one read
    sent = b"".join(send.bodies)
    assert [sent.count(b"data: " + k) for k in (b"A", b"B", b"C")] == [1, 1, 1]
    assert subscriber.handover is None  # past the replay: later fan-outs take the plain path


async def test_a_reset_held_while_replaying_is_sent_even_if_the_new_history_starts_lower():
    """A Redis restarted empty starts again at 0-0: below the replay's position, yet a reset is due."""
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    _, resuming, send = resuming_subscriber(hub)
    from scrollr_relay.bus.cursor import ORIGIN

    hub.reset_all(Cursor("newepoch", ORIGIN), "history_lost")
    resuming.go_live(StreamId(1_800_000_000_000, 5))
    assert b"event: reset" in b"".join(send.bodies)


async def test_equal_filters_share_one_set_and_are_forgotten_with_their_last_subscriber():
    bus = MemoryBus(maxlen=100, dedupe_window_seconds=60)
    hub = Hub(bus, heartbeat_seconds=60)
    first, _, _ = resuming_subscriber(hub, frozenset({"trades", "games"}))
    second, _, _ = resuming_subscriber(hub, frozenset({"games", "trades"}))
    assert first.filter is second.filter
    hub.remove(first)
    third, _, _ = resuming_subscriber(hub, frozenset({"trades", "games"}))
    assert third.filter is second.filter
    hub.remove(second)
    hub.remove(third)
    assert len(hub._groups) == 0 and hub._groups._shared == {} and hub._groups._keyed == {}


async def test_a_batch_reaches_only_the_groups_its_rows_concern_and_every_one_that_wants_it():
    groups = FilterGroups()
    made = {}
    for name, chosen in {
        "aapl": StreamFilter(symbols=frozenset({"AAPL"})),
        "msft": StreamFilter(symbols=frozenset({"MSFT", "TSLA"})),
        "nfl": StreamFilter(leagues=frozenset({"NFL"})),  # every trade, only NFL games
        "games": StreamFilter(topics=frozenset({"games"})),
        "all": None,
    }.items():
        made[name] = Subscriber(Recorder(), filter=chosen)
        groups.add(made[name])

    def reached(*frames):
        return {name for name, s in made.items() for _, group in groups.concerned(list(frames)) if s in group}

    trade = Frame(StreamId(1, 0), "trades", b"", ("MSFT",))
    game = Frame(StreamId(2, 0), "games", b"", ("NBA", "NFL"))  # moved from NFL to NBA: NFL sees it go
    other = Frame(StreamId(3, 0), "users", b"", ())
    assert reached(trade) == {"msft", "nfl", "games", "all"}  # "games" is scanned, then refused by topic
    assert reached(game) == {"aapl", "msft", "nfl", "games", "all"}
    assert reached(other) == set(made)  # a table without a row filter: every group
    truncate = Frame(StreamId(4, 0), "trades", b"", EVERY_ROW)
    assert reached(truncate) == set(made)  # every row of the table: every group
    groups.remove(made["msft"])
    assert reached(trade) == {"nfl", "games", "all"}
    assert ("trades", "MSFT") not in groups._keyed and ("trades", "TSLA") not in groups._keyed


async def test_a_users_private_change_never_becomes_a_public_frame():
    bus = MemoryBus(maxlen=10, dedupe_window_seconds=60)
    await bus.publish(
        [
            Envelope(topic="trades", dedupe_key="a", data=b'{"record":{"symbol":"AAPL"}}'),
            Envelope(topic="user_preferences", dedupe_key="b", data=b'{"record":{"sub":"alice"}}'),
        ]
    )
    events = await bus.read_after(Cursor(bus.epoch, StreamId(0, 0)), 10)
    assert [e.topic for e in events] == ["trades", "user_preferences"]
    assert [f[1] for f in encode_frames(bus.epoch, events)] == ["trades"]

"""Deflate shared by clients (deflate.py), and a subscriber in and out of its group's run."""

import zlib

from scrollr_relay.bus.cursor import StreamId
from scrollr_relay.fanout import deflate
from scrollr_relay.fanout.deflate import ZLIB_HEADER, Segment, alone
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.subscriber import Subscriber

from services.relay.tests.test_hub import Recorder


def inflate(*pieces: bytes) -> bytes:
    return zlib.decompressobj().decompress(ZLIB_HEADER + b"".join(pieces))


def frame(n: int) -> bytes:
    return (
        b'id: e-%d-0\nevent: change\ndata: {"table":"trades","record":{"price":"%d.25","pad":"xxxxxxxx"}}\n\n'
        % (n, n)
    )


def test_alone_pieces_follow_anything_and_runs_refer_back_to_their_own_writes():
    segment = Segment()
    first = segment.encode(frame(1))
    second = segment.encode(frame(2))
    assert first[:2] == (1, True) and second[:2] == (1, False)
    # In the run from its start: decodes. Alone pieces before and after: still decodes.
    assert inflate(alone(frame(0)), first[2], second[2], alone(frame(3))) == b"".join(map(frame, range(4)))
    assert len(second[2]) < len(alone(frame(2))) / 2  # the run refers back to the write before
    segment.restart()
    third = segment.encode(frame(3))
    assert third[:2] == (2, True)
    assert inflate(alone(frame(1)), third[2]) == frame(1) + frame(3)  # a new run needs nothing before


def test_a_run_restarts_for_a_client_out_of_it_at_most_once_a_rejoin_period(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(deflate.time, "monotonic", lambda: now[0])
    segment = Segment()
    assert segment.encode(b"a")[:2] == (1, True)
    segment.wanted = True
    assert segment.encode(b"b")[:2] == (1, False)  # too soon
    now[0] += deflate.REJOIN_SECONDS
    assert segment.encode(b"c")[:2] == (2, True) and not segment.wanted


async def test_a_subscriber_takes_the_run_from_its_start_leaves_it_at_a_write_of_its_own_and_rejoins():
    segment = Segment()
    sink = Recorder()
    subscriber = Subscriber(sink, filter=None, deflate=True)
    subscriber.segment = segment
    subscriber.open(b": connected\n\n")
    frames = [Frame(StreamId(n, 0), "trades", frame(n), ()) for n in range(6)]
    subscriber.deliver(frames[0:1], frame(0), segment.encode(frame(0)))  # the run's start: joins
    subscriber.deliver(frames[1:2], frame(1), segment.encode(frame(1)))
    subscriber.write(b": ping\n\n")  # out of the run
    subscriber.deliver(frames[2:3], frame(2), segment.encode(frame(2)))  # gets it alone, wants a run
    assert segment.wanted
    segment.restart()
    subscriber.deliver(frames[3:4], frame(3), segment.encode(frame(3)))  # back in
    subscriber.deliver(frames[4:5], frame(4), segment.encode(frame(4)))
    body = b"".join(sink.bodies)
    assert body.startswith(ZLIB_HEADER)
    expected = b": connected\n\n" + frame(0) + frame(1) + b": ping\n\n" + b"".join(map(frame, range(2, 5)))
    assert zlib.decompressobj().decompress(body) == expected

"""Which sink a stream gets, over real HTTP from an in-process uvicorn, and the chunk framing."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from scrollr_relay.fanout.sinks import AsgiSink, SocketSink, http_chunk, open_sink
from scrollr_relay.fanout.subscriber import CLOSE_CLIENT_GONE, CLOSE_SEND_FAILED, CLOSE_SHUTDOWN, CLOSE_SLOW
from scrollr_relay.serve.stream import start_response
from scrollr_relay.serve.uvicorn_server import StreamingHttpProtocol, StreamSocket


@contextlib.asynccontextmanager
async def serving(app: object, protocol: object) -> AsyncIterator[httpx.AsyncClient]:
    """`app` under an in-process uvicorn with `protocol`, and a client of it."""
    # A socket already listening: connections wait in its backlog until the server takes them.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, http=protocol, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def serve_recording_sinks(protocol: object) -> tuple[dict[str, str], dict[str, str]]:
    """Serve an app that starts as a stream does and writes two frames through `open_sink`; GET and
    HEAD it."""
    kinds: dict[str, str] = {}

    async def app(scope, receive, send):
        assert scope["type"] == "http"
        own = StreamSocket.of(scope)
        await start_response(send, [], own)  # on the relay's server, held for the first bytes
        sink = open_sink(own, send, 1 << 20)
        kinds[scope["method"]] = type(sink).__name__
        assert sink.write(b"one") is None and sink.write(b"two") is None
        await sink.finish(CLOSE_SHUTDOWN)

    async with serving(app, protocol) as client:
        bodies = {"GET": (await client.get("/")).text, "HEAD": (await client.head("/")).text}
    return kinds, bodies


async def test_a_start_the_server_refuses_still_closes_the_connection_at_once():
    """uvicorn refuses a header value with a line break after it has taken the start as begun, and
    closes the connection: through the real transport, or the held start standing in for it."""

    async def app(scope, receive, send):
        await start_response(send, [(b"x-bad", b"a\r\nb")], StreamSocket.of(scope))

    async with serving(app, StreamingHttpProtocol) as client:
        with pytest.raises(httpx.RemoteProtocolError):  # closed at once, not a read timeout
            await client.get("/")


async def test_scrollr_relays_server_lets_streams_write_to_the_socket_and_head_keeps_to_send():
    kinds, bodies = await serve_recording_sinks(StreamingHttpProtocol)
    assert kinds == {"GET": "SocketSink", "HEAD": "AsgiSink"}
    assert bodies == {"GET": "onetwo", "HEAD": ""}


async def test_other_servers_streams_go_through_send():
    kinds, bodies = await serve_recording_sinks("httptools")
    assert kinds == {"GET": "AsgiSink", "HEAD": "AsgiSink"}
    assert bodies == {"GET": "onetwo", "HEAD": ""}


def test_http_chunk_frames_each_payload_and_reuses_the_last_framing():
    payload = b"x" * 20
    first = http_chunk(payload)
    assert first == b"14\r\n" + payload + b"\r\n"
    assert http_chunk(payload) is first  # a fan-out frames once
    assert http_chunk(b"abc") == b"3\r\nabc\r\n"
    assert http_chunk(b"x" * 20) == first  # equal bytes, another object: framed again, same result


def test_the_installed_uvicorn_passes_the_self_check():
    """Fails on a uvicorn release whose internals the socket path relies on have changed."""
    from scrollr_relay.serve.uvicorn_server import self_check

    assert self_check() is None


def test_the_self_check_names_what_is_missing(monkeypatch):
    from scrollr_relay.serve import uvicorn_server

    monkeypatch.setattr(uvicorn_server, "CYCLE_ATTRIBUTES", ("transport", "no_such_attribute"))
    assert "no_such_attribute" in (uvicorn_server.self_check() or "")
    monkeypatch.setattr(uvicorn, "__version__", "9.9.0")
    assert "not the verified" in (uvicorn_server.self_check() or "")


async def test_a_server_that_fails_the_check_is_not_offered_the_socket():
    refusing = StreamingHttpProtocol.configured(header_seconds=10, body_seconds=30, offers_socket=False)
    kinds, bodies = await serve_recording_sinks(refusing)
    assert kinds == {"GET": "AsgiSink", "HEAD": "AsgiSink"}
    assert bodies == {"GET": "onetwo", "HEAD": ""}


async def test_an_asgi_sink_cuts_off_a_client_whose_bytes_pile_up():
    stuck = asyncio.Event()

    async def send_that_never_completes(message):
        await stuck.wait()

    sink = AsgiSink(send_that_never_completes, 100)
    assert sink.write(b"x" * 60) is None
    await asyncio.sleep(0)  # the writer takes the first bytes and blocks in `send`
    assert sink.write(b"y" * 60) is None
    assert sink.write(b"z" * 60) == CLOSE_SLOW  # 120 bytes wait behind the stuck send
    await asyncio.wait_for(sink.finish(CLOSE_SLOW), 10)


async def test_an_asgi_sink_reports_a_failed_send_at_the_next_write():
    async def send_that_fails(message):
        raise OSError("connection reset")

    sink = AsgiSink(send_that_fails, 1 << 20)
    assert sink.write(b"first") is None
    for _ in range(3):
        await asyncio.sleep(0)
    assert sink.write(b"second") == CLOSE_SEND_FAILED
    await sink.finish(CLOSE_SEND_FAILED)


def test_the_kernel_says_how_much_a_socket_holds_unsent():
    """What the socket sink asks before it writes more to a slow client (SIOCOUTQNSD)."""
    from scrollr_relay.fanout.sinks import unsent_bytes

    listener = socket.create_server(("127.0.0.1", 0))
    reader = socket.socket()
    reader.setsockopt(
        socket.SOL_SOCKET, socket.SO_RCVBUF, 4096
    )  # a reader that takes little and reads nothing
    reader.connect(listener.getsockname())
    writer, _ = listener.accept()
    writer.setblocking(False)
    try:
        assert unsent_bytes(writer.fileno()) == 0
        try:
            while True:
                writer.send(b"x" * 65536)
        except BlockingIOError:
            pass
        assert unsent_bytes(writer.fileno()) > 64 * 1024  # the window is full: the rest waits unsent
    finally:
        for s in (writer, reader, listener):
            s.close()


class RecordingTransport:
    """What a socket sink needs of a transport (not a TCP one: no kernel to ask), recording writes."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def set_write_buffer_limits(self, high: int, low: int) -> None:
        pass

    def get_extra_info(self, name: str) -> None:
        return None

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes) -> None:
        self.writes.append(data)


class HeldStartSocket:
    """A detached stream's socket whose start the server held."""

    flow = None
    on_end = None
    detached = True

    def __init__(self, start: bytes, transport: RecordingTransport | None = None) -> None:
        self._start = start
        self._transport = transport

    def take_start(self) -> bytes:
        start, self._start = self._start, b""
        return start

    def end(self) -> None:
        assert self._transport is not None
        self._transport.write(b"0\r\n\r\n")

    def abort(self) -> None:
        pass


def test_a_held_start_leaves_with_the_streams_first_bytes_in_one_write():
    transport = RecordingTransport()
    sink = SocketSink(HeldStartSocket(b"HTTP/1.1 200 OK\r\n\r\n"), transport, send=None)  # type: ignore[arg-type]
    sink.write(b"retry: 1000\n\n")
    sink.write(b": ping\n\n")
    assert transport.writes == [
        b"HTTP/1.1 200 OK\r\n\r\n" + http_chunk(b"retry: 1000\n\n"),
        http_chunk(b": ping\n\n"),
    ]


@pytest.mark.parametrize(
    ("reason", "written"),
    [
        (CLOSE_SHUTDOWN, [b"HTTP/1.1 200 OK\r\n\r\n", b"0\r\n\r\n"]),  # the start, then the end
        (CLOSE_CLIENT_GONE, []),  # nobody to write to
        (CLOSE_SLOW, []),  # aborted: it took nothing
    ],
)
async def test_a_stream_ended_before_its_first_write_still_begins_with_its_start(reason, written):
    transport = RecordingTransport()
    socket = HeldStartSocket(b"HTTP/1.1 200 OK\r\n\r\n", transport)
    sink = SocketSink(socket, transport, send=None)  # type: ignore[arg-type]
    await sink.finish(reason)
    assert transport.writes == written

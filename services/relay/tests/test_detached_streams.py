"""A live stream under scrollr-relay's server holds no request call: it is detached from the ASGI
task (and Litestar's chain of coroutines) once it goes live, and ends through its socket."""

import asyncio
import gc
import socket

import uvicorn
from scrollr_relay.bus.event import Envelope
from scrollr_relay.config import load_settings
from scrollr_relay.serve.app import create_app, hub_of
from scrollr_relay.serve.uvicorn_server import DetachedConnection, StreamingHttpProtocol
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from tests.support.procs import SECRET


async def read_until(reader: asyncio.StreamReader, marker: bytes) -> bytes:
    return await asyncio.wait_for(reader.readuntil(marker), 10)


async def test_live_streams_hold_no_request_task_yet_stream_and_end_cleanly():
    settings = load_settings({"SEQUIN_WEBHOOK_SECRET": SECRET, "SSE_HEARTBEAT_SECONDS": "600"})
    app = create_app(settings)
    hub = hub_of(app)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, http=StreamingHttpProtocol, log_config=None))
    # The socket listens already: connections wait in its backlog until the server takes them.
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        streams = []
        for _ in range(3):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            await read_until(reader, b": connected\n\n")
            await read_until(reader, b"event: heartbeat\n")  # the preamble's last frame
            await read_until(reader, b"\n\n")
            streams.append((reader, writer))
        # Live, and not one request task left running for them.
        assert len(hub.subscribers) == 3
        assert not [task for task in server.server_state.tasks if not task.done()]
        # Nor uvicorn's protocol (its parser), the request's cycle or its scope: the connections
        # were handed to a DetachedConnection each, and nothing else keeps those alive.
        assert not server.server_state.connections
        gc.collect()
        alive = [o for o in gc.get_objects() if isinstance(o, StreamingHttpProtocol | RequestResponseCycle)]
        assert alive == []
        assert len([o for o in gc.get_objects() if isinstance(o, DetachedConnection)]) == 3
        # The hub still reaches every one of them.
        bus = app.state.hub._bus
        await bus.publish([Envelope(topic="trades", dedupe_key="k", data=b'{"n":1}')])
        for reader, _ in streams:
            assert b'data: {"n":1}' in await read_until(reader, b"\n\n")
        # A client that leaves frees its stream.
        streams[0][1].close()
        for _ in range(200):
            if len(hub.subscribers) == 2:
                break
            await asyncio.sleep(0.01)
        assert len(hub.subscribers) == 2
        # A request sent behind a stream has no one to answer it there: the connection closes.
        reader, writer = streams[1]
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(reader.read(), 10) is not None
        assert reader.at_eof()
        # Shutdown ends the rest with the last chunk of their response.
        hub.close_all("shutdown")
        assert (await asyncio.wait_for(streams[2][0].read(), 10)).endswith(b"0\r\n\r\n")
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 10)

"""A small blocking SSE client over a raw socket, for tests: it sees exactly what the server sent."""

from __future__ import annotations

import json
import socket
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Message:
    event: str = "message"
    data: str = ""
    id: str | None = None

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class Parser:
    """Incremental parser of the SSE wire format (WHATWG HTML 9.2.6); counts comment lines too."""

    buffer: bytes = b""
    comments: list[str] = field(default_factory=list)
    _fields: dict[str, str] = field(default_factory=dict)
    _data: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[Message]:
        self.buffer += chunk
        out: list[Message] = []
        while b"\n" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\n", 1)
            line = raw.decode().rstrip("\r")
            if not line:
                if self._data or self._fields:
                    out.append(
                        Message(
                            event=self._fields.get("event", "message"),
                            data="\n".join(self._data),
                            id=self._fields.get("id"),
                        )
                    )
                self._fields, self._data = {}, []
            elif line.startswith(":"):
                self.comments.append(line[1:].strip())
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    self._data.append(value)
                elif name in ("event", "id"):
                    self._fields[name] = value
        return out


class StreamClosed(Exception):
    pass


class SSEClient:
    """GET a stream; `next()` returns the next event, `events(n)` n of them, within a timeout.

    Heartbeat events are counted in `heartbeats`, not returned (unless `heartbeats_too`): tests read
    the changes and resets in between. The preamble's `protocol` event is kept in `protocol`."""

    def __init__(
        self,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
        rcvbuf: int | None = None,
        heartbeats_too: bool = False,
        inflate: bool = False,
        source_address: str | None = None,
    ) -> None:
        parts = urlsplit(url)
        # Content-Encoding: deflate (`compress=deflate`): the body is one zlib stream, inflated here.
        self._inflate = zlib.decompressobj() if inflate else None
        self.body_bytes = 0  # of the body as sent (compressed, if it is)
        self.heartbeats = 0
        self.protocol: Any = None
        self._heartbeats_too = heartbeats_too
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        if source_address is not None:  # another client address (anything in 127.0.0.0/8 is this host)
            self.sock.bind((source_address, 0))
        self.sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        head = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.sock.sendall((head + "\r\n").encode())
        self.parser = Parser()
        self.status, self.headers = self._read_head()
        self._queue: list[Message] = []
        self.last_id: str | None = None
        self.closed = False
        self.finished = False  # the last chunk arrived: the server ended the body
        self._chunk_left = 0
        self._crlf_left = 0
        self._raw = b""

    def _read_head(self) -> tuple[int, dict[str, str]]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise StreamClosed("closed before headers")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        self._pending_body = rest
        return status, headers

    def _dechunk(self, data: bytes) -> bytes:
        """Undo chunked transfer encoding, keeping partial chunks for the next read."""
        self._raw += data
        out = b""
        while True:
            if self._crlf_left:
                skip = min(self._crlf_left, len(self._raw))
                self._raw, self._crlf_left = self._raw[skip:], self._crlf_left - skip
                if self._crlf_left:
                    return out
            if self._chunk_left == 0:
                line_end = self._raw.find(b"\r\n")
                if line_end < 0:
                    return out
                size = int(self._raw[:line_end].split(b";")[0], 16)
                self._raw = self._raw[line_end + 2 :]
                if size == 0:
                    self.closed = self.finished = True
                    return out
                self._chunk_left = size
            take = self._raw[: self._chunk_left]
            self._raw = self._raw[len(take) :]
            self._chunk_left -= len(take)
            out += take
            if self._chunk_left:
                return out
            self._crlf_left = 2

    def body(self) -> bytes:
        """Whatever body the server sent (for non-stream responses)."""
        data = self._pending_body
        length = int(self.headers.get("content-length", "-1"))
        while length < 0 or len(data) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def _fill(self, deadline: float) -> None:
        chunked = self.headers.get("transfer-encoding") == "chunked"
        if self._pending_body:
            data, self._pending_body = self._pending_body, b""
        else:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return
            if not data:
                self.closed = True
                return
        body = self._dechunk(data) if chunked else data
        self.body_bytes += len(body)
        if self._inflate is not None:
            body = self._inflate.decompress(body)
        for message in self.parser.feed(body):
            if message.id is not None:
                self.last_id = message.id
            if message.event == "heartbeat":
                self.heartbeats += 1
                if not self._heartbeats_too:
                    continue
            if message.event == "protocol":
                self.protocol = message.json()
                continue
            self._queue.append(message)

    def next(self, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while not self._queue:
            if self.closed:
                raise StreamClosed("stream ended")
            if time.monotonic() > deadline:
                raise TimeoutError("no event in time")
            self._fill(deadline)
        return self._queue.pop(0)

    def events(self, count: int, timeout: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        return [self.next(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    def wait_comment(self, text: str, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.parser.comments:
            if self.closed:
                raise StreamClosed("stream ended")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no comment {text!r} in time")
            self._fill(deadline)

    def wait_comments(self, text: str, count: int, timeout: float = 10.0) -> None:
        """Read until `count` comment lines `text` arrived on this connection."""
        deadline = time.monotonic() + timeout
        while self.parser.comments.count(text) < count:
            if self.closed:
                raise StreamClosed(f"stream ended after {self.parser.comments.count(text)} {text!r}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.parser.comments.count(text)} of {count} {text!r} in time")
            self._fill(deadline)

    def wait_closed(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.closed:
            if time.monotonic() > deadline:
                raise TimeoutError("stream still open")
            self._fill(deadline)

    def close(self) -> None:
        self.sock.close()


def open_stream(
    relay: Any, query: str = "", headers: dict[str, str] | None = None, **kwargs: Any
) -> SSEClient:
    """A stream from `relay` (anything with a `url`), once the relay has said `: connected`."""
    client = SSEClient(f"{relay.url}/events{query}", headers=headers, **kwargs)
    client.wait_comment("connected")
    return client

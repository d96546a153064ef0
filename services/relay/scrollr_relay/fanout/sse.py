"""Server-Sent Events wire format (WHATWG HTML, "Server-sent events", 9.2.6), as pure functions.

Frames are built once per event and shared by every connection that receives it.
"""

from __future__ import annotations

import msgspec

from scrollr_relay.bus.cursor import Cursor

CHANGE_EVENT = "change"
RESET_EVENT = "reset"
TRUNCATE_EVENT = "truncate"
HEARTBEAT_EVENT = "heartbeat"


def _single_line(value: str, what: str) -> str:
    # A CR or LF would end the field early and let the rest be read as another field.
    if "\n" in value or "\r" in value or "\0" in value:
        raise ValueError(f"SSE {what} must be a single line without NUL: {value!r}")
    return value


def frame(*, event: str, data: bytes, event_id: str | None = None) -> bytes:
    """One event. `data` is compact JSON, so it never holds a newline and needs one `data:` line."""
    if b"\n" in data or b"\r" in data:
        raise ValueError("SSE data must be a single line of compact JSON")
    head = f"event: {_single_line(event, 'event name')}\n"
    if event_id is not None:
        head = f"id: {_single_line(event_id, 'id')}\n" + head
    return head.encode() + b"data: " + data + b"\n\n"


def change_frame(cursor: Cursor, data: bytes) -> bytes:
    return frame(event=CHANGE_EVENT, data=data, event_id=str(cursor))


def truncate_frame(cursor: Cursor, data: bytes) -> bytes:
    """A TRUNCATE: the change event of action `truncate` under its own event name, so a client drops
    the table's rows (and one that doesn't know the name ignores it, as EventSource does)."""
    return frame(event=TRUNCATE_EVENT, data=data, event_id=str(cursor))


class ResetNotice(msgspec.Struct, frozen=True):
    reason: str
    cursor: str


def reset_frame(head: Cursor, reason: str) -> bytes:
    """Tells the client its position can't be honoured: refetch the snapshot.

    The frame carries the current head as its id, so that EventSource's own reconnect sends a usable
    id instead of the stale one (which would only earn another reset).
    """
    notice = msgspec.json.encode(ResetNotice(reason=reason, cursor=str(head)))
    return frame(event=RESET_EVENT, data=notice, event_id=str(head))


class Heartbeat(msgspec.Struct, frozen=True, omit_defaults=True):
    interval_ms: int
    # True while the relay can't read the bus: the stream is alive but no change can reach it, so
    # a client must not show its data as live (it shows how old it is instead).
    delayed: bool = False


def heartbeat_frame(interval_seconds: float, *, delayed: bool = False) -> bytes:
    """The periodic frame that keeps a stream provably alive, for proxies and for browsers alike.

    A `: ping` comment keeps proxies from timing out an idle stream and shows in `curl -N`, but
    EventSource never surfaces comments, so a frozen server would look live forever. The same frame
    therefore also carries a `heartbeat` event (no `id`, so the client's cursor is untouched) whose
    data says how often to expect it: a client that hears nothing for about two intervals knows the
    stream is dead and reconnects.
    """
    data = msgspec.json.encode(Heartbeat(interval_ms=round(interval_seconds * 1000), delayed=delayed))
    return b": ping\n" + frame(event=HEARTBEAT_EVENT, data=data)


PROTOCOL_EVENT = "protocol"
# The relay <-> client protocol: `version` is what this relay speaks; `oldest_client` the oldest
# client protocol it still serves. Raise `oldest_client` when a change would make older clients
# misbehave: they then say "a new version is available" (the dashboard) or update themselves (the
# extension) instead. Clients compare it with their own (web/shared/protocol.ts, CLIENT_PROTOCOL).
PROTOCOL_VERSION = 1
OLDEST_CLIENT_PROTOCOL = 1


class ProtocolNotice(msgspec.Struct, frozen=True):
    version: int
    oldest_client: int


def protocol_frame(version: int = PROTOCOL_VERSION, oldest_client: int = OLDEST_CLIENT_PROTOCOL) -> bytes:
    return frame(event=PROTOCOL_EVENT, data=msgspec.json.encode(ProtocolNotice(version, oldest_client)))


def preamble(retry_milliseconds: int, heartbeat_seconds: float) -> bytes:
    """The first bytes of every stream, sent at once: proxies see the stream is live, and the client
    learns the protocol version and the heartbeat interval (its watchdog) before the first one is due."""
    return (
        f"retry: {int(retry_milliseconds)}\n: connected\n\n".encode()
        + protocol_frame()
        + heartbeat_frame(heartbeat_seconds)
    )

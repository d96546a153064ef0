"""Private events: the changes that belong to one signed-in user, on that user's streams only.

A `user_preferences` change reaches the relay as any change does (the change feed, the webhook, the
bus), so it has a position in the one stream and resumes under the one cursor. It is kept out of
every public path: the hub's fan-out, its recent frames and a public replay all frame events through
`encode_frames` (hub.py), which leaves private topics out. Instead the hub hands each batch to
`PrivateRoutes.route`, which frames a user's change as `event: preferences` and writes it to the
streams opened with a ticket of that user (tickets.py), and to no other.

A signed-in stream gets every event in stream order, public and private alike, as its cursor
requires: were a private event written after a public one that follows it, a connection cut between
the two would resume past the private one and lose it. So the hub hands out a batch holding private
events in runs (`private_runs`: public frames, then the private events after them, and so on); a
stream's private part is registered before its replay, and its live private events go through the
stream's hand-over with the public ones (handover.py: held among them in stream order, released when
it goes live, skipped where the replay had them); the replay reads the bus and merges
the user's private events among the public ones (a signed-in resume is never served from the hub's
recent public frames). A private event takes its stream's own path (Subscriber.deliver_own): flow
control, conflation without ever being conflated away or overtaking the rows before it, and deflate
on its own, never through the filter group's shared compressor that other users' streams receive. It lasts until the access token behind the ticket
expires: then the stream ends, after an `event: token_expired`, and the client reconnects from its
cursor with a new ticket, so no event, public or private, is lost.
"""

from __future__ import annotations

import asyncio
import time
from itertools import groupby
from typing import Any

import msgspec

from scrollr_relay.accounts.preferences import Row, StoredPreferences, stored
from scrollr_relay.accounts.tickets import TicketGrant
from scrollr_relay.bus.cursor import Cursor, StreamId
from scrollr_relay.bus.event import StoredEvent
from scrollr_relay.fanout.frame import Frame
from scrollr_relay.fanout.sse import frame
from scrollr_relay.fanout.subscriber import OWN, Subscriber

PREFERENCES_TOPIC = "user_preferences"
PRIVATE_TOPICS = frozenset({PREFERENCES_TOPIC})
PREFERENCES_EVENT = "preferences"
CLOSE_TOKEN_EXPIRED = "token_expired"
TOKEN_EXPIRED_FRAME = frame(event="token_expired", data=b'{"reason":"token_expired"}')


class PreferencesEvent(msgspec.Struct, frozen=True):
    """The `data:` of an `event: preferences`: the account's preferences as GET /me/preferences
    gives them (its ETag is `version`); both null when they were deleted."""

    version: int | None
    preferences: StoredPreferences | None


class _Change(msgspec.Struct):
    action: str
    record: dict[str, Any]


_decode_change = msgspec.json.Decoder(_Change).decode
_encode = msgspec.json.Encoder().encode


def private_frame(epoch: str, event: StoredEvent) -> tuple[str, bytes] | None:
    """Pure: the user a private change belongs to and its frame; None for a public or unreadable one."""
    if event.topic != PREFERENCES_TOPIC:
        return None
    try:
        change = _decode_change(event.data)
        sub = change.record["sub"]
        if change.action == "delete":
            body = PreferencesEvent(version=None, preferences=None)
        else:
            row = msgspec.convert(change.record, Row)
            body = PreferencesEvent(version=row.version, preferences=stored(row))
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
        return None
    if not isinstance(sub, str):
        return None
    return sub, frame(event=PREFERENCES_EVENT, data=_encode(body), event_id=str(Cursor(epoch, event.id)))


def private_runs(events: list[StoredEvent]) -> list[list[StoredEvent]]:
    """Pure: `events` cut into consecutive runs of public events and of private ones, in order."""
    return [list(run) for _, run in groupby(events, key=lambda e: e.topic in PRIVATE_TOPICS)]


class PrivatePart:
    """One stream's private events: written as they come, or through its hand-over while it resumes."""

    __slots__ = ("expiry", "grant", "subscriber")

    def __init__(self, subscriber: Subscriber, grant: TicketGrant) -> None:
        self.subscriber = subscriber
        self.grant = grant
        self.expiry: asyncio.TimerHandle | None = None

    def deliver(self, position: StreamId, data: bytes) -> None:
        handover = self.subscriber.handover
        if handover is None:
            self.subscriber.deliver_own(data)
        else:  # held among the public frames, or skipped if the replay had it (handover.py)
            handover.offer_own(position, data)

    def own(self, epoch: str, events: list[StoredEvent]) -> list[Frame]:
        """The frames of this stream's user among `events` (a replay merges them with the public ones)."""
        mine: list[Frame] = []
        for event in events:
            found = private_frame(epoch, event)
            if found is not None and found[0] == self.grant.sub:
                mine.append(Frame(event.id, OWN, found[1], ()))
        return mine


class PrivateRoutes:
    """The signed-in streams of this process, by the user they belong to."""

    def __init__(self) -> None:
        self._by_sub: dict[str, dict[PrivatePart, None]] = {}

    @property
    def listening(self) -> bool:
        """Does any signed-in stream of this process wait for private events?"""
        return bool(self._by_sub)

    def streams_of(self, sub: str) -> int:
        return len(self._by_sub.get(sub, ()))

    def add(self, subscriber: Subscriber, grant: TicketGrant) -> PrivatePart:
        """Route `grant.sub`'s events to `subscriber` until it ends or the token expires."""
        part = PrivatePart(subscriber, grant)
        self._by_sub.setdefault(grant.sub, {})[part] = None
        loop = asyncio.get_running_loop()
        part.expiry = loop.call_later(max(0.0, grant.expires_at - time.time()), self._expire, part)
        subscriber.done.add_done_callback(lambda _: self._remove(part))
        return part

    def _remove(self, part: PrivatePart) -> None:
        if part.expiry is not None:
            part.expiry.cancel()
        parts = self._by_sub.get(part.grant.sub)
        if parts is not None:
            parts.pop(part, None)
            if not parts:
                del self._by_sub[part.grant.sub]

    def _expire(self, part: PrivatePart) -> None:
        part.subscriber.write(TOKEN_EXPIRED_FRAME)
        part.subscriber.close(CLOSE_TOKEN_EXPIRED)

    def route(self, epoch: str, events: list[StoredEvent]) -> None:
        """Called by the hub after each batch's public fan-out, with the same events."""
        if not self._by_sub:
            return
        for event in events:
            if event.topic not in PRIVATE_TOPICS:
                continue
            found = private_frame(epoch, event)
            if found is not None:
                for part in self._by_sub.get(found[0], ()):
                    part.deliver(event.id, found[1])

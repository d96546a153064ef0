"""Stream positions and the cursors clients hold.

A position is a Redis stream id `<ms>-<seq>`; the in-memory bus mints ids of the same shape so both
buses share this code. A client's cursor (the SSE `id:`) is `<epoch>-<ms>-<seq>`: the epoch names one
lifetime of the bus's history. When Redis restarts empty, or the in-memory bus restarts, the epoch
changes, so a cursor from before can be recognised as unusable and the client told to `reset`
instead of silently resuming in a different history.
"""

from __future__ import annotations

import re
import secrets
import string
from typing import NamedTuple

_EPOCH_RE = re.compile(r"[a-z0-9]{1,32}")
# ASCII digits only (str.isdigit() also takes "²" and other scripts' digits, which int() refuses),
# and at most 20 of them: Redis stream ids are two unsigned 64-bit numbers.
_PART_RE = re.compile(r"[0-9]{1,20}")
MAX_PART = 2**64 - 1
_ALPHABET = string.ascii_lowercase + string.digits
EPOCH_LENGTH = 8


class CursorError(ValueError):
    """A cursor or stream id could not be parsed."""


class StreamId(NamedTuple):
    """A position in the stream; tuples order the same way the stream does."""

    ms: int
    seq: int

    def __str__(self) -> str:
        return f"{self.ms}-{self.seq}"

    @classmethod
    def parse(cls, raw: str | bytes) -> StreamId:
        text = raw.decode() if isinstance(raw, bytes) else raw
        ms, sep, seq = text.partition("-")
        if not sep or not _PART_RE.fullmatch(ms) or not _PART_RE.fullmatch(seq):
            raise CursorError(f"not a stream id: {text[:64]!r}")
        parsed = cls(int(ms), int(seq))
        if parsed.ms > MAX_PART or parsed.seq > MAX_PART:
            raise CursorError(f"stream id out of range (each part below 2^64): {text[:64]!r}")
        return parsed


ORIGIN = StreamId(0, 0)
LAST_POSSIBLE = StreamId(MAX_PART, MAX_PART)


class Cursor(NamedTuple):
    epoch: str
    position: StreamId

    def __str__(self) -> str:
        return f"{self.epoch}-{self.position.ms}-{self.position.seq}"

    @classmethod
    def parse(cls, raw: str) -> Cursor:
        epoch, sep, rest = raw.strip().partition("-")
        if not sep or not _EPOCH_RE.fullmatch(epoch):
            raise CursorError(f"not a cursor (expected <epoch>-<ms>-<seq>): {raw[:64]!r}")
        return cls(epoch, StreamId.parse(rest))


def new_epoch() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(EPOCH_LENGTH))

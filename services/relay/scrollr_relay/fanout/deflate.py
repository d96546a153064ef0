"""`Content-Encoding: deflate` for streams that ask for it (`compress=deflate`), compressed once per
frame or once per filter group, never once per client.

A stream's body is one zlib stream: a two-byte header, then deflate blocks, each write ending on a
sync flush so the browser decodes it at once (nothing waits in a compressor). Deflate output made
by a fresh compressor refers to nothing before it, and a sync flush ends on a byte boundary, so such
a piece can follow any other in any client's stream: `alone(frame)` is each frame's, made once per
process. Alone, a change frame shrinks only to about 0.56x, because most of its bytes repeat the
previous frame's (keys, symbols, timestamps). What gets the rest is a `Segment`: a filter group's
compressor, whose every write goes to every client of the group that has received all of the
segment's writes so far — each write then refers back to the ones before it, as one client's own
compressor would, at one compression for the whole group. A client joins at a segment's first write
(after `restart`: the hub restarts every run once per heartbeat, and a run restarts by itself,
at most once every `REJOIN_SECONDS`, when a client of its group is out of it) and leaves it at any
write of its own (a heartbeat, a reset, a conflated round); meanwhile it gets `alone` pieces. The stream never ends the
zlib stream (no trailer): it ends with the connection, as a stream does, and decoders take that.
"""

from __future__ import annotations

import functools
import time
import zlib

ZLIB_HEADER = b"\x78\x9c"  # deflate, 32 kB window, default level: what zlib.compress writes
LEVEL = 6
# A client out of its group's run (new, or back from a write of its own) waits at most this long
# for a new run; every restart costs the clients in the run one less-compressed write.
REJOIN_SECONDS = 1.0


def _fresh() -> zlib._Compress:
    return zlib.compressobj(LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)


@functools.lru_cache(maxsize=8192)
def alone(data: bytes) -> bytes:
    """`data` as deflate blocks that refer to nothing before them: fits anywhere in a stream.

    Cached: frames are bytes objects shared by every client (Python caches their hash)."""
    compressor = _fresh()
    return compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)


class Segment:
    """One filter group's compressor; `generation` names the run of writes a client may be in."""

    __slots__ = ("_compressor", "_started", "generation", "users", "wanted")

    def __init__(self) -> None:
        self._compressor: zlib._Compress | None = None
        self._started = 0.0
        self.generation = 0
        self.users = 0  # the group's subscribers that deflate
        self.wanted = False  # one of them is out of the run: start a new one soon

    def restart(self) -> None:
        """The next write starts a new run, which every client of the group can join."""
        self._compressor = None

    def encode(self, data: bytes) -> tuple[int, bool, bytes]:
        """(generation, does it start the run?, `data` compressed after the run's earlier writes)."""
        if self.wanted and time.monotonic() - self._started >= REJOIN_SECONDS:
            self._compressor = None
        starts = self._compressor is None
        if self._compressor is None:
            self._compressor = _fresh()
            self._started = time.monotonic()
            self.wanted = False
            self.generation += 1
        return (
            self.generation,
            starts,
            self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH),
        )

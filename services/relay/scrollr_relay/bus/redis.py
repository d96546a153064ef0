"""The Redis bus: the stream `events:broadcast` shared by every relay process.

Publishing is one Lua script, so dedupe, append and trimming happen atomically: a batch is in the
stream whole or not at all, and two relays receiving the same retried delivery publish it once.
Companion keys carry the stream's name as a hash tag (`{events:broadcast}:...`) so they live in the
stream's slot and the scripts also run on Redis Cluster.

Redis does not record what trimming removed (`max-deleted-entry-id` only follows XDEL), so the
script trims explicitly and remembers the newest trimmed id: a cursor older than it has lost events.
The epoch key vanishes with the stream when Redis restarts empty, which is how old cursors are told
apart from new ones.

A failover is the other way history is lost: replication is asynchronous, so a promoted replica may
lack the last writes the old master acknowledged, and nobody can tell which. Every script reads the
server's replication id (`master_replid`, new on each promotion and each restart) and keeps it beside
the epoch: when the id differs, the epoch is renewed, so every cursor of the old history gets a
`reset` (a snapshot) instead of a silent gap. A failover costs each client one reset, never an event.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

from redis.exceptions import RedisError

from scrollr_relay.bus import BusUnavailable, EvictionRisk, HistoryGap, PublishResult, gap_reason
from scrollr_relay.bus.cursor import LAST_POSSIBLE, Cursor, StreamId, new_epoch
from scrollr_relay.bus.event import Envelope, StoredEvent
from scrollr_relay.config import DEFAULT_BUS_TIMEOUT_SECONDS
from scrollr_relay.redis_topology import SOCKET_TIMEOUT_SECONDS, Client, RedisSettings, connect

T = TypeVar("T")

# The replication id in INFO's text; a server that reports none (a Redis-compatible one without
# replication ids) has one lineage for its whole life, so a constant stands in for it.
LINEAGE_SCRIPT = """
local function lineage_of(info)
  return string.match(info, 'master_replid:(%w+)') or 'no-replid'
end
"""

# KEYS[5] holds the replication id the epoch was issued under: see the module's docstring.
_ENSURE_EPOCH = (
    LINEAGE_SCRIPT
    + """
local function ensure_epoch()
  local epoch = redis.call('GET', KEYS[2])
  local lineage = lineage_of(redis.call('INFO', 'replication'))
  if not epoch or redis.call('GET', KEYS[5]) ~= lineage then
    redis.call('SET', KEYS[2], ARGV[1])
    redis.call('SET', KEYS[5], lineage)
    epoch = ARGV[1]
  end
  return epoch
end
local function last_id()
  if redis.call('EXISTS', KEYS[1]) == 0 then return '0-0' end
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then return info[i + 1] end
  end
  return '0-0'
end
"""
)

# The eviction policy of the server holding the stream (KEYS[1] routes the script to it in a Cluster).
_EVICTION_POLICY = "return string.match(redis.call('INFO', 'memory'), 'maxmemory_policy:([%w-]+)') or ''"
# Policies that may evict keys without a TTL: the bus's keys (the stream, its epoch, its trimmed
# marker, its dedupe set) have none. Evicting the trimmed marker would let a trimmed cursor resume
# with a silent gap; evicting the dedupe set would publish a retried delivery twice.
EVICTING_POLICY_PREFIX = "allkeys-"

# KEYS: stream, epoch, dedupe zset, trimmed, lineage
# ARGV: candidate epoch, maxlen, min id ('' = no age limit), now ms, dedupe window ms,
#       then (dedupe key, topic, data) per envelope
_PUBLISH = (
    _ENSURE_EPOCH
    + """
local epoch = ensure_epoch()
local now = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - tonumber(ARGV[5])))
local published, duplicates = 0, 0
for i = 6, #ARGV, 3 do
  if redis.call('ZSCORE', KEYS[3], ARGV[i]) then
    duplicates = duplicates + 1
  else
    redis.call('ZADD', KEYS[3], now, ARGV[i])
    redis.call('XADD', KEYS[1], '*', 't', ARGV[i + 1], 'd', ARGV[i + 2])
    published = published + 1
  end
end
local maxlen = tonumber(ARGV[2])
local excess = redis.call('XLEN', KEYS[1]) - maxlen
-- Trim in chunks of about 1% so the XRANGE that finds the newest trimmed id is amortised.
if excess > 0 and excess >= math.max(1, math.floor(maxlen / 100)) then
  local doomed = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)
  redis.call('SET', KEYS[4], doomed[#doomed][1])
  redis.call('XTRIM', KEYS[1], 'MAXLEN', maxlen)
end
if ARGV[3] ~= '' then
  local older = redis.call('XREVRANGE', KEYS[1], '(' .. ARGV[3], '-', 'COUNT', 1)
  if #older > 0 then
    redis.call('SET', KEYS[4], older[1][1])
    redis.call('XTRIM', KEYS[1], 'MINID', ARGV[3])
  end
end
return {epoch, published, duplicates, last_id()}
"""
)

# KEYS: stream, epoch, dedupe zset, trimmed, lineage.  ARGV: candidate epoch, after id ('' = head only), count
_READ = (
    _ENSURE_EPOCH
    + """
local epoch = ensure_epoch()
local trimmed = redis.call('GET', KEYS[4]) or '0-0'
local entries = {}
if ARGV[2] ~= '' then
  entries = redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])
end
return {epoch, last_id(), trimmed, entries}
"""
)

# Commands in flight per process (the hub's blocking read aside). A reconnect storm asks for
# thousands of backlog reads at once: they wait their turn for one of these (up to the socket
# timeout) instead of each opening a connection, which ran into Redis's client limits and ended streams.
CONCURRENT_COMMANDS = 32
# Backlog reads (replays) take turns of their own: 20 clients resuming from far back and hanging up
# in a loop once queued on the turns above and held webhooks and /readyz for 10 s each.
REPLAY_COMMANDS = 8


@contextlib.contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Any Redis failure (or a socket error while connecting) as BusUnavailable."""
    try:
        yield
    except (RedisError, OSError) as exc:
        raise BusUnavailable(f"redis: {exc}") from exc


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _stored(entry: list[Any]) -> StoredEvent:
    raw_id, flat = entry
    fields = {_text(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}
    return StoredEvent(id=StreamId.parse(raw_id), topic=_text(fields["t"]), data=bytes(fields["d"]))


class RedisBus:
    def __init__(
        self,
        settings: RedisSettings,
        *,
        stream_key: str,
        maxlen: int,
        max_age_seconds: int = 0,
        dedupe_window_seconds: int,
        deadline_seconds: float = DEFAULT_BUS_TIMEOUT_SECONDS,
    ) -> None:
        self._settings = settings
        self._deadline_seconds = deadline_seconds
        self._client: Client | None = None
        self._connecting = asyncio.Lock()
        self._turns = asyncio.Semaphore(CONCURRENT_COMMANDS)
        self._replay_turns = asyncio.Semaphore(REPLAY_COMMANDS)
        tag = "{" + stream_key + "}"
        self._keys = [stream_key, f"{tag}:epoch", f"{tag}:dedupe", f"{tag}:trimmed", f"{tag}:lineage"]
        self._maxlen = maxlen
        self._max_age_ms = max_age_seconds * 1000
        self._dedupe_window_ms = dedupe_window_seconds * 1000
        # EVAL, not EVALSHA: a restarted Redis or a promoted replica has no script cache, and
        # EVALSHA's NOSCRIPT then raced its own reload under concurrent calls (seen stalling the
        # reader after a restart). The scripts are small; Redis caches what EVAL compiles.
        self._publish = functools.partial(self._eval, _PUBLISH)
        self._read = functools.partial(self._eval, _READ)

    async def _redis(self) -> Client:
        if self._client is None:
            async with self._connecting:
                if self._client is None:
                    self._client = await connect(self._settings)
        return self._client

    async def _command(self, call: Callable[[Client], Awaitable[T]], turns: asyncio.Semaphore) -> T:
        """Run one command in its turn; any Redis failure (or no turn in time) is BusUnavailable."""
        try:
            async with asyncio.timeout(SOCKET_TIMEOUT_SECONDS):
                await turns.acquire()
        except TimeoutError:
            raise BusUnavailable("redis: no free connection in time") from None
        try:
            with _unavailable_on_failure():
                return await call(await self._redis())
        finally:
            turns.release()

    async def _within_deadline(self, command: Awaitable[T]) -> T:
        """`command`, or BusUnavailable once BUS_TIMEOUT_SECONDS have passed, turn and retries included.

        A frozen Redis (accepting connections, answering nothing) otherwise held a webhook for three
        socket timeouts (30 s), past a proxy's read timeout, so Sequin saw a gateway error instead of
        the 503 it retries. redis-py drops a connection whose command was cancelled, so nothing
        stale is read from it later.
        """
        try:
            async with asyncio.timeout(self._deadline_seconds):
                return await command
        except TimeoutError:
            raise BusUnavailable(f"redis: no answer within {self._deadline_seconds:g} s") from None

    async def _eval(
        self, script: str, *, keys: list[str], args: Sequence[Any], turns: asyncio.Semaphore | None = None
    ) -> Any:
        return await self._command(
            lambda r: r.eval(script, len(keys), *keys, *args), turns if turns is not None else self._turns
        )

    async def publish(self, envelopes: Sequence[Envelope]) -> PublishResult:
        now_ms = int(time.time() * 1000)
        min_id = f"{now_ms - self._max_age_ms}-0" if self._max_age_ms else ""
        args: list[str | bytes | int] = [new_epoch(), self._maxlen, min_id, now_ms, self._dedupe_window_ms]
        for envelope in envelopes:
            args += [envelope.dedupe_key, envelope.topic, envelope.data]
        epoch, published, duplicates, last = await self._within_deadline(
            self._publish(keys=self._keys, args=args)
        )
        head = Cursor(_text(epoch), StreamId.parse(last))
        return PublishResult(published=int(published), duplicates=int(duplicates), head=head)

    async def _read_script(
        self, after: StreamId | None, limit: int, turns: asyncio.Semaphore | None = None
    ) -> tuple[str, StreamId, StreamId, list[Any]]:
        epoch, last, trimmed, entries = await self._read(
            keys=self._keys, args=[new_epoch(), "" if after is None else str(after), limit], turns=turns
        )
        return _text(epoch), StreamId.parse(last), StreamId.parse(trimmed), entries

    async def head(self) -> Cursor:
        epoch, last, _, _ = await self._read_script(None, 0)
        return Cursor(epoch, last)

    async def read_after(self, cursor: Cursor, limit: int) -> list[StoredEvent]:
        return await self._read_after(cursor, limit, self._turns)

    async def replay_after(self, cursor: Cursor, limit: int) -> list[StoredEvent]:
        return await self._read_after(cursor, limit, self._replay_turns)

    async def _read_after(self, cursor: Cursor, limit: int, turns: asyncio.Semaphore) -> list[StoredEvent]:
        # Nothing can follow the largest id, and XRANGE refuses an interval that starts past it.
        after = None if cursor.position == LAST_POSSIBLE else cursor.position
        epoch, last, trimmed, entries = await self._read_script(after, limit, turns)
        reason = gap_reason(cursor, epoch, trimmed, last)
        if reason is not None:
            raise HistoryGap(reason)
        return [_stored(entry) for entry in entries]

    async def wait_after(self, position: StreamId, timeout_seconds: float) -> None:
        # Outside the turns: one per process (the hub's reader), and it holds its connection blocked.
        with _unavailable_on_failure():
            client = await self._redis()
            await client.xread({self._keys[0]: str(position)}, count=1, block=int(timeout_seconds * 1000))

    async def ping(self) -> None:
        # The read script, not PING: ready means the bus works, and Redis can answer PING while
        # refusing the scripts (a replica's READONLY, a user without the `info` or `eval` command).
        policy = await self._within_deadline(self._readiness())
        if policy.startswith(EVICTING_POLICY_PREFIX):
            raise EvictionRisk(
                f"redis maxmemory-policy is {policy}, which can evict the bus's keys (a trimmed cursor "
                "would then resume with a silent gap): set maxmemory-policy to noeviction"
            )

    async def _readiness(self) -> str:
        """The read script runs; and the eviction policy of the server holding the stream."""
        await self.head()
        return _text(await self._eval(_EVICTION_POLICY, keys=self._keys[:1], args=[]))

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

"""How many backlog replays that read the bus may run at once, per process and per client. Pure.

A resume served from the recent frames (recent.py) costs no bus read and takes no slot. One that
must read the bus does, from before its response starts until its replay ends; past either cap it is
refused (503 for the process, 429 for one client) so that it retries later, instead of queueing
reads that no one may be waiting for any more.
"""

from __future__ import annotations

LIMIT_PROCESS = "replays"
LIMIT_CLIENT = "replays_per_client"


class ReplaySlots:
    def __init__(self, *, per_process: int, per_client: int) -> None:
        self._per_process = per_process
        self._per_client_cap = per_client  # 0: no per-client cap
        self._total = 0
        self._per_client: dict[str, int] = {}

    @property
    def taken(self) -> int:
        return self._total

    def take(self, client: str) -> ReplaySlot | str:
        """A slot for `client`, or the name of the limit reached if there is none."""
        if self._total >= self._per_process:
            return LIMIT_PROCESS
        held = self._per_client.get(client, 0)
        if self._per_client_cap and held >= self._per_client_cap:
            return LIMIT_CLIENT
        self._total += 1
        self._per_client[client] = held + 1
        return ReplaySlot(self, client)

    def _give_back(self, client: str) -> None:
        self._total -= 1
        held = self._per_client[client]
        if held > 1:
            self._per_client[client] = held - 1
        else:
            del self._per_client[client]


class ReplaySlot:
    """One slot taken; given back once, however many of a stream's exits give it back."""

    __slots__ = ("_client", "_slots")

    def __init__(self, slots: ReplaySlots, client: str) -> None:
        self._slots: ReplaySlots | None = slots
        self._client = client

    def give_back(self) -> None:
        if self._slots is not None:
            self._slots._give_back(self._client)
            self._slots = None

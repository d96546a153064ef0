"""A test client's view of the rows: snapshot, then events applied by the client's own rule.

Rule (README, "The client's rule"): rows are keyed by table and primary key; an event replaces the
row whole (or removes it on delete) unless the row already holds a newer change by
(commit_lsn, commit_idx). `reset` means: refetch the snapshot. The rule applied is the clients'
real one, `web/shared/rows.ts` (tombstones capped and all), run by node (`web/tests/rows-cli.ts`),
not a Python copy of it.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import tempfile
import threading
import weakref
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.support.sse import Message, SSEClient, StreamClosed

CLONE_NEWNET = 0x40000000
ROOT = Path(__file__).resolve().parents[2]
_built: Path | None = None
_build_lock = threading.Lock()


def rows_cli() -> Path:
    """rows.ts and its command-line shell bundled for node, once per test process."""
    global _built
    with _build_lock:
        if _built is None:
            out = Path(tempfile.mkdtemp(prefix="scrollr-rows-")) / "rows-cli.mjs"
            subprocess.run(
                [
                    ROOT / "node_modules/.bin/esbuild",
                    "web/tests/rows-cli.ts",
                    "--bundle",
                    "--platform=node",
                    "--format=esm",
                    f"--outfile={out}",
                    "--log-level=warning",
                ],
                cwd=ROOT,
                check=True,
            )
            _built = out
        return _built


class Rows:
    """One client's rows, held by a node process running rows.ts."""

    def __init__(self) -> None:
        self.cursor: str | None = None
        self._node = subprocess.Popen(
            ["node", str(rows_cli())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
        )
        # A follower's thread applies events while the test's thread reads the rows: one question
        # and its answer at a time, or answers go to the wrong asker.
        self._asking = threading.Lock()
        weakref.finalize(self, self._node.kill)

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self._node.stdin is not None and self._node.stdout is not None
        with self._asking:
            self._node.stdin.write(json.dumps(request) + "\n")
            answer: dict[str, Any] = json.loads(self._node.stdout.readline())
        if "error" in answer:
            raise ValueError(f"rows.ts refused {request['op']}: {answer['error']}")
        return answer

    @property
    def tables(self) -> dict[str, dict[str, dict[str, Any]]]:
        lists = self._ask({"op": "rows"})["tables"]
        return {table: {str(row["id"]): row for row in rows} for table, rows in lists.items()}

    def load_snapshot(self, base: str) -> None:
        snapshot = httpx.get(f"{base}/snapshot", timeout=10).json()
        self._ask({"op": "snapshot", "snapshot": snapshot})
        self.cursor = snapshot["cursor"]

    def apply(self, event: Message) -> bool:
        """Apply a change event; whether it changed a row (False: not newer than the row's)."""
        return bool(self._ask({"op": "apply", "data": event.data, "id": event.id or ""})["changed"])

    def follow(self, base: str) -> SSEClient:
        """Snapshot, then the stream from the snapshot's cursor."""
        self.load_snapshot(base)
        client = SSEClient(f"{base}/events", headers={"Last-Event-ID": self.cursor or ""})
        client.wait_comment("connected")
        return client


class Follower:
    """A client that keeps following, in a thread of its own, the way the dashboard's worker does:
    snapshot, stream from its cursor, resume with `Last-Event-ID` when the stream ends or falls
    silent for `silence_seconds` (the heartbeat watchdog), start over from a snapshot on `reset`.

    `netns` runs it inside a network namespace (multi-host tests): the thread enters it before
    opening any socket, so every connection it makes starts there.
    """

    def __init__(self, base: str, *, silence_seconds: float, netns: str | None = None) -> None:
        self.base = base
        self.silence_seconds = silence_seconds
        self.netns = netns
        self.rows = Rows()
        self.changes: list[tuple[str, str]] = []  # (id, data) of every change applied, in order
        self.resets: list[str] = []  # each reset's reason
        self.connects = 0
        self.live = threading.Event()  # set while a stream is open and past its preamble
        self.served_by: list[str] = []  # X-Upstream of each stream, when a proxy names it
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"follower {base}")

    def prices(self) -> dict[str, str]:
        """Every trade's price by id, as `trade_prices` gives the database's."""
        return {
            key: f"{Decimal(str(row['price'])):.2f}"
            for key, row in self.rows.tables.get("trades", {}).items()
        }

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.silence_seconds + 15)

    def _run(self) -> None:
        if self.netns is not None:
            enter_netns(self.netns)
        attempt = 0
        while not self._stop.is_set():
            try:
                if self.rows.cursor is None:
                    self.rows.load_snapshot(self.base)
                self._stream()
                attempt = 0
            except (OSError, StreamClosed, TimeoutError, httpx.HTTPError, ValueError):
                pass
            self.live.clear()
            attempt += 1
            # The client's own retry backoff (as the dashboard's), not a test waiting for something.
            self._stop.wait(min(0.1 * 2**attempt, 1.0))

    def _stream(self) -> None:
        client = SSEClient(
            f"{self.base}/events",
            headers={"Last-Event-ID": self.rows.cursor or ""},
            timeout=self.silence_seconds,
            heartbeats_too=True,
        )
        try:
            if client.status != 200:
                raise StreamClosed(f"status {client.status}")
            self.connects += 1
            self.served_by.append(client.headers.get("x-upstream", ""))
            client.wait_comment("connected", timeout=self.silence_seconds)
            self.live.set()
            while not self._stop.is_set():
                message = client.next(timeout=self.silence_seconds)  # a heartbeat counts as a message
                if message.event not in {"change", "reset"}:
                    continue  # heartbeats, and any event this client doesn't know
                if message.event == "reset":
                    self.resets.append(message.json()["reason"])
                    self.rows.cursor = None  # start over: snapshot, then stream from its cursor
                    return
                self.rows.apply(message)
                self.changes.append((message.id or "", message.data))
                self.rows.cursor = message.id
        finally:
            client.close()


def enter_netns(name: str) -> None:
    """Move the calling thread (only it) into the network namespace `ip netns` calls `name`."""
    libc = ctypes.CDLL(None, use_errno=True)
    with open(f"/var/run/netns/{name}") as handle:
        if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name}")

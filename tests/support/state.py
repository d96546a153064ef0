"""A test client's view of the rows: snapshot, then events applied by the documented client rule.

Rule (README, "The client's rule"): rows are keyed by table and primary key; an event replaces the
row whole (or removes it on delete) unless the row already holds a newer change by
(commit_lsn, commit_idx). `reset` means: refetch the snapshot.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.sse import Message, SSEClient


class Rows:
    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}
        self.versions: dict[tuple[str, str], tuple[int, int]] = {}
        self.cursor: str | None = None

    def load_snapshot(self, base: str) -> None:
        snapshot = httpx.get(f"{base}/snapshot", timeout=10).json()
        self.cursor = snapshot["cursor"]
        self.tables = {t: {str(r["id"]): r for r in rows} for t, rows in snapshot["rows"].items()}
        self.versions.clear()

    def apply(self, event: Message) -> None:
        data = event.json()
        key = str(data["record"]["id"])
        version = (data["commit_lsn"] or 0, data["commit_idx"] if data["commit_idx"] is not None else -1)
        held = self.versions.get((data["table"], key))
        if held is not None and version <= held:
            return
        self.versions[(data["table"], key)] = version
        table = self.tables.setdefault(data["table"], {})
        if data["action"] == "delete":
            table.pop(key, None)
        else:
            table[key] = data["record"]

    def follow(self, base: str) -> SSEClient:
        """Snapshot, then the stream from the snapshot's cursor."""
        self.load_snapshot(base)
        client = SSEClient(f"{base}/events", headers={"Last-Event-ID": self.cursor or ""})
        client.wait_comment("connected")
        return client

"""Building and sending Sequin-shaped webhook deliveries in tests."""

from __future__ import annotations

import base64
import itertools
import json
from pathlib import Path
from typing import Any

import httpx

from tests.support.procs import SECRET

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "sequin"  # Sequin's own example bodies
assert len(list(EXAMPLES.glob("*.json"))) == 4, f"Sequin example bodies missing from {EXAMPLES}"
_lsn = itertools.count(50_000_000)


def trade_message(
    symbol: str, price: str, *, action: str = "update", lsn: int | None = None, idx: int = 0, row_id: int = 1
) -> dict[str, Any]:
    commit_lsn = next(_lsn) if lsn is None else lsn
    return {
        "record": {"id": row_id, "symbol": symbol, "price": price, "direction": "up"},
        "changes": {"price": "1.00"} if action == "update" else None,
        "action": action,
        "metadata": {
            "table_schema": "public",
            "table_name": "trades",
            "commit_timestamp": "2026-11-27T00:00:00.000000Z",
            "commit_lsn": commit_lsn,
            "commit_idx": idx,
            "idempotency_key": base64.b64encode(f"{commit_lsn}:{idx}".encode()).decode(),
            "record_pks": [str(row_id)],
            "some_future_key": {"ignored": True},
        },
    }


def game_message(game_id: int, home: int, away: int) -> dict[str, Any]:
    message = trade_message("X", "1", row_id=game_id)
    message["record"] = {"id": game_id, "home_team_score": home, "away_team_score": away, "state": "in"}
    message["metadata"]["table_name"] = "games"
    return message


def batch(*messages: dict[str, Any]) -> bytes:
    return json.dumps({"data": list(messages)}).encode()


def post(
    base: str, body: bytes, *, headers: dict[str, str] | None = None, auth: bool = True
) -> httpx.Response:
    sent = {"content-type": "application/json", **(headers or {})}
    if auth:
        sent.setdefault("authorization", f"Bearer {SECRET}")
    return httpx.post(f"{base}/webhooks/sequin", content=body, headers=sent, timeout=30)


def publish(relay: Any, *symbols: str) -> dict[str, Any]:
    """Post one batch of trade updates, one per symbol, and require a 200."""
    response = post(relay.url, batch(*(trade_message(s, "1.00") for s in symbols)))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result

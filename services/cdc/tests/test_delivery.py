"""Delivery's refusals against a real relay: a refused change alone comes back (split out of its
batch), its row's later changes are held behind it, and the other rows are delivered."""

import pytest
from scrollr_cdc.delivery import WAITING, Delivery, refuses_the_changes
from scrollr_core.backoff import Backoff

from tests.support.procs import SECRET
from tests.support.sequin import game_message, trade_message
from tests.support.sse import open_stream


@pytest.mark.parametrize(
    ("status", "refused"),
    [
        *[(400, True), (413, True), (422, True)],
        *[(408, False), (429, False), (401, False), (404, False), (500, False), (503, False), (200, False)],
    ],
)
def test_which_statuses_refuse_the_changes_themselves(status, refused):
    assert refuses_the_changes(status) is refused


def delivery_to(relay, stop=lambda: False):
    return Delivery(
        f"{relay.url}/webhooks/sequin",
        SECRET,
        timeout_seconds=10,
        backoff=Backoff(initial_seconds=0.05, max_seconds=0.1),
        should_stop=stop,
    )


def symbols(events):
    return [e.json()["record"].get("symbol") for e in events]


def test_a_change_over_the_body_limit_is_split_out_and_its_row_waits(start_relay):
    relay = start_relay({"WEBHOOK_MAX_BODY_BYTES": "65536"})
    client = open_stream(relay)
    big = game_message(7, 1, 0)
    big["record"]["venue"] = "v" * 200_000
    later_of_the_same_row = game_message(7, 2, 0)
    others = [trade_message(f"S{n}", "1.00", row_id=n) for n in range(5)]
    blocked: set[str] = set()
    refusals = delivery_to(relay).deliver(
        [others[0], big, *others[1:3], later_of_the_same_row, *others[3:]], blocked
    )
    assert [(r.message, r.reason[:8]) for r in refusals] == [
        (big, "HTTP 413"),
        (later_of_the_same_row, WAITING[:8]),
    ]
    assert symbols(client.events(5, timeout=10)) == [f"S{n}" for n in range(5)]
    assert len(blocked) == 1


def test_one_malformed_change_is_found_by_splitting_and_the_rest_delivered(start_relay):
    relay = start_relay({})
    client = open_stream(relay)
    batch = [trade_message(f"M{n}", "1.00", row_id=n) for n in range(9)]
    batch[6]["metadata"]["table_name"] = ""  # the relay answers 400 naming the field
    refusals = delivery_to(relay).deliver(batch, set())
    assert [r.message for r in refusals] == [batch[6]]
    assert "HTTP 400" in refusals[0].reason and "table_name" in refusals[0].reason
    assert symbols(client.events(8, timeout=10)) == [f"M{n}" for n in range(9) if n != 6]


def test_a_wrong_secret_is_retried_not_parked(start_relay):
    relay = start_relay({})
    delivery = Delivery(
        f"{relay.url}/webhooks/sequin",
        "another-secret-0123456789",
        timeout_seconds=10,
        backoff=Backoff(initial_seconds=0.01, max_seconds=0.01),
        should_stop=lambda: delivery.failures >= 3,
    )
    assert delivery.deliver([trade_message("A", "1.00")], set()) is None  # still trying when stopped
    assert delivery.failures == 3

import json

import msgspec
import pytest
from scrollr_relay.bus.event import ChangeEvent
from scrollr_relay.ingest.sequin import WebhookFormatError, decode_webhook, envelope_for

from tests.support.sequin import EXAMPLES, trade_message


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_sequin_example_decodes_to_events_with_its_table_action_record_and_changes(path):
    raw = json.loads(path.read_bytes())
    expected = raw.get("data", [raw])
    messages = decode_webhook(path.read_bytes())
    assert len(messages) == len(expected)
    for message, want in zip(messages, expected, strict=True):
        data = envelope_for(message).data
        assert b"\n" not in data  # the examples are pretty-printed; SSE data must be one line
        event = msgspec.json.decode(data, type=ChangeEvent)
        assert event.table == want["metadata"]["table_name"]
        assert event.action == want["action"]
        assert json.loads(bytes(event.record)) == want["record"]
        assert json.loads(bytes(event.changes)) == want["changes"]
        assert event.commit_lsn == want["metadata"]["commit_lsn"]
        assert envelope_for(message).dedupe_key == want["metadata"]["idempotency_key"]


def test_unknown_keys_are_ignored_not_rejected():
    message = trade_message("NVDA", "1.00")
    message["brand_new_top_level"] = 1
    assert decode_webhook(json.dumps(message).encode())[0].metadata.table_name == "trades"


def test_backfill_read_may_lack_commit_lsn():
    message = trade_message("NVDA", "1.00", action="read")
    del message["metadata"]["commit_lsn"], message["metadata"]["commit_idx"]
    assert decode_webhook(json.dumps(message).encode())[0].metadata.commit_lsn is None


def _bad(mutate):
    message = trade_message("NVDA", "1.00")
    mutate(message)
    return json.dumps({"data": [trade_message("AAPL", "2.00"), message]}).encode()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", "Malformed JSON"),
        (b"[1, 2]", "JSON object"),
        (_bad(lambda m: m.update(action="upsert")), "$.data[1].action"),
        (_bad(lambda m: m["metadata"].pop("idempotency_key")), "idempotency_key"),
        (_bad(lambda m: m["metadata"].update(commit_lsn="x")), "$.data[1].metadata.commit_lsn"),
        (_bad(lambda m: m.update(record=[1])), "$.data[1].record"),
        (_bad(lambda m: m.update(changes="yes")), "$.data[1].changes"),
        (_bad(lambda m: m["metadata"].pop("commit_idx")), "commit_idx"),
        (_bad(lambda m: m.pop("metadata")), "metadata"),
        (b'{"data": []}', "Empty batch"),
    ],
)
def test_invalid_bodies_are_refused_with_an_error_naming_the_problem(body, names):
    with pytest.raises(WebhookFormatError, match=r".*" + names.replace("$", r"\$").replace("[", r"\[")):
        decode_webhook(body)


def _insert(record: bytes, table: str = "trades") -> bytes:
    meta = json.dumps(
        {
            "table_schema": "public",
            "table_name": table,
            "idempotency_key": "k",
            "commit_lsn": 1,
            "commit_idx": 0,
        }
    )
    return b'{"record":' + record + b',"action":"insert","metadata":' + meta.encode() + b"}"


def test_invalid_utf8_inside_a_record_is_refused():
    with pytest.raises(WebhookFormatError, match="UTF-8"):
        decode_webhook(_insert(b'{"symbol":"\xff\xfe"}'))


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_nesting_deeper_than_can_be_decoded_is_a_format_error(depth):
    with pytest.raises(WebhookFormatError, match="nested too deeply"):
        decode_webhook(_insert(b'{"a":' * depth + b"1" + b"}" * depth))


def test_nesting_a_little_deep_is_accepted():
    assert decode_webhook(_insert(b'{"a":' * 100 + b"1" + b"}" * 100))


@pytest.mark.parametrize("table", ["OrderItems", "trade_history$2026", "a,b"])
def test_any_postgres_table_name_is_accepted(table):
    assert decode_webhook(_insert(b"{}", table))[0].metadata.table_name == table


@pytest.mark.parametrize("table", ["", "x" * 64, "a\u0000b"])
def test_table_names_no_table_can_have_are_refused(table):
    with pytest.raises(WebhookFormatError, match="table_name"):
        decode_webhook(_insert(b"{}", table))

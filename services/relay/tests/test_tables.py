"""The table registry (tables.py) is the one place the streamed tables are declared: the relay's
filters and snapshot follow it, the web's generated tables.ts matches it, and the migrations create
what it names."""

from dataclasses import fields
from pathlib import Path

import pytest
import yaml
from scrollr_relay.fanout.filters import StreamFilter, parse_filter
from scrollr_relay.fanout.private import PRIVATE_TOPICS
from scrollr_relay.serve.catalog import LEAGUES_QUERY, SYMBOLS_QUERY
from scrollr_relay.serve.snapshot import select_rows
from scrollr_relay.tables import FILTER_BY_TABLE, SCHEMA, TABLE_NAMES, TABLES, TYPESCRIPT_PATH, typescript

from tests.support.pg import execute

ROOT = Path(__file__).resolve().parents[3]
# What the change feed carries: the streamed tables, and the private ones (user_preferences:
# routed to its user's streams by private.py, never snapshotted nor framed publicly).
CARRIED = {*TABLE_NAMES, *PRIVATE_TOPICS}


def test_the_web_tables_module_is_the_one_generated_from_the_registry():
    assert (ROOT / TYPESCRIPT_PATH).read_text() == typescript(), (
        f"{TYPESCRIPT_PATH} is out of date: run `just tables` (python -m scrollr_relay.tables > {TYPESCRIPT_PATH})"
    )


def test_every_row_filter_of_the_registry_is_a_field_of_the_stream_filter():
    params = {spec.param for spec in FILTER_BY_TABLE.values()}
    assert params == {f.name for f in fields(StreamFilter)} - {"topics"}


@pytest.mark.parametrize("table", [t for t in TABLES if t.filter is not None], ids=lambda t: t.name)
def test_a_tables_filter_parameter_chooses_its_rows_by_its_column(table):
    chosen = parse_filter(f"{table.filter.param}=X1,Y2".encode(), 64)
    assert chosen is not None and chosen.rows_of(table.name) == {"X1", "Y2"}
    assert all(chosen.rows_of(other) is None for other in TABLE_NAMES if other != table.name)
    query, params = select_rows(table.name, chosen)
    assert params == (["X1", "Y2"],)
    text = query.as_string(None)
    assert f'"{table.filter.column}" = ANY(%s)' in text and f'ORDER BY "{table.key}"' in text
    assert select_rows(table.name, None)[1] == ()


def test_the_catalog_offers_each_filters_values_from_its_catalog_table():
    for query, table in ((SYMBOLS_QUERY, "trades"), (LEAGUES_QUERY, "games")):
        spec = FILTER_BY_TABLE[table]
        assert query.startswith(f"SELECT {spec.column},") and f"FROM {spec.catalog} WHERE enabled" in query


def test_sequin_is_told_to_send_the_streamed_tables():
    config = yaml.safe_load((ROOT / "deploy" / "sequin.yaml").read_text().replace("${", "$"))
    assert {sink["table"] for sink in config["sinks"]} == {f"{SCHEMA}.{name}" for name in CARRIED}


def primary_key(database_url: str, table: str) -> list[str]:
    query = (
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary"
    )
    return [name for (name,) in execute(database_url, query, (f"{SCHEMA}.{table}",))]


def column_length(database_url: str, table: str, column: str) -> int | None:
    rows = execute(
        database_url,
        "SELECT character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s AND column_name = %s",
        (SCHEMA, table, column),
    )
    assert rows, f"the migrations create no column {table}.{column}"
    return rows[0][0]


def test_the_migrations_create_the_registrys_tables_keys_filter_columns_and_catalogs(database_url):
    published = execute(
        database_url, "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'scrollr'"
    )
    assert set(published) == {(SCHEMA, name) for name in CARRIED}
    for table in TABLES:
        assert primary_key(database_url, table.name) == [table.key]
        if table.filter is None:
            continue
        spec = table.filter
        # The filter refuses a value longer than the column holds, and the catalog offers values that fit.
        assert column_length(database_url, table.name, spec.column) == spec.max_chars
        assert primary_key(database_url, spec.catalog) == [spec.column]
        assert column_length(database_url, spec.catalog, spec.column) == spec.max_chars

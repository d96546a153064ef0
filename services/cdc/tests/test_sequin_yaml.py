"""deploy/sequin.yaml must keep pointing Sequin at this relay, authenticated, for every table, and name
the slot and publication the migrations create."""

import re
from pathlib import Path

import yaml

from tests.support.pg import execute, new_database, remove_cluster, start_cluster

CONFIG = Path(__file__).resolve().parents[3] / "deploy" / "sequin.yaml"


def load():
    # Sequin substitutes ${VAR:-default} before parsing; do the same with placeholders.
    text = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: m.group(2) or f"<{m.group(1)}>", CONFIG.read_text())
    return yaml.safe_load(text)


def test_sinks_cover_every_table_and_post_to_the_relay_webhook():
    config = load()
    endpoints = {e["name"]: e for e in config["http_endpoints"]}
    tables = set()
    for sink in config["sinks"]:
        assert sink["destination"]["type"] == "webhook"
        endpoint = endpoints[sink["destination"]["http_endpoint"]]
        assert endpoint["url"].endswith("/webhooks/sequin")
        assert sink["database"] in {d["name"] for d in config["databases"]}
        assert sink["batch_size"] > 1
        tables.add(sink["table"])
    assert tables == {"public.trades", "public.games", "public.user_preferences"}


def test_the_secret_travels_as_an_encrypted_bearer_header():
    endpoint = load()["http_endpoints"][0]
    headers = {h["key"]: h["value"] for h in endpoint["encrypted_headers"]}
    assert headers == {"Authorization": "Bearer <SEQUIN_WEBHOOK_SECRET>"}
    assert "headers" not in endpoint  # never in plain headers


def test_the_migrations_create_the_slot_and_publication_sequin_is_told_to_read():
    (database,) = load()["databases"]
    tables = {(t["table_schema"], t["table_name"]) for t in database["tables"]}
    assert {s["table"] for s in load()["sinks"]} == {f"{schema}.{name}" for schema, name in tables}
    # A cluster of its own: the role that marks a database Sequin reads is cluster-wide.
    cluster = start_cluster()
    try:
        local = new_database(cluster)
        assert execute(local, "SELECT slot_name FROM pg_replication_slots") == []  # no idle slot locally
        execute(local, "CREATE ROLE sequin WITH LOGIN REPLICATION")
        production = new_database(cluster)
        slots = execute(production, "SELECT slot_name, plugin, database FROM pg_replication_slots")
        published = execute(
            production,
            "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = %s",
            (database["publication_name"],),
        )
    finally:
        remove_cluster(cluster)
    assert slots == [(database["slot_name"], "pgoutput", production.rsplit("/", 1)[-1])]
    assert set(published) == tables

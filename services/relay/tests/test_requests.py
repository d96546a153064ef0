"""Request handling in process (Litestar's test client, the in-memory bus): every bad input is a 4xx
with a logged reason, every failure a logged 503 or a logged 500, and nothing inside leaks out."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from prometheus_client import REGISTRY
from scrollr_core.signature import signature
from scrollr_relay.bus import BusUnavailable
from scrollr_relay.bus.cursor import Cursor, CursorError
from scrollr_relay.bus.memory import MemoryBus
from scrollr_relay.config import load_settings
from scrollr_relay.serve.app import create_app
from scrollr_relay.serve.stream import StreamRequestError, parse_stream_request

from tests.support.procs import SECRET
from tests.support.sequin import batch, trade_message

WEBHOOK_STATUSES = {200, 400, 401, 413, 415}


def relay(**env: str) -> TestClient:  # type: ignore[type-arg]
    bus = env.pop("_bus", None)
    app = create_app(load_settings({"SEQUIN_WEBHOOK_SECRET": SECRET, **env}), bus=bus)  # type: ignore[arg-type]
    return TestClient(app=app)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    with relay() as test_client:
        yield test_client


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def bearer(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {SECRET}", **(extra or {})}


def rejected(reason: str) -> float:
    return sample("scrollr_webhook_rejections_total", reason=reason)


def test_a_record_nested_too_deep_is_a_logged_and_counted_400(client, caplog):
    deep = trade_message("DEEP", "1.00")
    body = batch(deep).replace(
        b'"record": {', b'"record": {"n":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b",", 1
    )
    before = rejected("invalid_body")
    with caplog.at_level(logging.INFO, logger="scrollr.webhook"):
        response = client.post("/webhooks/sequin", content=body, headers=bearer())
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert rejected("invalid_body") == before + 1
    assert any("nested too deeply" in r.getMessage() for r in caplog.records)


def test_invalid_utf8_in_a_record_is_refused(client):
    body = batch(trade_message("UTF", "1.00")).replace(b'"UTF"', b'"\xff\xfe"')
    response = client.post("/webhooks/sequin", content=body, headers=bearer())
    assert response.status_code == 400
    assert "UTF-8" in response.json()["detail"]


class ExplodingBus(MemoryBus):
    async def publish(self, envelopes):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug nobody foresaw")


def test_an_unexpected_exception_is_logged_with_its_traceback_and_counted(caplog):
    before = sample("scrollr_unhandled_errors_total", where="http")
    with (
        relay(_bus=ExplodingBus(maxlen=10, dedupe_window_seconds=60)) as exploding,
        caplog.at_level(logging.ERROR),
    ):
        response = exploding.post(
            "/webhooks/sequin", content=batch(trade_message("X", "1")), headers=bearer()
        )
    assert response.status_code == 500
    assert "nobody foresaw" not in response.text
    assert sample("scrollr_unhandled_errors_total", where="http") == before + 1
    logged = [r for r in caplog.records if r.exc_info and "nobody foresaw" in str(r.exc_info[1])]
    assert logged, "the 500 was not logged with its traceback"


class UnreachableBus(MemoryBus):
    async def ping(self) -> None:
        raise BusUnavailable("redis: Error 111 connecting to 10.20.30.40:6379. Connection refused.")


def test_readyz_names_the_dependency_not_where_it_lives(caplog):
    with (
        relay(_bus=UnreachableBus(maxlen=10, dedupe_window_seconds=60)) as unready,
        caplog.at_level(logging.WARNING),
    ):
        response = unready.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "unavailable": "bus"}
    assert any("10.20.30.40" in r.getMessage() for r in caplog.records)  # the operator still learns it


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.binary(max_size=2048),
        st.builds(batch, st.just(trade_message("P", "1.00"))).flatmap(
            lambda b: st.integers(0, len(b)).map(lambda n: b[:n])  # every truncation of a real body
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=30,
        ).map(lambda v: json.dumps({"data": [v]}).encode()),
        st.integers(1, 5_000).map(lambda d: b'{"data":' + b"[" * d + b"]" * d + b"}"),  # deep nesting
    ),
    scheme=st.sampled_from(["bearer", "signature", "gzip", "none", "bad-encoding"]),
)
def test_any_body_gets_a_4xx_or_200_never_a_500(client, body, scheme):
    headers: dict[str, str] = {}
    if scheme == "bearer":
        headers = bearer()
    elif scheme == "signature":
        headers = {"sequin-signature": signature(SECRET, body)}
    elif scheme == "gzip":
        body = gzip.compress(body)
        headers = bearer({"content-encoding": "gzip"})
    elif scheme == "bad-encoding":
        headers = bearer({"content-encoding": "br"})
    response = client.post("/webhooks/sequin", content=body, headers=headers)
    assert response.status_code in WEBHOOK_STATUSES, (response.status_code, response.text)


@settings(max_examples=500, deadline=None)
@given(
    raw=st.text(max_size=80)
    | st.from_regex(r"[a-z0-9]{1,8}-[0-9]{1,40}-[0-9\u00b2\u0663]{1,25}", fullmatch=True)
)
def test_any_cursor_text_parses_or_is_refused_as_a_cursor_error(raw):
    try:
        cursor = Cursor.parse(raw)
    except CursorError:
        return
    assert Cursor.parse(str(cursor)) == cursor


@settings(max_examples=300, deadline=None)
@given(query=st.binary(max_size=200), last_event_id=st.none() | st.text(max_size=60))
def test_any_stream_request_parses_or_is_a_stream_request_error(query, last_event_id):
    with contextlib.suppress(StreamRequestError):
        parse_stream_request(query, last_event_id, 64)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(last_event_id=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60))
def test_a_bad_last_event_id_is_a_400_over_http(client, last_event_id):
    try:
        parse_stream_request(b"", last_event_id, 64)
    except StreamRequestError:
        assert client.get("/events", headers={"last-event-id": last_event_id}).status_code == 400


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:  # type: ignore[type-arg]
    root = tmp_path_factory.mktemp("site")
    web = root / "web"
    web.mkdir()
    (web / "index.html").write_text("<!doctype html><title>t</title>")
    (web / "app.js").write_text("console.log(1)")
    (web / ".env").write_text("SECRET=1")
    (root / "outside.txt").write_text("not yours")
    (web / "leak.txt").symlink_to(root / "outside.txt")
    (web / "inside.js").symlink_to(web / "app.js")
    with relay(SCROLLR_WEB_DIR=str(web)) as test_client:
        yield test_client, web


SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.mark.parametrize("path", ["/", "/index.html", "/app.js", "/inside.js", "/missing.js"])
def test_every_page_and_asset_carries_the_security_headers(site, path):
    response = site[0].get(path)
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert "script-src 'self'" in response.headers["content-security-policy"]
    # the games' logos (the feed links ESPN's CDN) may load; images from anywhere else may not
    assert "img-src 'self' data: https://a.espncdn.com;" in response.headers["content-security-policy"]


def test_with_accounts_the_page_may_reach_the_issuer_and_nothing_else(site):
    _, web = site
    env = {"AUTH_ISSUER": "https://auth.example.com/oidc", "AUTH_AUDIENCE": "https://api.example.com"}
    with relay(SCROLLR_WEB_DIR=str(web), **env) as test_client:
        policy = test_client.get("/").headers["content-security-policy"]
    assert "connect-src 'self' https://auth.example.com;" in policy
    assert (
        "connect-src 'self';" in site[0].get("/").headers["content-security-policy"]
    )  # without: itself only


def test_the_stream_ticket_is_read_from_the_query():
    assert parse_stream_request(b"ticket=abc%2Bdef&topics=trades", None, 64).ticket == "abc+def"
    assert parse_stream_request(b"topics=trades", None, 64).ticket is None


def test_assets_have_their_types(site):
    assert site[0].get("/app.js").headers["content-type"].startswith("text/javascript")
    assert site[0].get("/").headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/.env",
        "/leak.txt",
        "/%00",
        "/a%00b.js",
        "/" + "a" * 5000,
        "/" + "a/" * 3000,
        "/..%2F..%2Fetc%2Fpasswd",
    ],
)
def test_dotfiles_symlinks_out_nul_and_absurd_paths_are_404(site, path, caplog):
    with caplog.at_level(logging.ERROR):
        response = site[0].get(path)
    assert response.status_code == 404
    assert "not yours" not in response.text and "SECRET" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_production_build_ships_no_source_maps():
    dist = Path(__file__).resolve().parents[3] / "web" / "dist"
    assert (dist / "app.js").exists(), "web/dist is not built: run `just web` (just test does)"
    assert not list(dist.glob("*.map"))
    assert b"sourceMappingURL" not in (dist / "app.js").read_bytes()


def test_unique_paths_add_no_metric_series(site):
    client = site[0]
    client.get("/metrics")
    for n in range(2_000):
        client.get(f"/made-up-{n}")
    text = client.get("/metrics").text
    assert "made-up" not in text
    assert len(text) < 100_000
    series = [line for line in text.splitlines() if line.startswith("scrollr_http_requests_total")]
    assert len(series) < 20, series


@pytest.fixture(scope="module")
def cors_client() -> Iterator[TestClient]:  # type: ignore[type-arg]
    with relay(ALLOWED_ORIGINS="https://app.example.com") as test_client:
        yield test_client


def test_events_preflight_follows_litestars_cors_policy(cors_client):
    asked = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    ok = cors_client.options("/events", headers={**asked, "Access-Control-Request-Headers": "last-event-id"})
    assert ok.status_code in (200, 204)
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    # A header the policy doesn't allow is refused (the hand-written CORS never looked at it).
    refused = cors_client.options("/events", headers={**asked, "Access-Control-Request-Headers": "x-evil"})
    assert refused.status_code == 400
    # An OPTIONS without Access-Control-Request-Method is no preflight: not a 400.
    plain = cors_client.options("/events", headers={"Origin": "https://app.example.com"})
    assert plain.status_code != 400


def test_events_is_in_the_schema_with_its_parameters_and_media_type(client):
    schema = client.get("/schema/openapi.json").json()
    operation = schema["paths"]["/events"]["get"]
    names = {(p["name"], p["in"]) for p in operation["parameters"]}
    assert {("topics", "query"), ("lastEventId", "query"), ("Last-Event-ID", "header")} <= names
    assert "text/event-stream" in operation["responses"]["200"]["content"]
    assert {"400", "429", "503"} <= set(operation["responses"])


@pytest.fixture(scope="module")
def bus_and_client() -> Iterator[tuple[MemoryBus, TestClient]]:  # type: ignore[type-arg]
    bus = MemoryBus(maxlen=1000, dedupe_window_seconds=60)
    with relay(_bus=bus) as test_client:  # type: ignore[arg-type]
        yield bus, test_client


def published_between(bus: MemoryBus, client: TestClient, rejected_requests) -> list[str]:  # type: ignore[no-untyped-def,type-arg]
    """Symbols the bus took between two markers posted around `rejected_requests` (none if all refused)."""
    first = client.post("/webhooks/sequin", content=batch(trade_message("BEFORE", "1")), headers=bearer())
    rejected_requests()
    client.post("/webhooks/sequin", content=batch(trade_message("AFTER", "1")), headers=bearer())
    events = asyncio.run(bus.read_after(Cursor.parse(first.json()["cursor"]), 100))
    return [json.loads(e.data)["record"]["symbol"] for e in events][:-1]


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_credentials"),
        ({"authorization": "Bearer wrong-secret-wrong"}, "wrong_credentials"),
        ({"sequin-signature": "sha256=" + "0" * 64}, "wrong_credentials"),
        ({"sequin-signature": "not-hex"}, "wrong_credentials"),
    ],
)
def test_missing_or_wrong_credentials_get_401_and_publish_nothing(bus_and_client, headers, reason):
    bus, client = bus_and_client
    before = rejected(reason)

    def refused() -> None:
        response = client.post(
            "/webhooks/sequin", content=batch(trade_message("NOPE", "1.00")), headers=headers
        )
        assert response.status_code == 401
        assert response.json()["error"] == reason

    assert published_between(bus, client, refused) == []
    assert rejected(reason) == before + 1


def test_a_malformed_body_gets_400_naming_the_problem_and_publishes_nothing_of_the_batch(bus_and_client):
    bus, client = bus_and_client
    bad = trade_message("BAD", "1.00")
    bad["action"] = "upsert"

    def refused() -> None:
        response = client.post(
            "/webhooks/sequin", content=batch(trade_message("GOOD", "1.00"), bad), headers=bearer()
        )
        assert response.status_code == 400
        assert "$.data[1].action" in response.json()["detail"]
        assert client.post("/webhooks/sequin", content=b"{oops", headers=bearer()).status_code == 400

    assert published_between(bus, client, refused) == []


def test_an_oversized_body_and_a_gzip_bomb_get_413(bus_and_client):
    bus, client = bus_and_client
    big = trade_message("BIG", "1.00")
    big["record"]["pad"] = "x" * (1024 * 1024)
    padded = trade_message("BOMB", "1.00")
    padded["record"]["pad"] = " " * (50 * 1024 * 1024)
    bomb = gzip.compress(batch(padded), compresslevel=9)
    assert len(bomb) < 1024 * 1024  # small on the wire, 50 MiB inflated

    def refused() -> None:
        assert client.post("/webhooks/sequin", content=batch(big), headers=bearer()).status_code == 413
        zipped = bearer({"content-encoding": "gzip"})
        assert client.post("/webhooks/sequin", content=bomb, headers=zipped).status_code == 413
        assert client.post("/webhooks/sequin", content=b"\x1f\x8bnot gzip", headers=zipped).status_code == 400

    assert published_between(bus, client, refused) == []


@pytest.mark.parametrize("digits", [25, 5_000])
def test_a_content_length_larger_than_any_limit_is_413_not_500(client, digits):
    headers = bearer({"content-length": "9" * digits})
    assert client.post("/webhooks/sequin", content=b"{}", headers=headers).status_code == 413


@pytest.mark.parametrize("path", ["/schema", "/schema/openapi.json"])
def test_the_schema_is_json_with_a_pages_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Scrollr relay"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/schema/swagger", "/schema/redoc", "/schema/elements", "/schema/rapidoc"])
def test_no_schema_page_loads_scripts_from_a_cdn(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "<script" not in response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/catalog", "/snapshot", "/schema"])
def test_every_response_varies_with_origin(client, path):
    assert client.get(path).headers["vary"] == "Origin"

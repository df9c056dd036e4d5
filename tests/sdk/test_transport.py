"""What goes on the wire: headers, paths, query strings and bodies (cf. the Node SDK captures)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

import lava
from lava import Lava

from .conftest import CHECKOUT_SESSION, CONNECTION, REQUEST, USAGE, Recorder, ok, page

MakeClient = Callable[..., Lava]


def test_every_request_carries_the_sdk_headers(make_client: MakeClient) -> None:
    recorder = Recorder(ok(CONNECTION))
    make_client(recorder, api_version="2025-03-27.v1").connections.retrieve("con_1")
    headers = recorder.last.headers
    assert headers["authorization"] == "Bearer aks_test_unit"
    assert headers["content-type"] == "application/json"  # even on GET, like Node
    assert headers["x-lava-api-version"] == "2025-03-27.v1"
    assert headers["user-agent"] == f"lava-python/{lava.__version__}"
    assert "idempotency-key" not in headers  # only POSTs


def test_checkout_create_body_omits_none(make_client: MakeClient) -> None:
    recorder = Recorder(ok(CHECKOUT_SESSION))
    session = make_client(recorder).checkout_sessions.create(
        checkout_mode="onboarding", origin_url="http://127.0.0.1:3000"
    )
    assert recorder.last.method == "POST"
    assert str(recorder.last.url) == "http://lava.test/v1/checkout_sessions"
    # byte-identical to the Node SDK 8.0.0 capture
    assert recorder.last.content == b'{"checkout_mode":"onboarding","origin_url":"http://127.0.0.1:3000"}'
    assert recorder.last.headers["idempotency-key"].startswith("lava-py-retry-")
    assert session.checkout_session_id == "cs_01K7"


def test_checkout_topup_body(make_client: MakeClient) -> None:
    recorder = Recorder(ok(CHECKOUT_SESSION))
    make_client(recorder).checkout.create(
        checkout_mode="topup", origin_url="http://127.0.0.1:3000", connection_id="con_123"
    )
    assert recorder.last.content == (
        b'{"checkout_mode":"topup","origin_url":"http://127.0.0.1:3000","connection_id":"con_123"}'
    )


def test_list_query_matches_node(make_client: MakeClient) -> None:
    recorder = Recorder(page([]))
    make_client(recorder).connections.list(cursor="c_1", limit=10, reference_id="user_1")
    assert recorder.last.url.raw_path == b"/v1/connections?cursor=c_1&limit=10&reference_id=user_1"


def test_none_params_are_left_out(make_client: MakeClient) -> None:
    recorder = Recorder(page([]), page([]))
    client = make_client(recorder)
    client.connections.list()
    client.checkout_sessions.list(limit=3)
    assert recorder.requests[0].url.raw_path == b"/v1/connections"
    assert recorder.requests[1].url.raw_path == b"/v1/checkout_sessions?limit=3"


def test_requests_list_metadata_filters_encoding(make_client: MakeClient) -> None:
    recorder = Recorder(page([]))
    make_client(recorder).requests.list(
        limit=5, connection_id="conn_123", product_id="prod_1", metadata_filters={"team": "a", "env": "prod"}
    )
    # exactly the Node SDK 2.5.0 capture
    assert recorder.last.url.raw_path == (
        b"/v1/requests?limit=5&connection_id=conn_123&product_id=prod_1"
        b"&metadata_filters=%5B%5B%22team%22%2C%22a%22%5D%2C%5B%22env%22%2C%22prod%22%5D%5D"
    )
    assert recorder.last.url.params["metadata_filters"] == '[["team","a"],["env","prod"]]'


def test_metadata_filters_non_ascii_and_empty(make_client: MakeClient) -> None:
    recorder = Recorder(page([]), page([]))
    client = make_client(recorder)
    client.requests.list(metadata_filters={"city": "Zürich"})
    client.requests.list(metadata_filters={})
    assert recorder.requests[0].url.params["metadata_filters"] == '[["city","Zürich"]]'
    assert recorder.requests[1].url.params["metadata_filters"] == "[]"


def test_usage_query_with_strings_matches_node(make_client: MakeClient) -> None:
    recorder = Recorder(ok(USAGE))
    make_client(recorder).usage.retrieve(
        start="2025-01-01T00:00:00Z",
        end="2025-02-01T00:00:00Z",
        connection_id="conn_123",
        metadata_filters={"team": "a"},
    )
    assert recorder.last.url.raw_path == (
        b"/v1/usage?start=2025-01-01T00%3A00%3A00Z&end=2025-02-01T00%3A00%3A00Z"
        b"&connection_id=conn_123&metadata_filters=%5B%5B%22team%22%2C%22a%22%5D%5D"
    )


def test_usage_datetimes_keep_their_offset(make_client: MakeClient) -> None:
    recorder = Recorder(ok(USAGE))
    cet = timezone(timedelta(hours=1))
    make_client(recorder).usage.retrieve(
        start=datetime(2025, 1, 1, tzinfo=cet), end=datetime(2025, 1, 31, 23, 59, 59, tzinfo=UTC)
    )
    params = recorder.last.url.params
    assert params["start"] == "2025-01-01T00:00:00+01:00"
    assert params["end"] == "2025-01-31T23:59:59+00:00"
    assert b"start=2025-01-01T00%3A00%3A00%2B01%3A00" in recorder.last.url.raw_path  # '+' survives


def test_usage_rejects_naive_datetimes(make_client: MakeClient) -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match="Naive"):
        make_client(recorder).usage.retrieve(start=datetime(2025, 1, 1))
    assert recorder.requests == []


def test_path_ids_are_url_quoted(make_client: MakeClient) -> None:
    recorder = Recorder(ok(CONNECTION), ok(REQUEST), ok(CHECKOUT_SESSION))
    client = make_client(recorder)
    client.connections.retrieve("con/../x?y=1#z")
    client.requests.retrieve("req 1")
    client.checkout_sessions.retrieve("cs_ü")
    assert recorder.requests[0].url.raw_path == b"/v1/connections/con%2F..%2Fx%3Fy%3D1%23z"
    assert recorder.requests[1].url.raw_path == b"/v1/requests/req%201"
    assert recorder.requests[2].url.raw_path == b"/v1/checkout_sessions/cs_%C3%BC"


def test_empty_id_rejected(make_client: MakeClient) -> None:
    with pytest.raises(ValueError):
        make_client(Recorder()).connections.retrieve("")


def test_delete_connection(make_client: MakeClient) -> None:
    recorder = Recorder(ok({"success": True}))
    result = make_client(recorder).connections.delete("con_123")
    assert recorder.last.method == "DELETE" and recorder.last.content == b""
    assert result.success is True


def test_requests_create_body(make_client: MakeClient) -> None:
    recorder = Recorder(ok(REQUEST))
    make_client(recorder).requests.create(
        request_id="req_1",
        connection_secret="cons_test_x",
        product_secret="ps_test_y",
        metadata={"user_id": "123456"},
        input_tokens=845,
        output_tokens=412,
        output_seconds=Decimal("2.5"),
        input_seconds=Decimal("2"),
    )
    assert recorder.last.method == "POST"
    assert recorder.last.url.raw_path == b"/v1/requests"
    assert recorder.json() == {
        "request_id": "req_1",
        "connection_secret": "cons_test_x",
        "product_secret": "ps_test_y",
        "metadata": {"user_id": "123456"},
        "input_tokens": 845,
        "output_tokens": 412,
        "input_seconds": 2,
        "output_seconds": 2.5,
    }


def test_success_json_is_parsed_without_float(make_client: MakeClient) -> None:
    # a server that sent money as a JSON number would still yield the exact Decimal
    raw = json.dumps(CONNECTION).replace('"125.5000000000"', "12345678901.1234567891")
    recorder = Recorder(httpx.Response(200, content=raw.encode()))
    connection = make_client(recorder).connections.retrieve("con_1")
    assert connection.wallet.balance == Decimal("12345678901.1234567891")


async def test_async_client_sends_the_same_requests(make_async_client: Callable[..., lava.AsyncLava]) -> None:
    recorder = Recorder(ok(CHECKOUT_SESSION), page([]), ok(USAGE), ok({"success": True}))
    client = make_async_client(recorder)
    await client.checkout.create(checkout_mode="onboarding", origin_url="http://127.0.0.1:3000")
    await client.requests.list(limit=5, metadata_filters={"team": "a"})
    await client.usage.retrieve(start="2025-01-01T00:00:00Z")
    await client.connections.delete("con 1")
    assert recorder.requests[0].content == b'{"checkout_mode":"onboarding","origin_url":"http://127.0.0.1:3000"}'
    assert recorder.requests[1].url.raw_path == (
        b"/v1/requests?limit=5&metadata_filters=%5B%5B%22team%22%2C%22a%22%5D%5D"
    )
    assert recorder.requests[2].url.raw_path == b"/v1/usage?start=2025-01-01T00%3A00%3A00Z"
    assert recorder.requests[3].url.raw_path == b"/v1/connections/con%201"
    for request in recorder.requests:
        assert request.headers["authorization"] == "Bearer aks_test_unit"
        assert "x-lava-api-version" not in request.headers  # no api_version given: none sent (Node 8.1+)

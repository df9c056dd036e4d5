"""Spend keys end to end on one server with the fake upstreams: management over REST, the key as
the official ``openai`` SDK's ``api_key`` (streamed and not), counters, rotation, revocation,
pause, expiry, allow-lists, ``GET /v1/models`` and another merchant's keys.

``lava ledger check`` runs after every test.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic
import httpx
import jsonschema
import openai
import pytest
from jsonschema.validators import Draft202012Validator

import lava
from lava_server.billing import ledger
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import GatewayStack
from tests.server.test_openapi_current import response_schema, validate
from tests.support.live import LiveServer

fake_gateway = conftest_gateway.fake_gateway

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, f"lava ledger check failed: {report.problems}"


def new_merchant(server: LiveServer) -> str:
    key: str = server.merchant(f"sk-{uuid.uuid4().hex[:8]}")["secret_key"]
    return key


def rest(server: LiveServer, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(
        method, f"{server.api_base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30, **kw
    )


def create(server: LiveServer, secret: str, **fields: Any) -> dict[str, Any]:
    r = rest(server, secret, "POST", "spend_keys", json={"name": "agent", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def chat(server: LiveServer, key: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{server.url}/v1/forward?u={OPENAI_CHAT}",
        headers={"Authorization": f"Bearer {key}"},
        json=body or CHAT,
        timeout=30,
    )


def test_create_shape_and_key_shown_once(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(
        server,
        secret,
        spend_limit={"amount": "5", "cycle": "daily"},
        request_limit={"count": 10, "cycle": "total"},
        rate_limit={"rpm": 60},
        allowed_providers=["openai"],
    )
    raw = created["key"]
    assert raw.startswith("lava_sk_")
    assert created["key_preview"] == raw[:16] + "****"
    assert created["spend_limit"] == {"amount": "5.0000000000", "cycle": "daily"}
    assert created["request_limit"] == {"count": 10, "cycle": "total"}
    assert created["rate_limit"] == {"rpm": 60, "burst": None}
    assert (created["status"], created["request_shape"]) == ("active", "openai")
    assert (created["current_spend"], created["total_requests"], created["last_used_at"]) == ("0.0000000000", 0, None)
    got = rest(server, secret, "GET", f"spend_keys/{created['spend_key_id']}").json()
    assert "key" not in got and got["key_preview"] == created["key_preview"]
    listed = rest(server, secret, "GET", "spend_keys").json()
    assert [k["spend_key_id"] for k in listed["data"]] == [created["spend_key_id"]]
    assert listed["has_more"] is False
    stored = server.call(server.services.db.fetchall("SELECT key_hash FROM spend_keys"))
    assert all(raw not in row["key_hash"] for row in stored)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "x", "status": "off"}, "status"),
        ({"name": "x", "spend_limit": {"amount": "0", "cycle": "daily"}}, "spend_limit.amount"),
        ({"name": "x", "spend_limit": {"amount": "1.00000000001", "cycle": "daily"}}, "spend_limit.amount"),
        ({"name": "x", "spend_limit": {"amount": "1", "cycle": "hourly"}}, "spend_limit.cycle"),
        ({"name": "x", "request_limit": {"count": 0, "cycle": "daily"}}, "request_limit.count"),
        ({"name": "x", "rate_limit": {"rpm": 1, "burst": 0}}, "rate_limit.burst"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "allowed_models": "gpt-4o"}, "allowed_models"),
    ],
)
def test_create_validation(stack: GatewayStack, body: dict[str, Any], field: str) -> None:
    secret = new_merchant(stack.server)
    r = rest(stack.server, secret, "POST", "spend_keys", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    assert field in r.json()["error"]["message"]


def test_openai_sdk_streamed_and_not_counts_exactly(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret, spend_limit={"amount": "10", "cycle": "monthly"})
    for base_url in (
        lava.Lava(secret, base_url=server.api_base).base_url_for("openai"),
        f"{server.url}/v1/forward?u=https://api.openai.com/v1",
    ):
        client = openai.OpenAI(api_key=created["key"], base_url=base_url, max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].message.content
        chunks = list(
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "user", "content": "stream please"}],
                stream=True,
                stream_options={"include_usage": True},
            )
        )
        assert chunks and chunks[-1].usage is not None
    key = rest(server, secret, "GET", f"spend_keys/{created['spend_key_id']}").json()
    records = rest(server, secret, "GET", "requests", params={"limit": "100"}).json()["data"]
    costs = [r["cost"] if "cost" in r else r["base_cost"] for r in records]
    assert len(records) == 4 and all(r["status"] == "completed" for r in records)
    total = sum(int(c.replace(".", "")) for c in costs)
    assert total > 0
    assert int(key["current_spend"].replace(".", "")) == total
    assert key["total_spend"] == key["current_spend"]
    assert (key["current_requests"], key["total_requests"]) == (4, 4)
    assert key["last_used_at"] is not None
    holds = server.call(server.services.db.fetchall("SELECT status FROM spend_key_holds"))
    assert "held" not in {h["status"] for h in holds}


def test_rotation_kills_old_key_at_once(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret)
    assert chat(server, created["key"]).status_code == 200
    r = rest(server, secret, "POST", f"spend_keys/{created['spend_key_id']}/rotate")
    assert r.status_code == 200, r.text
    rotated = r.json()
    assert rotated["key"] != created["key"] and rotated["spend_key_id"] == created["spend_key_id"]
    assert rotated["total_requests"] == 1  # counters kept
    old = chat(server, created["key"])
    assert (old.status_code, old.json()["error"]["code"]) == (401, "invalid_spend_key")
    assert chat(server, rotated["key"]).status_code == 200


def test_revoke_pause_expire(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret)
    kid, raw = created["spend_key_id"], created["key"]
    paused = rest(server, secret, "PUT", f"spend_keys/{kid}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    r = chat(server, raw)
    assert (r.status_code, r.json()["error"]["code"]) == (403, "spend_key_paused")
    soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    r = rest(server, secret, "PUT", f"spend_keys/{kid}", json={"status": "active", "expires_at": soon})
    assert r.status_code == 200 and r.json()["expires_at"] is not None
    server.call(server.services.db.execute("UPDATE spend_keys SET expires_at = 1 WHERE id = $1", kid))
    r = chat(server, raw)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "spend_key_expired")
    assert rest(server, secret, "PUT", f"spend_keys/{kid}", json={"expires_at": None}).status_code == 200
    assert chat(server, raw).status_code == 200
    r = rest(server, secret, "DELETE", f"spend_keys/{kid}")
    assert (r.status_code, r.json()) == (200, {"success": True})
    r = chat(server, raw)
    assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_spend_key")
    assert rest(server, secret, "GET", f"spend_keys/{kid}").status_code == 404
    assert rest(server, secret, "GET", "spend_keys").json()["data"] == []


def test_allow_lists_and_models(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret, allowed_models=["gpt-4o-mini"], allowed_providers=["openai"])
    raw = created["key"]
    assert chat(server, raw).status_code == 200
    r = chat(server, raw, {**CHAT, "model": "gpt-4o"})
    assert (r.status_code, r.json()["error"]["code"]) == (403, "model_not_allowed")
    r = httpx.post(
        f"{server.url}/v1/forward?u=https://api.anthropic.com/v1/messages",
        headers={"x-api-key": raw, "anthropic-version": "2023-06-01"},
        json={"model": "claude-3-5-haiku-latest", "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]},
        timeout=30,
    )
    assert (r.status_code, r.json()["error"]["code"]) == (403, "provider_not_allowed")
    models = httpx.get(f"{server.api_base}models", headers={"Authorization": f"Bearer {raw}"}, timeout=30).json()
    assert [(m["id"], m["owned_by"]) for m in models["data"]] == [("gpt-4o-mini", "openai")]
    everything = httpx.get(f"{server.api_base}models", timeout=30).json()["data"]
    assert len(everything) > 1
    # A spend key is a gateway credential only: REST elsewhere is 401.
    r = rest(server, raw, "GET", "spend_keys")
    assert (r.status_code, r.json()["error"]["code"]) == (401, "authentication_failed")


def test_request_limit_and_event(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret, request_limit={"count": 2, "cycle": "daily"})
    raw = created["key"]
    assert [chat(server, raw).status_code for _ in range(2)] == [200, 200]
    r = chat(server, raw)
    assert (r.status_code, r.json()["error"]["code"]) == (429, "request_limit_reached")
    key = rest(server, secret, "GET", f"spend_keys/{created['spend_key_id']}").json()
    assert (key["current_requests"], key["total_requests"]) == (2, 2)


def test_isolation(stack: GatewayStack) -> None:
    server = stack.server
    mine, theirs = new_merchant(server), new_merchant(server)
    created = create(server, theirs)
    kid = created["spend_key_id"]
    for method, path in (
        ("GET", f"spend_keys/{kid}"),
        ("PUT", f"spend_keys/{kid}"),
        ("DELETE", f"spend_keys/{kid}"),
        ("POST", f"spend_keys/{kid}/rotate"),
    ):
        r = rest(server, mine, method, path, json={"name": "mine now"} if method == "PUT" else None)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "not_found"), (method, path)
    assert rest(server, mine, "GET", "spend_keys").json()["data"] == []
    assert chat(server, created["key"]).status_code == 200  # untouched


def test_rate_limit_burst_and_retry_after(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret, rate_limit={"rpm": 60, "burst": 3})
    hits = stack.upstream_hits()
    burst = [chat(server, created["key"]) for _ in range(5)]
    assert [r.status_code for r in burst[:3]] == [200, 200, 200]
    for r in burst[3:]:
        assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")
        assert r.headers["Retry-After"] == "1"  # one token per second at 60 rpm
    assert stack.upstream_hits() - hits == 3  # refused calls never went upstream
    time.sleep(float(burst[-1].headers["Retry-After"]) + 0.05)
    assert chat(server, created["key"]).status_code == 200
    assert chat(server, created["key"]).status_code == 429
    key = rest(server, secret, "GET", f"spend_keys/{created['spend_key_id']}").json()
    assert key["total_requests"] == 4


def test_admin_cli(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = server.cli(
        "spend-keys", "create", "--secret-key", secret, "--name", "cli", "--spend-limit", "2.5",
        "--spend-cycle", "weekly", "--rpm", "30", "--allowed-provider", "openai",
    )  # fmt: skip
    assert created["key"].startswith("lava_sk_")
    assert created["spend_limit"] == {"amount": "2.5000000000", "cycle": "weekly"}
    assert created["rate_limit"] == {"rpm": 30, "burst": None}
    assert created["allowed_providers"] == ["openai"] and created["allowed_models"] is None
    listed = server.cli("spend-keys", "list", "--secret-key", secret)
    assert [k["spend_key_id"] for k in listed["data"]] == [created["spend_key_id"]]
    assert "key" not in listed["data"][0]
    rotated = server.cli("spend-keys", "rotate", "--secret-key", secret, created["spend_key_id"])
    assert rotated["key"] != created["key"]
    assert chat(server, created["key"]).status_code == 401
    assert chat(server, rotated["key"]).status_code == 200
    revoked = server.cli("spend-keys", "revoke", "--secret-key", secret, created["spend_key_id"])
    assert revoked["success"] is True
    assert chat(server, rotated["key"]).status_code == 401
    assert "not_found" in server.cli_error("spend-keys", "revoke", "--secret-key", secret, created["spend_key_id"])
    assert server.cli("spend-keys", "list", "--secret-key", secret)["data"] == []


def test_anthropic_sdk_with_a_spend_key(stack: GatewayStack) -> None:
    server = stack.server
    secret = new_merchant(server)
    created = create(server, secret, request_shape="anthropic", allowed_providers=["anthropic"])
    base_url = lava.Lava(secret, base_url=server.api_base).base_url_for("anthropic")
    client = anthropic.Anthropic(api_key=created["key"], base_url=base_url, max_retries=0)
    reply = client.messages.create(model="claude-sonnet-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}])
    assert reply.content and reply.usage.output_tokens > 0
    with client.messages.stream(
        model="claude-sonnet-5", max_tokens=32, messages=[{"role": "user", "content": "stream"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.output_tokens > 0
    key = rest(server, secret, "GET", f"spend_keys/{created['spend_key_id']}").json()
    assert key["total_requests"] == 2 and key["request_shape"] == "anthropic"
    with pytest.raises(openai.PermissionDeniedError) as denied:  # openai is not an allowed provider
        openai.OpenAI(
            api_key=created["key"], base_url=lava.Lava(secret, base_url=server.api_base).base_url_for("openai")
        ).chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert denied.value.status_code == 403 and "provider_not_allowed" in str(denied.value.body)


def test_responses_match_openapi(stack: GatewayStack) -> None:
    server = stack.server
    doc = httpx.get(server.url + "/openapi.json", timeout=30).json()
    for name in ("SpendKey", "SpendKeyCreated", "SpendKeyList", "SpendKeyCreate", "SpendKeyUpdate"):
        Draft202012Validator.check_schema(doc["components"]["schemas"][name])
    idempotency = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path in ("/v1/spend_keys", "/v1/spend_keys/{spend_key_id}/rotate"):
        assert idempotency in doc["paths"][path]["post"]["parameters"], path
    secret = new_merchant(server)
    created = rest(
        server, secret, "POST", "spend_keys",
        json={"name": "doc", "spend_limit": {"amount": 2, "cycle": "total"}, "rate_limit": {"rpm": 5, "burst": 2}},
    )  # fmt: skip
    kid = created.json()["spend_key_id"]
    assert chat(server, created.json()["key"]).status_code == 200  # last_used_at and counters set
    cases = [
        ("/v1/spend_keys", "post", created),
        ("/v1/spend_keys", "get", rest(server, secret, "GET", "spend_keys")),
        ("/v1/spend_keys/{spend_key_id}", "get", rest(server, secret, "GET", f"spend_keys/{kid}")),
        ("/v1/spend_keys/{spend_key_id}", "put", rest(server, secret, "PUT", f"spend_keys/{kid}", json={"name": "x"})),
        ("/v1/spend_keys/{spend_key_id}/rotate", "post", rest(server, secret, "POST", f"spend_keys/{kid}/rotate")),
        ("/v1/spend_keys/{spend_key_id}", "delete", rest(server, secret, "DELETE", f"spend_keys/{kid}")),
    ]
    for path, method, response in cases:
        assert response.status_code in (200, 201), (path, method, response.text)
        validate(doc, response_schema(doc, path, method), response.json())
    with pytest.raises(jsonschema.ValidationError):  # the document is strict: an unknown field fails
        validate(doc, response_schema(doc, "/v1/spend_keys/{spend_key_id}", "get"), {**cases[2][2].json(), "x": 1})

"""The REST API core against a real server: shapes, auth, isolation, pagination, errors."""

from __future__ import annotations

import base64
import json
import re

import httpx
import pytest

from tests.support.live import LiveServer

MONEY = re.compile(r"^-?\d+\.\d{10}$")


def client(server: LiveServer, key: str | None, **headers: str) -> httpx.Client:
    h = {"Content-Type": "application/json", **headers}
    if key:
        h["Authorization"] = f"Bearer {key}"
    return httpx.Client(base_url=server.url, headers=h, timeout=10)


def new_connection(server: LiveServer, key: str, *extra: str) -> dict[str, str]:
    return server.cli("connections", "create", "--secret-key", key, *extra)


def test_connection_shape_and_balance(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    con = new_connection(lava_server, merchant["secret_key"], "--reference-id", "user_1", "--credit", "12.5")
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.get(f"/v1/connections/{con['connection_id']}")
    assert r.status_code == 200
    body = r.json()
    assert body["connection_id"] == con["connection_id"]
    assert body["connection_id"].startswith("con_test_")
    assert body["connection_secret"] == con["connection_secret"]
    assert body["reference_id"] == "user_1"
    assert body["wallet"]["balance"] == "12.5000000000"
    assert MONEY.match(body["wallet"]["balance"])
    assert body["wallet"]["autopay_enabled"] is False
    assert body["previous_usage_reset"] <= body["created_at"] < body["next_usage_reset"]


def test_auth_failures(lava_server: LiveServer) -> None:
    with client(lava_server, None) as c:
        r = c.get("/v1/connections")
    assert r.status_code == 401
    assert r.json()["error"] == {
        "message": r.json()["error"]["message"],
        "code": "authentication_failed",
        "status": 401,
    }
    for bad in ("aks_test_nope", "garbage", "aks_live_" + "x" * 300, "Basic abc"):
        with client(lava_server, bad) as c:
            r = c.get("/v1/connections")
        assert r.status_code == 401, bad
        assert r.json()["error"]["code"] == "authentication_failed"


def test_api_version_header(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    for version in ("2025-03-27.v1", "2025-04-21.v1", "2025-04-28.v1"):
        with client(lava_server, merchant["secret_key"], **{"X-Lava-API-Version": version}) as c:
            assert c.get("/v1/connections").status_code == 200
    with client(lava_server, merchant["secret_key"], **{"X-Lava-API-Version": "2024-01-01.v1"}) as c:
        r = c.get("/v1/connections")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_api_version"


def test_merchant_isolation(lava_server: LiveServer) -> None:
    a = lava_server.merchant("A")
    b = lava_server.merchant("B")
    con = new_connection(lava_server, a["secret_key"])
    with client(lava_server, b["secret_key"]) as c:
        assert c.get(f"/v1/connections/{con['connection_id']}").status_code == 404
        assert c.delete(f"/v1/connections/{con['connection_id']}").status_code == 404
        assert con["connection_id"] not in {x["connection_id"] for x in c.get("/v1/connections").json()["data"]}
        r = c.post(
            "/v1/checkout_sessions",
            json={"checkout_mode": "topup", "origin_url": "https://app.example", "connection_id": con["connection_id"]},
        )
        assert r.status_code == 404
    with client(lava_server, a["secret_key"]) as c:
        assert c.get(f"/v1/connections/{con['connection_id']}").status_code == 200


def test_test_and_live_never_mix(lava_server: LiveServer) -> None:
    test_key = lava_server.merchant("mixed")["secret_key"]
    live = lava_server.merchant("mixed-live", live=True)
    assert live["secret_key"].startswith("aks_live_")
    live_con = new_connection(lava_server, live["secret_key"])
    assert live_con["connection_id"].startswith("con_") and "_test_" not in live_con["connection_id"]
    assert live_con["connection_secret"].startswith("cons_live_")
    with client(lava_server, test_key) as c:
        assert c.get(f"/v1/connections/{live_con['connection_id']}").status_code == 404
    with client(lava_server, live["secret_key"]) as c:
        assert c.get(f"/v1/connections/{live_con['connection_id']}").status_code == 200


def test_pagination_exact(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    created = [new_connection(lava_server, merchant["secret_key"], "--reference-id", f"p{i}") for i in range(5)]
    expected = [c["connection_id"] for c in reversed(created)]  # newest first
    seen: list[str] = []
    cursor = None
    pages = 0
    with client(lava_server, merchant["secret_key"]) as c:
        while True:
            params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
            body = c.get("/v1/connections", params=params).json()
            pages += 1
            seen += [x["connection_id"] for x in body["data"]]
            if not body["has_more"]:
                assert body.get("next_cursor") is None
                break
            assert body["next_cursor"] == body["data"][-1]["connection_id"]
            cursor = body["next_cursor"]
        assert seen == expected
        assert pages == 3
        # exactly `limit` left: has_more must be false, not a phantom empty page
        body = c.get("/v1/connections", params={"limit": "5"}).json()
        assert len(body["data"]) == 5
        assert body["has_more"] is False
        body = c.get("/v1/connections", params={"reference_id": "p3"}).json()
        assert [x["reference_id"] for x in body["data"]] == ["p3"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("cursor=not-a-cursor", "cursor"),
        ("cursor=con_test_'OR'1'='1", "cursor"),
    ],
)
def test_bad_list_params(lava_server: LiveServer, merchant: dict[str, str], query: str, fragment: str) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.get(f"/v1/connections?{query}")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_request"
    assert fragment in r.json()["error"]["message"]


def test_delete_is_soft_and_idempotent(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    con = new_connection(lava_server, merchant["secret_key"])
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.delete(f"/v1/connections/{con['connection_id']}")
        assert r.status_code == 200
        assert r.json() == {"success": True}
        assert c.delete(f"/v1/connections/{con['connection_id']}").json() == {"success": True}
        body = c.get(f"/v1/connections/{con['connection_id']}").json()
        assert body["status"] == "deleted"
        assert "deleted_at" in body
        listed = {x["connection_id"] for x in c.get("/v1/connections", params={"limit": "100"}).json()["data"]}
        assert con["connection_id"] not in listed
        assert c.delete("/v1/connections/con_test_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
        r = c.post(
            "/v1/checkout_sessions",
            json={"checkout_mode": "topup", "origin_url": "https://a.example", "connection_id": con["connection_id"]},
        )
        assert r.status_code == 409
        assert r.json()["error"]["code"] == "connection_inactive"


def test_checkout_session_lifecycle(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.post(
            "/v1/checkout_sessions",
            json={"checkout_mode": "onboarding", "origin_url": "https://your-app.com/", "reference_id": "user_123"},
        )
        assert r.status_code == 201
        cs = r.json()
        assert cs["checkout_session_id"].startswith("cs_test_")
        token = json.loads(base64.b64decode(cs["checkout_session_token"]))
        assert set(token) == {"secret", "base"}
        assert token["secret"].startswith("css_test_")
        assert token["base"] == lava_server.url + "/"
        assert cs["checkout_mode"] == "onboarding"
        assert cs["origin_url"] == "https://your-app.com/"
        assert cs["reference_id"] == "user_123"
        assert cs["completed_at"] is None
        again = c.get(f"/v1/checkout_sessions/{cs['checkout_session_id']}").json()
        assert again["checkout_session_token"] == cs["checkout_session_token"]
        listed = c.get("/v1/checkout_sessions", params={"reference_id": "user_123"}).json()
        assert [x["checkout_session_id"] for x in listed["data"]] == [cs["checkout_session_id"]]
        con = new_connection(lava_server, merchant["secret_key"])
        topup = c.post(
            "/v1/checkout_sessions",
            json={
                "checkout_mode": "topup",
                "origin_url": "http://localhost:3000",
                "connection_id": con["connection_id"],
            },
        ).json()
        assert topup["connection_id"] == con["connection_id"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"checkout_mode": "topup", "origin_url": "https://a.example"}, "invalid_request"),
        ({"checkout_mode": "subscription", "origin_url": "https://a.example"}, "invalid_request"),
        ({"checkout_mode": "onboarding", "origin_url": "javascript:alert(1)"}, "invalid_request"),
        ({"checkout_mode": "onboarding", "origin_url": "not a url"}, "invalid_request"),
        ({"checkout_mode": "onboarding"}, "invalid_request"),
        ({"checkout_mode": 5, "origin_url": "https://a.example"}, "invalid_request"),
        (
            {"checkout_mode": "onboarding", "origin_url": "https://a.example", "reference_id": "x" * 300},
            "invalid_request",
        ),
        (
            {"checkout_mode": "onboarding", "origin_url": "https://a.example", "connection_id": "con_x"},
            "invalid_request",
        ),
        ([1, 2], "invalid_request"),
    ],
)
def test_checkout_session_validation(
    lava_server: LiveServer, merchant: dict[str, str], body: object, code: str
) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.post("/v1/checkout_sessions", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


def test_bad_bodies_never_500(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        for raw in (b"", b"{", b"null", b"\xff\xfe", b'"str"', b"[]"):
            r = c.post("/v1/checkout_sessions", content=raw)
            assert r.status_code == 400, raw
            assert r.json()["error"]["code"] == "invalid_request"
        r = c.post("/v1/checkout_sessions", content=b'{"a":"' + b"x" * 100_000 + b'"}')
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        r = c.put("/v1/connections")
        assert r.status_code == 405
        assert r.json()["error"]["code"] == "method_not_allowed"
        r = c.get("/v1/nothing-here")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"


def test_requests_and_usage_endpoints(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.get("/v1/requests", params={"metadata_filters": '[["team","a"]]', "limit": "5"})
        assert r.status_code == 200
        assert r.json() == {"data": [], "has_more": False}
        assert c.get("/v1/requests/req_test_01ARZ3NDEKTSV4RRFFQ69G5FAV").status_code == 404
        for bad in ('{"team"', '[["team"]]', "[[1,2]]", '[["bad key!","v"]]'):
            r = c.get("/v1/requests", params={"metadata_filters": bad})
            assert r.status_code == 400, bad
        r = c.get("/v1/requests", params={"connection_id": "nope"})
        assert r.status_code == 400
        usage = c.get("/v1/usage", params={"start": "2025-01-01T00:00:00+02:00", "end": "2025-01-03T12:00:00Z"}).json()
        assert [i["date"] for i in usage["items"]] == ["2025-01-01", "2025-01-02", "2025-01-03"]
        assert usage["items"][0]["start"] == "2025-01-01T00:00:00+02:00"
        assert usage["items"][0]["end"] == "2025-01-01T23:59:59+02:00"
        assert usage["totals"]["total_requests"] == 0
        assert usage["totals"]["total_request_cost"] == "0.0000000000"
        for params in (
            {},
            {"start": "yesterday"},
            {"start": "2025-01-01T00:00:00"},
            {"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
            {"start": "2020-01-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        ):
            r = c.get("/v1/usage", params=params)
            assert r.status_code == 400, params
            assert r.json()["error"]["code"] == "invalid_request"


def test_health(lava_server: LiveServer) -> None:
    with client(lava_server, None) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz").json()
        assert ready["status"] == "ready"
        assert ready["schema_version"] >= 1


def test_oversized_header_gets_our_json_error(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    with client(lava_server, merchant["secret_key"]) as c:
        r = c.get("/v1/connections", headers={"x-big": "a" * 20_000})
        assert r.status_code == 431
        assert r.json()["error"]["code"] == "headers_too_large"
        r = c.post("/v1/forward?u=https://api.openai.com/v1/chat/completions", headers={"x-big": "a" * 20_000}, json={})
        assert r.status_code == 431
        assert r.json()["error"]["code"] == "headers_too_large"
        assert c.get("/v1/connections", headers={"x-ok": "a" * 15_000}).status_code == 200

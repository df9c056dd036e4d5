"""Idempotency-Key: a retried POST is applied once, per merchant and mode, for 24 hours.

Against the real server (SQLite): checkout_sessions.create and POST /v1/requests retried in
sequence and as 10 concurrent duplicates, key reuse with another body (409), keys of different
merchants and modes, the SDK's own retries. On a bare app over both stores (SQLite and
PostgreSQL): the middleware covers any POST endpoint, releases the key on a 5xx, keeps 4xx
answers, waits for a running duplicate (bounded), takes over a dead claim, and sweeps expiry.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lava import Lava
from lava_server.accounts.merchants import create_merchant, create_secret_key
from lava_server.api.deps import SERVICES
from lava_server.api.idempotency import idempotency_middleware
from lava_server.api.jsonio import json_response, read_json_object
from lava_server.api.middleware import error_middleware
from lava_server.clock import now_us
from lava_server.context import Services, open_services
from lava_server.errors import ApiError
from lava_server.settings import Limits, from_env
from lava_server.store import idempotency as repo
from tests.support.live import LiveServer


def auth(secret_key: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {secret_key}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers


def session_body() -> dict[str, Any]:
    return {"checkout_mode": "onboarding", "origin_url": "https://shop.example.com", "reference_id": "user_1"}


def sessions_of(server: LiveServer, secret_key: str) -> list[dict[str, Any]]:
    r = httpx.get(server.url + "/v1/checkout_sessions", headers=auth(secret_key), params={"limit": 100}, timeout=10)
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


# -- the real server --------------------------------------------------------------------------


def test_checkout_session_retry_is_applied_once(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    sk, key = merchant["secret_key"], f"k-{uuid.uuid4()}"
    url = lava_server.url + "/v1/checkout_sessions"
    first = httpx.post(url, headers=auth(sk, key), json=session_body(), timeout=10)
    again = httpx.post(url, headers=auth(sk, key), json=session_body(), timeout=10)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["content-type"] == first.headers["content-type"] == "application/json"
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert [s["checkout_session_id"] for s in sessions_of(lava_server, sk)] == [first.json()["checkout_session_id"]]
    # A new key is a new request.
    other = httpx.post(url, headers=auth(sk, f"k-{uuid.uuid4()}"), json=session_body(), timeout=10)
    assert other.status_code == 201 and other.json()["checkout_session_id"] != first.json()["checkout_session_id"]
    # Without a key every POST is applied.
    httpx.post(url, headers=auth(sk), json=session_body(), timeout=10).raise_for_status()
    assert len(sessions_of(lava_server, sk)) == 3


def test_same_key_with_another_body_is_a_conflict(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    sk, key = merchant["secret_key"], f"k-{uuid.uuid4()}"
    url = lava_server.url + "/v1/checkout_sessions"
    assert httpx.post(url, headers=auth(sk, key), json=session_body(), timeout=10).status_code == 201
    changed = {**session_body(), "reference_id": "user_2"}
    r = httpx.post(url, headers=auth(sk, key), json=changed, timeout=10)
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "idempotency_conflict"
    # Another path with the same key is another request too.
    r = httpx.post(lava_server.url + "/v1/requests", headers=auth(sk, key), json={"request_id": "x"}, timeout=10)
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    # Key order and whitespace do not make a body different.
    reordered = b'{ "reference_id": "user_1", "origin_url": "https://shop.example.com", "checkout_mode": "onboarding" }'
    r = httpx.post(url, headers={**auth(sk, key), "Content-Type": "application/json"}, content=reordered, timeout=10)
    assert r.status_code == 201 and r.headers["idempotent-replayed"] == "true"
    assert len(sessions_of(lava_server, sk)) == 1


def test_bad_key_is_refused(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    url = lava_server.url + "/v1/checkout_sessions"
    r = httpx.post(url, headers=auth(merchant["secret_key"], "x" * 256), json=session_body(), timeout=10)
    assert r.status_code == 400 and "Idempotency-Key" in r.json()["error"]["message"]
    assert sessions_of(lava_server, merchant["secret_key"]) == []


def test_unauthenticated_requests_get_the_usual_401(lava_server: LiveServer) -> None:
    r = httpx.post(
        lava_server.url + "/v1/checkout_sessions", headers=auth("aks_test_nope", "k"), json=session_body(), timeout=10
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_failed"


def test_different_merchants_and_modes_may_reuse_a_key(lava_server: LiveServer) -> None:
    key = f"shared-{uuid.uuid4()}"
    url = lava_server.url + "/v1/checkout_sessions"
    a = lava_server.merchant(f"a-{uuid.uuid4().hex[:6]}")
    b = lava_server.merchant(f"b-{uuid.uuid4().hex[:6]}")
    a_live = lava_server.merchant(f"c-{uuid.uuid4().hex[:6]}", live=True)
    ids = set()
    for m in (a, b, a_live):
        r = httpx.post(url, headers=auth(m["secret_key"], key), json=session_body(), timeout=10)
        assert r.status_code == 201 and "idempotent-replayed" not in r.headers
        ids.add(r.json()["checkout_session_id"])
    assert len(ids) == 3


async def test_ten_concurrent_duplicates_are_applied_once(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    sk, key = merchant["secret_key"], f"k-{uuid.uuid4()}"
    async with httpx.AsyncClient(base_url=lava_server.url, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/checkout_sessions", headers=auth(sk, key), json=session_body()) for _ in range(10))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 9
    assert len(sessions_of(lava_server, sk)) == 1


def manual_body(connection_secret: str) -> dict[str, Any]:
    return {
        "request_id": f"man_{uuid.uuid4().hex}",
        "connection_secret": connection_secret,
        "input_tokens": 100,
        "output_tokens": 20,
    }


@pytest.fixture
def connection_secret(lava_server: LiveServer, merchant: dict[str, str]) -> str:
    con = lava_server.cli("connections", "create", "--secret-key", merchant["secret_key"], "--credit", "1")
    return str(con["connection_secret"])


def test_manual_request_retry_is_applied_once(
    lava_server: LiveServer, merchant: dict[str, str], connection_secret: str
) -> None:
    sk = merchant["secret_key"]
    body = manual_body(connection_secret)
    url = lava_server.url + "/v1/requests"
    first = httpx.post(url, headers=auth(sk, "manual-1"), json=body, timeout=10)
    again = httpx.post(url, headers=auth(sk, "manual-1"), json=body, timeout=10)
    assert first.status_code == again.status_code == 201, first.text
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    # Without the key the endpoint's own request_id idempotency answers 200 (not created).
    assert httpx.post(url, headers=auth(sk), json=body, timeout=10).status_code == 200
    rows = lava_server.call(
        lava_server.services.db.fetchall("SELECT id FROM requests WHERE external_id = $1", body["request_id"])
    )
    assert len(rows) == 1


async def test_ten_concurrent_manual_requests_are_applied_once(
    lava_server: LiveServer, merchant: dict[str, str], connection_secret: str
) -> None:
    sk = merchant["secret_key"]
    body = manual_body(connection_secret)
    async with httpx.AsyncClient(base_url=lava_server.url, timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/requests", headers=auth(sk, "same"), json=body) for _ in range(10))
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    rows = lava_server.call(
        lava_server.services.db.fetchall("SELECT id FROM requests WHERE external_id = $1", body["request_id"])
    )
    assert len(rows) == 1


class LoseFirstResponse(httpx.BaseTransport):
    """Delivers each POST to the server, then pretends the first response was lost (a read timeout)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.keys: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.keys.append(request.headers["idempotency-key"])
            if len(self.keys) == 1:
                response.read()
                response.close()
                raise httpx.ReadTimeout("response lost", request=request)
        return response


def test_sdk_retry_after_a_lost_response_is_applied_once(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    transport = LoseFirstResponse()
    client = Lava(
        merchant["secret_key"],
        base_url=lava_server.api_base,
        http_client=httpx.Client(transport=transport),
        sleep=lambda _: None,
        max_retries=2,
    )
    session = client.checkout_sessions.create(checkout_mode="onboarding", origin_url="https://shop.example.com")
    assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
    listed = sessions_of(lava_server, merchant["secret_key"])
    assert [s["checkout_session_id"] for s in listed] == [session.checkout_session_id]


# -- a bare app over both stores -------------------------------------------------------------


class Probe:
    """A POST endpoint the middleware has never heard of, counting how often it runs."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail_next: int | None = None  # status to fail the next call with
        self.gate = asyncio.Event()
        self.gated: set[int] = set()  # the call numbers that wait for ``gate``
        self.answer_status = 201

    async def handle(self, request: web.Request) -> web.Response:
        body = await read_json_object(request, 1024)
        self.calls += 1
        n = self.calls
        if n in self.gated:
            await self.gate.wait()
        if self.fail_next is not None:
            status, self.fail_next = self.fail_next, None
            raise ApiError(status, "probe_failure", f"failure {n}")
        return json_response({"n": n, "echo": body}, status=self.answer_status, headers={"X-Probe": str(n)})


async def bare_app(svc: Services, probe: Probe) -> TestClient[web.Request, web.Application]:
    app = web.Application(middlewares=[error_middleware, idempotency_middleware()])
    app[SERVICES] = svc
    app.router.add_post("/v1/brand_new_things", probe.handle)
    app.router.add_post("/v1/forward", probe.handle)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def svc(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    limits = Limits(idempotency_wait_s=0.5, idempotency_lease_s=0.3)
    services = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url, limits=limits))
    yield services
    await services.close()


async def test_any_new_post_endpoint_is_covered_and_5xx_releases_the_key(svc: Services) -> None:
    m = await create_merchant(svc, "probe", "test")
    probe = Probe()
    client = await bare_app(svc, probe)
    try:
        headers = auth(m.secret_key, "k1")
        probe.fail_next = 503
        r = await client.post("/v1/brand_new_things", headers=headers, json={"a": 1})
        assert r.status == 503
        r1 = await client.post("/v1/brand_new_things", headers=headers, json={"a": 1})  # runs again
        r2 = await client.post("/v1/brand_new_things", headers=headers, json={"a": 1})  # replayed
        assert (r1.status, r2.status) == (201, 201)
        assert await r1.json() == await r2.json() == {"n": 2, "echo": {"a": 1}}
        assert r2.headers["X-Probe"] == "2" and r2.headers["Idempotent-Replayed"] == "true"
        assert probe.calls == 2
        # A raised 4xx (nothing was applied) releases the key too; a returned 4xx is kept.
        probe.fail_next = 402
        r3 = await client.post("/v1/brand_new_things", headers=auth(m.secret_key, "k2"), json={})
        r4 = await client.post("/v1/brand_new_things", headers=auth(m.secret_key, "k2"), json={})
        assert (r3.status, r4.status) == (402, 201) and (await r3.json())["error"]["code"] == "probe_failure"
        assert probe.calls == 4
        probe.answer_status = 409
        r6 = await client.post("/v1/brand_new_things", headers=auth(m.secret_key, "k5"), json={})
        r7 = await client.post("/v1/brand_new_things", headers=auth(m.secret_key, "k5"), json={})
        assert r6.status == r7.status == 409 and await r6.json() == await r7.json()
        assert r7.headers["Idempotent-Replayed"] == "true" and probe.calls == 5
        probe.answer_status = 201
        # An unknown route is still the router's 404, key or not.
        r5 = await client.post("/v1/no_such_thing", headers=auth(m.secret_key, "k4"), json={})
        assert r5.status == 404 and (await r5.json())["error"]["code"] == "not_found"
        # The gateway path is not covered: both calls run.
        for _ in range(2):
            assert (await client.post("/v1/forward", headers=auth(m.secret_key, "k3"), json={})).status == 201
        assert probe.calls == 7
    finally:
        await client.close()


async def test_a_duplicate_waits_for_the_first_then_gives_up_boundedly(svc: Services) -> None:
    m = await create_merchant(svc, "probe", "test")
    probe = Probe()
    probe.gated = {1, 2}
    client = await bare_app(svc, probe)
    try:
        headers = auth(m.secret_key, "slow")
        first = asyncio.create_task(client.post("/v1/brand_new_things", headers=headers, json={}))
        while probe.calls == 0:
            await asyncio.sleep(0.01)
        waiting = asyncio.create_task(client.post("/v1/brand_new_things", headers=headers, json={}))
        await asyncio.sleep(0.1)
        probe.gate.set()
        a, b = await first, await waiting
        assert a.status == b.status == 201 and await a.json() == await b.json()
        assert probe.calls == 1
        # A first request still running when its lease runs out (its owner presumed dead): a
        # waiting retry takes the key over and runs.
        probe.gate = asyncio.Event()
        headers = auth(m.secret_key, "stuck")
        stuck = asyncio.create_task(client.post("/v1/brand_new_things", headers=headers, json={}))
        while probe.calls == 1:
            await asyncio.sleep(0.01)
        assert probe.calls == 2
        r = await client.post("/v1/brand_new_things", headers=headers, json={})
        assert probe.calls == 3 and r.status == 201  # the first's lease (0.3 s) ran out within the 0.5 s wait
        probe.gate.set()
        assert (await stuck).status == 201
    finally:
        await client.close()


async def test_in_progress_is_409_within_the_lease(database_url: str, tmp_path: Path) -> None:
    limits = Limits(idempotency_wait_s=0.2, idempotency_lease_s=60)
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url, limits=limits))
    m = await create_merchant(svc, "probe", "test")
    probe = Probe()
    probe.gated = {1}
    client = await bare_app(svc, probe)
    try:
        headers = auth(m.secret_key, "busy")
        first = asyncio.create_task(client.post("/v1/brand_new_things", headers=headers, json={}))
        while probe.calls == 0:
            await asyncio.sleep(0.01)
        r = await client.post("/v1/brand_new_things", headers=headers, json={})
        assert r.status == 409 and r.headers["Retry-After"] == "1"
        assert (await r.json())["error"]["code"] == "idempotency_in_progress"
        probe.gate.set()
        assert (await first).status == 201 and probe.calls == 1
    finally:
        await client.close()
        await svc.close()


async def test_one_merchants_test_and_live_modes_keep_separate_keys(svc: Services) -> None:
    m = await create_merchant(svc, "probe", "test")
    live_key = await create_secret_key(svc, m.merchant_id, "live")
    probe = Probe()
    client = await bare_app(svc, probe)
    try:
        for secret in (m.secret_key, live_key, m.secret_key, live_key):
            r = await client.post("/v1/brand_new_things", headers=auth(secret, "same-key"), json={"x": 1})
            assert r.status == 201
        assert probe.calls == 2  # once per mode; the repeats were replayed
    finally:
        await client.close()


async def test_keys_expire_and_are_swept(svc: Services) -> None:
    m = await create_merchant(svc, "probe", "test")
    db, now = svc.db, now_us()
    common = {"fingerprint": "f", "now": now, "lease_until": now + 10}
    assert await repo.claim(db, m.merchant_id, "test", "old", token="t1", expires_at=now - 1, **common)
    assert await repo.claim(db, m.merchant_id, "test", "new", token="t2", expires_at=now + 10**9, **common)
    assert not await repo.claim(db, m.merchant_id, "test", "new", token="t3", expires_at=now + 10**9, **common)
    stored = repo.StoredResponse(201, (("Content-Type", "application/json"),), '{"ok":true}')
    assert not await repo.complete(db, m.merchant_id, "test", "new", token="t3", response=stored, now=now)
    assert await repo.complete(db, m.merchant_id, "test", "new", token="t2", response=stored, now=now)
    found = await repo.get(db, m.merchant_id, "test", "new")
    assert found is not None and found.response == stored
    assert await repo.sweep(db, now) == 1
    assert await repo.get(db, m.merchant_id, "test", "old") is None
    assert await repo.get(db, m.merchant_id, "test", "new") is not None
    # An expired key is claimed afresh by the next request.
    probe = Probe()
    client = await bare_app(svc, probe)
    try:
        await repo.claim(
            db,
            m.merchant_id,
            "test",
            "again",
            token="t4",
            fingerprint="other",
            now=now,
            lease_until=now,
            expires_at=now,
        )
        r = await client.post("/v1/brand_new_things", headers=auth(m.secret_key, "again"), json={})
        assert r.status == 201 and probe.calls == 1
    finally:
        await client.close()

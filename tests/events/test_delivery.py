"""Events reach a real receiver: signed per the spec, retried until acknowledged once, visible as
attempts, redeliverable, coalesced and emitted for every feature that exists today."""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from lava_server.cli import run as cli_run
from tests.checkout.helpers import Embed, create_session
from tests.events.conftest import FAST, api, new_merchant, start_hook_server
from tests.events.receiver import Receiver, VerificationError, verify
from tests.support.live import LiveServer


def endpoint(server: LiveServer, m: dict[str, Any], receiver: Receiver) -> dict[str, Any]:
    with api(server, m["secret_key"]) as c:
        r = c.post("webhooks", json={"name": "test receiver", "url": receiver.url})
        assert r.status_code == 201, r.text
        return dict(r.json())


def connection(server: LiveServer, m: dict[str, Any], credit: str | None = None) -> dict[str, Any]:
    args = ["connections", "create", "--secret-key", m["secret_key"]]
    return server.cli(*args, *(["--credit", credit] if credit else []))


def test_events_are_signed_per_spec_and_stale_replays_rejected(hook_server: LiveServer, receiver: Receiver) -> None:
    m = new_merchant(hook_server)
    hook = endpoint(hook_server, m, receiver)
    con = connection(hook_server, m, credit="5")
    receiver.wait_for(lambda r: len(r.acknowledged()) >= 2)
    by_type = {r.event["event"]: r for r in receiver.acknowledged()}
    assert set(by_type) == {"customer.created", "customer.wallet.balance.updated"}
    for got in by_type.values():
        event = verify(got.body, got.headers.get("X-Webhook-Signature"), hook["webhook_secret"])
        assert set(event) == {"id", "event", "created_at", "occurred_at", "data"}
        assert event["id"].startswith("evt_test_") and got.headers["X-Webhook-Id"] == event["id"]
        assert got.headers["Content-Type"] == "application/json"
        data = event["data"]
        assert data["customer_id"] == con["connection_id"]
        assert data["subscription"] is None
        assert set(data["contact"]) == {"phone", "email", "first_name", "last_name"}
        with pytest.raises(VerificationError, match="mismatch"):
            verify(got.body, got.headers["X-Webhook-Signature"], "whsec_wrong")
        with pytest.raises(VerificationError, match="mismatch"):
            verify(
                got.body.replace(b"customer", b"Customer", 1),
                got.headers["X-Webhook-Signature"],
                hook["webhook_secret"],
            )
        with pytest.raises(VerificationError, match="tolerance"):
            verify(got.body, got.headers["X-Webhook-Signature"], hook["webhook_secret"], now=time.time() + 301)
    assert by_type["customer.wallet.balance.updated"].event["data"]["wallet"] == {"balance": "5.0000000000"}
    # another merchant's receiver hears nothing of this
    assert all(r.event["data"]["customer_id"] == con["connection_id"] for r in receiver.received)


def test_failing_receiver_gets_the_event_acknowledged_exactly_once(hook_server: LiveServer, receiver: Receiver) -> None:
    m = new_merchant(hook_server)
    hook = endpoint(hook_server, m, receiver)
    receiver.statuses = [500, 503]
    con = connection(hook_server, m)
    receiver.wait_for(lambda r: len(r.acknowledged()) == 1)
    time.sleep(1.0)  # longer than the whole retry schedule: nothing more arrives
    assert [r.status for r in receiver.received] == [500, 503, 200]
    ids = {r.event["id"] for r in receiver.received}
    assert len(ids) == 1, "every attempt carries the same event id"
    bodies = [r.event for r in receiver.received]
    assert all(b["data"] == bodies[0]["data"] and b["occurred_at"] == bodies[0]["occurred_at"] for b in bodies)
    assert len({b["created_at"] for b in bodies}) == 3, "each attempt is signed fresh"
    assert bodies[0]["data"]["customer_id"] == con["connection_id"]
    (event_id,) = ids

    with api(hook_server, m["secret_key"]) as c:
        attempts = c.get(f"webhooks/{hook['webhook_id']}/attempts").json()["data"]
        assert [(a["attempt"], a["outcome"], a["status_code"]) for a in attempts] == [
            (3, "delivered", 200),
            (2, "failed", 503),
            (1, "failed", 500),
        ]
        assert all(a["event_id"] == event_id and a["latency_ms"] >= 0 for a in attempts)
        assert json.loads(attempts[0]["response_excerpt"]) == {"received": True}
        assert attempts[1]["error"] == "HTTP 503"
        assert c.get(f"events/{event_id}/attempts").json()["data"] == attempts
        other = new_merchant(hook_server)
    with api(hook_server, other["secret_key"]) as c:
        assert c.get(f"events/{event_id}/attempts").status_code == 404
        assert c.post(f"events/{event_id}/redeliver").status_code == 404
    cli = hook_server.cli("webhooks", "attempts", "--secret-key", m["secret_key"], "--event-id", event_id)
    assert [a["outcome"] for a in cli["attempts"]] == ["delivered", "failed", "failed"]
    listed = hook_server.cli("webhooks", "list", "--secret-key", m["secret_key"])
    assert [w["webhook_id"] for w in listed["webhooks"]] == [hook["webhook_id"]]


def test_exhausted_retries_then_redeliver(hook_server: LiveServer, receiver: Receiver) -> None:
    m = new_merchant(hook_server)
    endpoint(hook_server, m, receiver)
    receiver.statuses = [500] * FAST.max_attempts
    connection(hook_server, m)
    receiver.wait_for(lambda r: len(r.received) == FAST.max_attempts)
    time.sleep(0.8)
    assert len(receiver.received) == FAST.max_attempts and not receiver.acknowledged()
    event_id = receiver.received[0].event["id"]
    status = hook_server.call(
        hook_server.services.db.fetchval("SELECT status FROM webhook_deliveries WHERE event_id = $1", event_id)
    )
    assert status == "failed"
    out = hook_server.cli("webhooks", "redeliver", event_id)
    assert out == {"event_id": event_id, "scheduled": 1}
    receiver.wait_for(lambda r: len(r.acknowledged()) == 1)
    assert receiver.acknowledged()[0].event["id"] == event_id
    assert "not found" in hook_server.cli_error("webhooks", "redeliver", "evt_test_01ARZ3NDEKTSV4RRFFQ69G5FAV")


def test_usage_balance_events_coalesce_and_credit_crossings_fire_once(tmp_path: Path, receiver: Receiver) -> None:
    server, stop = start_hook_server(tmp_path, replace(FAST, coalesce_s=2.0))
    try:
        m = new_merchant(server)
        endpoint(server, m, receiver)
        product = server.cli(
            "products",
            "create",
            "--secret-key",
            m["secret_key"],
            "--tier",
            "0:0.40:requests",
            "--service-charge-payer",
            "merchant",
        )
        con = connection(server, m, credit="1.50")
        receiver.wait_for(lambda r: len(r.acked_events("customer.wallet.balance.updated")) == 1)

        def charge() -> None:
            body = {
                "request_id": f"man_{uuid.uuid4().hex}",
                "connection_secret": con["connection_secret"],
                "product_secret": product["product_secret"],
                "input_tokens": 1,
            }
            r = httpx.post(
                server.api_base + "requests", json=body, headers={"Authorization": f"Bearer {m['secret_key']}"}
            )
            assert r.status_code == 201, r.text

        for _ in range(4):  # 1.50 → 1.10 → 0.70 (low) → 0.30 → 0.00 (exhausted; 0.10 short)
            charge()
        receiver.wait_for(lambda r: len(r.acked_events("customer.wallet.balance.updated")) == 2)
        balances = [e["data"]["wallet"]["balance"] for e in receiver.acked_events("customer.wallet.balance.updated")]
        assert balances == ["1.5000000000", "0.0000000000"], "four debits, one coalesced event with the latest state"
        low = receiver.acked_events("customer.credits.low")
        exhausted = receiver.acked_events("customer.credits.exhausted")
        assert len(low) == 1 and low[0]["data"]["credits"] == {"balance": "0.7000000000", "threshold": "1.0000000000"}
        assert len(exhausted) == 1 and exhausted[0]["data"]["credits"]["balance"] == "0.0000000000"

        server.cli(
            "wallets",
            "credit",
            "--secret-key",
            m["secret_key"],
            "--connection-id",
            con["connection_id"],
            "--amount",
            "1",
        )
        charge()  # 1.00 → 0.60: a second crossing
        receiver.wait_for(lambda r: len(r.acked_events("customer.credits.low")) == 2)
        time.sleep(2.5)
        assert len(receiver.acked_events("customer.credits.exhausted")) == 1
        assert len(receiver.acked_events("customer.credits.low")) == 2
        assert cli_run(["ledger", "check", "--database-url", server.database_url, "--data-dir", str(tmp_path)])["ok"]
    finally:
        stop()


def test_deleting_a_customer_emits_once(hook_server: LiveServer, receiver: Receiver) -> None:
    m = new_merchant(hook_server)
    endpoint(hook_server, m, receiver)
    con = connection(hook_server, m)
    with api(hook_server, m["secret_key"]) as c:
        assert c.delete(f"connections/{con['connection_id']}").status_code == 200
        assert c.delete(f"connections/{con['connection_id']}").status_code == 200
    receiver.wait_for(lambda r: len(r.acked_events("customer.deleted")) == 1)
    time.sleep(0.3)
    (deleted,) = receiver.acked_events("customer.deleted")
    assert deleted["data"]["customer_id"] == con["connection_id"]


def test_checkout_completion_emits_created_balance_and_completed(hook_server: LiveServer, receiver: Receiver) -> None:
    m = new_merchant(hook_server)
    endpoint(hook_server, m, receiver)
    session = create_session(hook_server, m["secret_key"], checkout_mode="onboarding", reference_id="user-42")
    embed = Embed(hook_server, session["checkout_session_token"])
    try:
        embed.onboard_until_pay(email=f"ada-{uuid.uuid4().hex[:6]}@example.com")
        assert embed.pay(amount="25.00").status_code == 200
    finally:
        embed.close()
    receiver.wait_for(lambda r: len(r.acknowledged()) == 3)
    events = {e["event"]: e for e in receiver.acked_events()}
    assert set(events) == {"customer.created", "customer.wallet.balance.updated", "checkout.session.completed"}
    customer_id = events["customer.created"]["data"]["customer_id"]
    assert all(e["data"]["customer_id"] == customer_id for e in events.values())
    assert events["customer.created"]["data"]["reference_id"] == "user-42"
    assert events["customer.wallet.balance.updated"]["data"]["wallet"]["balance"] == "25.0000000000"
    done = events["checkout.session.completed"]["data"]["checkout_session"]
    assert done["checkout_session_id"] == session["checkout_session_id"]
    assert done["amount"] == "25.0000000000" and done["checkout_mode"] == "onboarding"


def test_no_endpoint_no_events(hook_server: LiveServer) -> None:
    m = new_merchant(hook_server)
    connection(hook_server, m, credit="1")
    count = hook_server.call(
        hook_server.services.db.fetchval("SELECT COUNT(*) FROM webhook_events WHERE merchant_id = $1", m["merchant_id"])
    )
    assert count == 0


def test_private_target_refused_at_delivery_and_failing_endpoint_disabled(
    tmp_path: Path, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    from lava_server.events.delivery import DeliveryWorker

    settings = replace(FAST, worker=False, disable_after_s=0.5, retry_schedule_s=(0.2,) * 20)
    server, stop = start_hook_server(tmp_path, settings)
    try:
        m = new_merchant(server)
        hook = endpoint(server, m, receiver)  # registered while loopback is exempt
        connection(server, m)
        svc = server.services
        strict = DeliveryWorker(svc.db, svc.keyring, svc.ids, replace(settings, allowed_hosts=()), name="strict")
        assert server.call(strict.run_once()) == 1
        server.call(strict.stop())
        assert receiver.received == [], "a loopback target is refused at delivery once it is no longer exempt"
        with api(server, m["secret_key"]) as c:
            (attempt,) = c.get(f"webhooks/{hook['webhook_id']}/attempts").json()["data"]
        assert attempt["outcome"] == "failed" and attempt["status_code"] is None
        assert attempt["error"] == "refused: url must use https"

        caplog.set_level(logging.WARNING, logger="lava.webhooks")
        receiver.statuses = [500] * 100
        worker = DeliveryWorker(svc.db, svc.keyring, svc.ids, settings, name="normal")
        deadline = time.monotonic() + 10
        with api(server, m["secret_key"]) as c:
            while "disabled_at" not in c.get(f"webhooks/{hook['webhook_id']}").json():
                assert time.monotonic() < deadline, "endpoint never disabled"
                server.call(worker.run_once())
                time.sleep(0.1)
            server.call(worker.stop())
            assert any("disabled" in r.getMessage() and hook["webhook_id"] in r.getMessage() for r in caplog.records)
            # a disabled endpoint gets nothing more; an edit enables it again
            tried = len(receiver.received)
            connection(server, m)
            assert server.call(worker.run_once()) == 0
            assert len(receiver.received) == tried
            r = c.patch(f"webhooks/{hook['webhook_id']}", json={"name": "fixed"})
            assert "disabled_at" not in r.json()
    finally:
        stop()


def test_attempts_are_bounded_in_time_and_size_and_redirects_fail(tmp_path: Path) -> None:
    import asyncio

    from aiohttp import web

    from tests.fakes.server import start_in_thread

    def app() -> web.Application:
        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(5)
            return web.Response(text="late")

        async def big(request: web.Request) -> web.Response:
            return web.Response(body=b"x" * (2 * 1024 * 1024))

        async def redirect(request: web.Request) -> web.Response:
            raise web.HTTPFound("/big")

        a = web.Application()
        a.router.add_post("/slow", slow)
        a.router.add_post("/big", big)
        a.router.add_post("/redirect", redirect)
        return a

    target = start_in_thread(app)
    server, stop = start_hook_server(tmp_path, replace(FAST, timeout_s=1.0, retry_schedule_s=(30.0,)))
    try:
        m = new_merchant(server)
        hooks = {}
        with api(server, m["secret_key"]) as c:
            for path in ("slow", "big", "redirect"):
                r = c.post("webhooks", json={"name": path, "url": f"{target.url}/{path}"})
                hooks[path] = r.json()["webhook_id"]
            connection(server, m)

            def first(path: str) -> dict[str, Any]:
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    data = c.get(f"webhooks/{hooks[path]}/attempts").json()["data"]
                    if data:
                        return dict(data[0])
                    time.sleep(0.1)
                raise AssertionError(f"no attempt for {path}")

            slow = first("slow")
            assert slow["outcome"] == "failed" and slow["error"] == "timed out after 1 s"
            assert 900 <= slow["latency_ms"] < 3000
            big = first("big")
            assert big["outcome"] == "delivered" and big["response_excerpt"] == "x" * 500
            moved = first("redirect")
            assert moved["outcome"] == "failed" and moved["status_code"] == 302 and moved["error"] == "HTTP 302"
    finally:
        stop()
        target.stop()

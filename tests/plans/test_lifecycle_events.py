"""Subscription lifecycle events go through the webhook outbox (in the transaction of the change),
and a deleted customer's subscription ends at its cycle end without another charge."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.live import LiveServer


def test_events_and_deleted_customer(lava_server: LiveServer) -> None:
    key = lava_server.merchant(f"events-{uuid.uuid4().hex[:6]}")["secret_key"]
    svc = lava_server.services
    merchant = lava_server.call(svc.keys.resolve(key))
    lava_server.call(svc.webhooks.create(merchant, {"name": "a", "url": "https://93.184.216.34/a"}))
    api = httpx.Client(base_url=lava_server.api_base, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = api.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    plan = post(
        "/plans",
        {
            "name": "P",
            "period_amount": "3",
            "billing_interval": "day",
            "included_credit": "2",
            "credit_bundles": [{"name": "B", "cost": "1", "credit_amount": "1"}],
            "default_auto_top_up_bundle_index": 0,
        },
    )
    clock = post("/test_clocks", {"frozen_time": "2026-02-01T00:00:00Z"})["test_clock_id"]
    for ref in ("keep", "gone"):
        post("/customers", {"reference_id": ref})
        post(f"/test_clocks/{clock}/customers", {"customer_id": ref})
        lava_server.cli(
            "subscriptions",
            "subscribe",
            "--secret-key",
            key,
            "--customer",
            ref,
            "--plan",
            plan["plan_id"],
            "--payment-method",
            "pm_card_visa",
        )
    post(
        "/requests",
        {
            "request_id": uuid.uuid4().hex,
            "customer_id": "keep",
            "meter_slug": post(
                "/meters",
                {"name": "m", "rate_type": "fixed", "tier_type": "requests", "tiers": [{"start": 0, "rate": "2"}]},
            )["meter_slug"],
        },
    )
    gone = api.get("/customers/gone/subscription").json()["subscription"]["subscription_id"]
    assert api.delete("/customers/gone").json() == {"success": True}
    assert post(f"/test_clocks/{clock}/advance", {"frozen_time": "2026-02-01T00:00:00Z"})["ran"]["topped_up"] == 1
    ran = post(f"/test_clocks/{clock}/advance", {"frozen_time": "2026-02-02T00:00:00Z"})["ran"]
    assert (ran["renewed"], ran["cancelled"], ran["topped_up"]) == (1, 1, 0)

    rows = lava_server.call(
        svc.db.fetchall(
            "SELECT type, customer_id, detail FROM webhook_events WHERE merchant_id = $1 ORDER BY id",
            merchant.merchant_id,
        )
    )
    types = [r["type"] for r in rows]
    for expected in (
        "subscription.updated",
        "subscription.renewed",
        "subscription.cancelled",
        "customer.credits.topped_up",
    ):
        assert expected in types, types
    keep = api.get("/customers/keep").json()["customer_id"]
    balance = [r for r in rows if r["type"] == "customer.wallet.balance.updated" and r["customer_id"] == keep]
    assert len(balance) >= 4  # the plan's grant, the draw (coalesced), the top-up, the renewal's grant
    cancelled = [r for r in rows if r["type"] == "subscription.cancelled"]
    assert len(cancelled) == 1 and gone in cancelled[0]["detail"] and "customer_deleted" in cancelled[0]["detail"]
    status = lava_server.call(svc.db.fetchval("SELECT status FROM subscriptions WHERE id = $1", gone))
    assert status == "cancelled"
    payments = lava_server.call(
        svc.db.fetchval("SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key LIKE $1", f"sub:{gone}:%:payment")
    )
    assert int(payments) == 0  # never charged after deletion

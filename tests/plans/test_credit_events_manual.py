"""Plan customers: ``customer.credits.low``/``exhausted`` watch the total spendable credit (cycle +
bundle + prepaid), once per crossing, in the charge's transaction; and ``POST /v1/requests`` runs
the gateway's entitlement and credit draw (docs/plans.md "Manual metering", docs/webhooks.md)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from lava_server.billing import ledger
from lava_server.money import to_wire
from tests.support.live import LiveServer

UNIT = 10_000_000_000  # 1 USD = 1 credit


class Shop:
    def __init__(self, server: LiveServer, *, webhook: bool = True) -> None:
        self.server = server
        self.key = server.merchant(f"credev-{uuid.uuid4().hex[:6]}")["secret_key"]
        svc = server.services
        self.merchant = server.call(svc.keys.resolve(self.key))
        if webhook:
            server.call(svc.webhooks.create(self.merchant, {"name": "a", "url": "https://93.184.216.34/a"}))
        self.api = httpx.Client(base_url=server.api_base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.api.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def meter(self, name: str, rate: str = "1") -> str:
        return str(self.meter_body(name, rate)["meter_slug"])

    def meter_body(self, name: str, rate: str = "1") -> dict[str, Any]:
        body = {"name": name, "rate_type": "fixed", "tier_type": "requests", "tiers": [{"start": 0, "rate": rate}]}
        return self.post("/meters", body)

    def report(self, customer: str, meter: str) -> httpx.Response:
        return self.api.post(
            "/requests", json={"request_id": uuid.uuid4().hex, "customer_id": customer, "meter_slug": meter}
        )

    def credits(self, customer: str) -> dict[str, str]:
        return self.api.get(f"/customers/{customer}/subscription").json()["subscription"]["credits"]  # type: ignore[no-any-return]

    def events(self, type_: str) -> list[dict[str, Any]]:
        rows = self.server.call(
            self.server.services.db.fetchall(
                "SELECT detail FROM webhook_events WHERE merchant_id = $1 AND type = $2 ORDER BY created_at, id",
                self.merchant.merchant_id,
                type_,
            )
        )
        import json

        return [json.loads(r["detail"]) for r in rows]

    def check_ledger(self) -> None:
        report = self.server.call(ledger.check(self.server.services.db))
        assert report.ok, report.problems


def test_low_and_exhausted_follow_total_credit_once_per_crossing(lava_server: LiveServer) -> None:
    shop = Shop(lava_server)
    meter = shop.meter("calls")
    plan = shop.post(
        "/plans", {"name": "F3", "period_amount": "0", "billing_interval": "month", "included_credit": "3"}
    )
    customer = shop.post("/customers", {"reference_id": "u"})
    shop.post("/subscriptions", {"customer_id": "u", "plan_id": plan["plan_id"]})

    def step(expected_total: str) -> None:
        r = shop.report("u", meter)
        assert r.status_code == 201, r.text
        assert shop.credits("u")["total_remaining"] == expected_total

    step("2.0000000000")
    step("1.0000000000")  # at the $1 threshold, not below it: nothing yet
    assert shop.events("customer.credits.low") == [] and shop.events("customer.credits.exhausted") == []
    step("0.0000000000")  # 1 → 0 crosses both
    step("-1.0000000000")  # debt: still below, no repeat
    low, exhausted = shop.events("customer.credits.low"), shop.events("customer.credits.exhausted")
    assert len(low) == 1 and len(exhausted) == 1
    assert low[0]["credits"] == {"balance": "0.0000000000", "threshold": to_wire(UNIT)}

    # Prepaid counts towards the total: fund 3, the total rises to 2 (debt −1 + 3), then spend it.
    wallet = customer.get("wallet_id") or lava_server.call(
        lava_server.services.db.fetchval("SELECT wallet_id FROM connections WHERE id = $1", customer["customer_id"])
    )
    lava_server.call(
        lava_server.services.ledger.credit_wallet(
            wallet, "test", 3 * UNIT, source="external_funding", key=f"fund-{uuid.uuid4().hex}"
        )
    )
    assert len(shop.events("customer.credits.low")) == 1  # a rise emits nothing
    r = shop.report("u", meter)  # prepaid 3 → 2, total 2 → 1: no crossing
    assert r.status_code == 201, r.text
    assert len(shop.events("customer.credits.low")) == 1
    r = shop.report("u", meter)  # total 1 → 0: crossed again after the rise
    assert r.status_code == 201, r.text
    assert len(shop.events("customer.credits.low")) == 2 and len(shop.events("customer.credits.exhausted")) == 2
    shop.check_ledger()


def test_manual_requests_run_the_gateway_entitlement(lava_server: LiveServer) -> None:
    shop = Shop(lava_server, webhook=False)
    linked_meter, other = shop.meter_body("linked"), shop.meter("other")
    linked, linked_id = linked_meter["meter_slug"], linked_meter["meter_id"]
    plan = shop.post(
        "/plans",
        {
            "name": "L",
            "period_amount": "0",
            "billing_interval": "month",
            "included_credit": "1",
            "meter_ids": [linked_id],
        },
    )
    shop.post("/customers", {"reference_id": "w"})
    shop.post("/subscriptions", {"customer_id": "w", "plan_id": plan["plan_id"]})

    r = shop.report("w", other)
    assert r.status_code == 403 and r.json()["error"]["code"] == "meter_not_on_plan", r.text
    # the same draw as the gateway: credits first, then debt on the cycle credits (never refused)
    for _ in range(2):
        assert shop.report("w", linked).status_code == 201
    assert shop.credits("w") == {
        "total_remaining": "-1.0000000000",
        "cycle_remaining": "-1.0000000000",
        "bundle_remaining": "0.0000000000",
    }

    # no active subscription: the customer's free plan was cancelled and took effect
    shop.post("/customers", {"reference_id": "x"})
    clock = shop.post("/test_clocks", {"frozen_time": "2026-03-01T00:00:00Z"})["test_clock_id"]
    shop.post(f"/test_clocks/{clock}/customers", {"customer_id": "x"})
    sub = shop.api.get("/customers/x/subscription").json()["subscription"]
    assert shop.api.delete(f"/subscriptions/{sub['subscription_id']}").status_code == 200
    shop.post(f"/test_clocks/{clock}/advance", {"frozen_time": "2026-04-02T00:00:00Z"})
    assert shop.api.get("/customers/x/subscription").json()["subscription"] is None
    r = shop.report("x", linked)
    assert r.status_code == 402 and r.json()["error"]["code"] == "no_active_subscription", r.text

    # deleted customer
    assert shop.api.delete("/customers/w").status_code == 200
    r = shop.report("w", linked)
    assert r.status_code == 403 and r.json()["error"]["code"] == "customer_inactive", r.text
    shop.check_ledger()


def test_never_subscribed_connection_takes_no_cycle_debt(lava_server: LiveServer) -> None:
    """A connection made before plans (no subscription ever) is charged by the 2025 rules: prepaid
    down to its floor, the merchant covering the rest; no credit account moves, no plan is joined."""
    shop = Shop(lava_server, webhook=False)
    meter = shop.meter("old", rate="2")
    customer = shop.post("/customers", {"reference_id": "legacy"})
    con = customer["customer_id"]
    db = lava_server.services.db
    lava_server.call(db.execute("DELETE FROM subscriptions WHERE connection_id = $1", con))
    r = shop.report("legacy", meter)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["charge"]["amount"] == "2.0000000000"
    rows = lava_server.call(
        db.fetchall(
            "SELECT kind, balance FROM ledger_accounts WHERE kind IN ('credit_cycle', 'credit_bundle') AND owner_id = $1",
            con,
        )
    )
    assert all(int(r["balance"]) == 0 for r in rows), rows
    assert lava_server.call(db.fetchval("SELECT COUNT(*) FROM subscriptions WHERE connection_id = $1", con)) == 0
    shortfall = lava_server.call(db.fetchval("SELECT shortfall FROM requests WHERE connection_id = $1", con))
    assert int(shortfall) == 2 * UNIT  # the merchant covered it: the wallet had nothing and no floor
    shop.check_ledger()

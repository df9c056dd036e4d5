"""Checkout modes ``subscription`` and ``credit_bundle`` (docs/plans.md) on the hosted page with the
test processor, driven over plain HTTP: the page charges the plan's first period or the bundle's
cost, buys it, and reports the customer id; a decline changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.checkout.helpers import Embed, create_session
from tests.support.live import LiveServer


class Shop:
    def __init__(self, server: LiveServer, key: str | None = None) -> None:
        self.server = server
        self.key = key or server.merchant(f"co-plans-{uuid.uuid4().hex[:6]}")["secret_key"]
        self.api = httpx.Client(base_url=server.api_base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        self.pro = self.post(
            "/plans",
            {
                "name": "Pro",
                "period_amount": "20",
                "billing_interval": "month",
                "included_credit": "15",
                "credit_bundles": [{"name": "Pack", "cost": "5", "credit_amount": "6"}],
            },
        )
        self.free = self.post(
            "/plans", {"name": "Free5", "period_amount": "0", "billing_interval": "month", "included_credit": "5"}
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.api.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def collected(self) -> int:
        merchant_id = self.pro["merchant_id"]
        total = self.server.call(
            self.server.services.db.fetchval(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers WHERE credit_account = $1"
                " AND kind IN ('plan_payment', 'bundle_payment')",
                f"merchant_revenue:{merchant_id}:test",
            )
        )
        return int(total) // 10**10


@pytest.fixture
def shop(lava_server: LiveServer) -> Shop:
    return Shop(lava_server)


def buy(
    shop: Shop, session: dict[str, Any], *, email: str | None = "ada@example.com", number: str = "4242 4242 4242 4242"
) -> Embed:
    page = Embed(shop.server, session["checkout_session_token"])
    page.get()
    sent = page.post("email", email=email) if email is not None else page.post("email")  # on file: just send the code
    assert sent.status_code == 200
    assert page.post("verify", code="000000").status_code == 200
    assert 'id="pay-form"' in page.page, page.page
    page.pay(amount="999.00", number=number)  # the form's amount is ignored: the price is fixed
    return page


def test_subscription_checkout_new_customer_then_bundle(shop: Shop) -> None:
    session = create_session(shop.server, shop.key, checkout_mode="subscription", plan_id=shop.pro["plan_id"])
    assert session["plan_id"] == shop.pro["plan_id"] and "customer_id" not in session
    declined = buy(shop, session, number="4000 0000 0000 0002")
    assert "declined" in declined.page
    assert shop.collected() == 0
    page = Embed(shop.server, session["checkout_session_token"])
    page.get()
    r = page.pay(number="4242 4242 4242 4242")
    assert r.status_code == 200 and 'id="lava-done"' in page.page and "Your plan is active." in page.page
    done = shop.api.get(f"/checkout_sessions/{session['checkout_session_id']}").json()
    customer_id = done["customer_id"]
    assert done["completed_at"] and customer_id in page.page  # reported to the embedding page
    sub = shop.api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
    assert sub["plan"]["name"] == "Pro" and sub["credits"]["cycle_remaining"] == "15.0000000000"
    assert shop.collected() == 20
    stored = shop.server.call(
        shop.server.services.db.fetchval(
            "SELECT payment_method FROM subscriptions WHERE id = $1", sub["subscription_id"]
        )
    )
    assert stored == "tpm_4242"  # the card renewals and top-ups charge off-session

    # the same plan again, nothing pending
    r = shop.api.post(
        "/checkout_sessions",
        json={
            "checkout_mode": "subscription",
            "origin_url": "https://shop.example/",
            "plan_id": shop.pro["plan_id"],
            "customer_id": customer_id,
        },
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "already_subscribed"
    # a bundle of another plan
    other = shop.post(
        "/plans",
        {
            "name": "O",
            "period_amount": "0",
            "billing_interval": "day",
            "credit_bundles": [{"name": "x", "cost": "1", "credit_amount": "1"}],
        },
    )
    r = shop.api.post(
        "/checkout_sessions",
        json={
            "checkout_mode": "credit_bundle",
            "origin_url": "https://shop.example/",
            "customer_id": customer_id,
            "credit_bundle_id": other["credit_bundles"][0]["credit_bundle_id"],
        },
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bundle_not_on_plan"

    bundle = create_session(
        shop.server,
        shop.key,
        checkout_mode="credit_bundle",
        customer_id=customer_id,
        credit_bundle_id=shop.pro["credit_bundles"][0]["credit_bundle_id"],
    )
    assert bundle["customer_id"] == customer_id
    page = buy(shop, bundle, email=None)  # the email on file gets the code
    assert "Credits were added to your plan." in page.page
    credits = shop.api.get(f"/customers/{customer_id}/subscription").json()["subscription"]["credits"]
    assert credits == {
        "total_remaining": "21.0000000000",
        "cycle_remaining": "15.0000000000",
        "bundle_remaining": "6.0000000000",
    }
    assert shop.collected() == 25


def test_free_plan_checkout_needs_no_card(shop: Shop) -> None:
    session = create_session(shop.server, shop.key, checkout_mode="subscription", plan_id=shop.free["plan_id"])
    page = Embed(shop.server, session["checkout_session_token"])
    page.get()
    assert page.post("email", email="bo@example.com").status_code == 200
    assert page.post("verify", code="000000").status_code == 200
    assert 'id="lava-done"' in page.page and 'id="pay-form"' not in page.page
    customer_id = shop.api.get(f"/checkout_sessions/{session['checkout_session_id']}").json()["customer_id"]
    sub = shop.api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
    assert sub["plan"]["name"] == "Free5" and sub["credits"]["cycle_remaining"] == "5.0000000000"
    assert shop.collected() == 0


def test_session_validation(shop: Shop) -> None:
    def err(**body: Any) -> tuple[int, str]:
        r = shop.api.post("/checkout_sessions", json={"origin_url": "https://shop.example/", **body})
        return r.status_code, r.json()["error"]["code"]

    assert err(checkout_mode="subscription") == (400, "invalid_request")
    assert err(checkout_mode="subscription", plan_id="plan_test_nope") == (404, "not_found")
    assert err(checkout_mode="credit_bundle", credit_bundle_id=shop.pro["credit_bundles"][0]["credit_bundle_id"]) == (
        400,
        "invalid_request",
    )
    assert err(checkout_mode="onboarding", plan_id=shop.pro["plan_id"]) == (400, "invalid_request")
    customer = shop.post("/customers", {"reference_id": "gone"})
    shop.api.delete(f"/customers/{customer['customer_id']}")
    assert err(checkout_mode="subscription", plan_id=shop.pro["plan_id"], customer_id=customer["customer_id"]) == (
        409,
        "customer_inactive",
    )

"""Plan credits at the gateway (docs/plans.md): entitlement and holds before upstream, the
draw order at settlement, auto top-up after a refused call. Fake upstream, managed OpenAI key."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from tests.e2e.conftest_gateway import GatewayStack, fake_gateway  # noqa: F401

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:  # noqa: F811
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, report.problems


class Shop:
    def __init__(self, stack: GatewayStack) -> None:
        self.stack = stack
        self.server = stack.server
        self.key = self.server.merchant(f"plan-gw-{uuid.uuid4().hex[:6]}")["secret_key"]
        self.api = httpx.Client(
            base_url=self.server.api_base, headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.api.post(path, json=body)
        assert r.status_code in (200, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def call(self, customer: str, meter_slug: str, **extra: Any) -> httpx.Response:
        token = {"secret_key": self.key, "customer_id": customer, "meter_slug": meter_slug, **extra}
        raw = base64.b64encode(json.dumps(token, separators=(",", ":")).encode()).decode()
        return httpx.post(
            f"{self.server.api_base}forward?u={OPENAI_CHAT}",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5},
            headers={"Authorization": f"Bearer {raw}"},
            timeout=30,
        )

    def credits(self, customer: str) -> dict[str, str]:
        return self.api.get(f"/customers/{customer}/subscription").json()["subscription"]["credits"]  # type: ignore[no-any-return]


def per_call_meter(shop: Shop, name: str) -> dict[str, Any]:
    return shop.post(
        "/meters", {"name": name, "rate_type": "fixed", "tier_type": "requests", "tiers": [{"start": 0, "rate": "1"}]}
    )


def test_entitlement_holds_and_draw_order(stack: GatewayStack) -> None:
    shop = Shop(stack)
    linked, other = per_call_meter(shop, "linked"), per_call_meter(shop, "other")
    plan = shop.post(
        "/plans",
        {
            "name": "F2",
            "period_amount": "0",
            "billing_interval": "month",
            "included_credit": "2",
            "meter_ids": [linked["meter_id"]],
        },
    )
    shop.post("/customers", {"reference_id": "u"})
    shop.post("/subscriptions", {"customer_id": "u", "plan_id": plan["plan_id"]})
    hits = stack.upstream_hits()

    r = shop.call("u", "other")  # a meter the plan does not link: refused before upstream
    assert r.status_code == 403 and r.json()["error"]["code"] == "meter_not_on_plan"
    assert stack.upstream_hits() == hits

    assert shop.call("u", "linked").status_code == 200  # row 3: charged to cycle credits
    assert shop.credits("u") == {
        "total_remaining": "1.0000000000",
        "cycle_remaining": "1.0000000000",
        "bundle_remaining": "0.0000000000",
    }
    assert shop.call("u", "linked", disable_billing=True).status_code == 200  # row 4: tracked, not charged
    assert shop.credits("u")["cycle_remaining"] == "1.0000000000"
    assert shop.call("u", "linked").status_code == 200
    assert shop.credits("u")["total_remaining"] == "0.0000000000"
    hits = stack.upstream_hits()
    r = shop.call("u", "linked")  # credits exhausted: 402 before upstream
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
    assert stack.upstream_hits() == hits
    # a prepaid top-up is the last source drawn (cycle → bundle → prepaid)
    con = shop.api.get("/customers/u").json()["customer_id"]
    shop.server.cli("wallets", "credit", "--secret-key", shop.key, "--connection-id", con, "--amount", "1")
    assert shop.call("u", "linked").status_code == 200
    assert shop.credits("u")["total_remaining"] == "0.0000000000"
    assert shop.call("u", "linked").status_code == 402
    assert other["meter_id"] not in {
        m["meter_id"] for m in shop.api.get(f"/plans/{plan['plan_id']}").json()["linked_meters"]
    }


def test_refused_call_triggers_one_auto_top_up_then_passes(stack: GatewayStack) -> None:
    shop = Shop(stack)
    per_call_meter(shop, "m")
    plan = shop.post(
        "/plans",
        {
            "name": "Auto",
            "period_amount": "0",
            "billing_interval": "month",
            "included_credit": "1",
            "credit_bundles": [{"name": "Top", "cost": "3", "credit_amount": "2"}],
            "default_auto_top_up_bundle_index": 0,
        },
    )
    clock = shop.post("/test_clocks", {"frozen_time": "2026-03-01T00:00:00Z"})["test_clock_id"]
    shop.post("/customers", {"reference_id": "t"})
    shop.post(f"/test_clocks/{clock}/customers", {"customer_id": "t"})
    shop.server.cli(
        "subscriptions",
        "subscribe",
        "--secret-key",
        shop.key,
        "--customer",
        "t",
        "--plan",
        plan["plan_id"],
        "--payment-method",
        "pm_card_visa",
    )
    assert shop.call("t", "m").status_code == 200
    r = shop.call("t", "m")
    assert r.status_code == 402 and r.json()["error"]["code"] == "insufficient_credits"
    ran = shop.post(f"/test_clocks/{clock}/advance", {"frozen_time": "2026-03-01T00:00:01Z"})["ran"]
    assert ran["topped_up"] == 1
    assert shop.credits("t") == {
        "total_remaining": "2.0000000000",
        "cycle_remaining": "0.0000000000",
        "bundle_remaining": "2.0000000000",
    }
    assert shop.call("t", "m").status_code == 200  # the next call uses the new credits
    assert shop.credits("t")["bundle_remaining"] == "1.0000000000"


def test_no_active_subscription_after_free_plan_cancelled(stack: GatewayStack) -> None:
    shop = Shop(stack)
    per_call_meter(shop, "m")
    clock = shop.post("/test_clocks", {"frozen_time": "2026-01-10T00:00:00Z"})["test_clock_id"]
    shop.post("/customers", {"reference_id": "n"})
    shop.post(f"/test_clocks/{clock}/customers", {"customer_id": "n"})
    sub = shop.api.get("/customers/n/subscription").json()["subscription"]
    assert sub["plan"]["name"] == "Free" and sub["cycle_end_at"] == "2026-02-10T00:00:00Z"
    assert shop.api.delete(f"/subscriptions/{sub['subscription_id']}").json() == {"success": True}
    shop.post(f"/test_clocks/{clock}/advance", {"frozen_time": "2026-02-10T00:00:00Z"})
    assert shop.api.get("/customers/n/subscription").json() == {"subscription": None}
    r = shop.call("n", "m", disable_billing=True)
    assert r.status_code == 402 and r.json()["error"]["code"] == "no_active_subscription"

"""/v1/plans, /v1/credit_bundles and /v1/subscriptions over HTTP (docs/plans.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.live import LiveServer


def client(server: LiveServer, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api_base, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture
def api(lava_server: LiveServer) -> httpx.Client:
    return client(lava_server, lava_server.merchant("plans-api")["secret_key"])


def meter(api: httpx.Client, name: str = "Tokens") -> dict[str, Any]:
    r = api.post(
        "/meters",
        json={"name": name, "rate_type": "fixed", "tier_type": "requests", "tiers": [{"start": 0, "rate": "1"}]},
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_default_free_plan_exists_and_cannot_be_deleted(api: httpx.Client) -> None:
    plans = api.get("/plans").json()["data"]
    assert [p["name"] for p in plans] == ["Free"]
    free = plans[0]
    assert free["period_amount"] == "0.0000000000" and free["included_credit"] == "0.0000000000"
    assert (free["billing_interval"], free["rollover_type"], free["bundle_rollover_type"]) == ("month", "none", "full")
    r = api.delete(f"/plans/{free['plan_id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "default_plan"
    # editable, though
    assert (
        api.patch(f"/plans/{free['plan_id']}", json={"included_credit": "2"}).json()["included_credit"]
        == "2.0000000000"
    )


def test_plan_crud_validation_and_bundles(api: httpx.Client) -> None:
    m = meter(api)
    body = {
        "name": "Pro",
        "period_amount": "20",
        "billing_interval": "month",
        "included_credit": "15",
        "meter_ids": [m["meter_id"]],
        "credit_bundles": [
            {"name": "Small", "cost": "5", "credit_amount": "5"},
            {"name": "Big", "cost": "9", "credit_amount": 10},
        ],
        "default_auto_top_up_bundle_index": 1,
    }
    r = api.post("/plans", json=body)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["rollover_type"] == "none" and plan["bundle_rollover_type"] == "full"
    assert plan["linked_meters"] == [{"meter_id": m["meter_id"], "name": "Tokens"}]
    big = [b for b in plan["credit_bundles"] if b["name"] == "Big"][0]
    assert plan["default_auto_top_up_bundle_id"] == big["credit_bundle_id"]
    assert big["credit_amount"] == "10.0000000000"
    # bundles list/retrieve, filtered by plan (both vocabularies)
    listed = api.get("/credit_bundles", params={"plan_id": plan["plan_id"]}).json()["data"]
    assert {b["name"] for b in listed} == {"Small", "Big"}
    assert api.get("/credit_bundles", params={"subscription_config_id": plan["plan_id"]}).json()["data"] == listed
    assert api.get(f"/credit_bundles/{big['credit_bundle_id']}").json()["plan_id"] == plan["plan_id"]
    # validation limits
    for bad in (
        {**body, "period_amount": "10001"},
        {**body, "included_credit": "21"},
        {**body, "billing_interval": "fortnight"},
        {**body, "credit_bundles": [{"name": "x", "cost": "0", "credit_amount": "1"}]},
        {**body, "default_auto_top_up_bundle_index": 5},
        {**body, "period_amount": "1.00000000001"},
    ):
        r = api.post("/plans", json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert api.post("/plans", json={**body, "period_amount": "0", "included_credit": "10000"}).status_code == 201
    # default included credit = period amount
    assert (
        api.post("/plans", json={"name": "D", "period_amount": "7", "billing_interval": "week"}).json()[
            "included_credit"
        ]
        == "7.0000000000"
    )
    # immutable fields
    for field in ("period_amount", "billing_interval"):
        r = api.patch(f"/plans/{plan['plan_id']}", json={field: "1" if field == "period_amount" else "day"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "immutable_field"
    # reconcile bundles: update one, delete one, add one; unlisted stay
    small = [b for b in plan["credit_bundles"] if b["name"] == "Small"][0]
    r = api.patch(
        f"/plans/{plan['plan_id']}",
        json={
            "name": "Pro 2",
            "credit_bundles": [
                {"credit_bundle_id": small["credit_bundle_id"], "name": "Small+", "cost": "6", "credit_amount": "6"},
                {
                    "credit_bundle_id": big["credit_bundle_id"],
                    "name": "Big",
                    "cost": "9",
                    "credit_amount": "10",
                    "is_deleted": True,
                },
                {"name": "New", "cost": "1", "credit_amount": "1"},
            ],
        },
    )
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["name"] == "Pro 2"
    assert sorted(b["name"] for b in updated["credit_bundles"]) == ["New", "Small+"]
    assert updated["default_auto_top_up_bundle_id"] is None  # its bundle was removed
    assert api.get(f"/credit_bundles/{big['credit_bundle_id']}").status_code == 404
    # aliases
    assert api.get(f"/subscription_configs/{plan['plan_id']}").json()["plan_id"] == plan["plan_id"]
    # delete
    assert api.delete(f"/plans/{plan['plan_id']}").json() == {"id": plan["plan_id"], "deleted": True}
    assert api.get(f"/plans/{plan['plan_id']}").status_code == 404


def test_new_customer_is_on_free_and_subscriptions_flow(api: httpx.Client) -> None:
    c = api.post("/customers", json={"reference_id": "u-1", "phone": "+14155550123"}).json()
    assert c["subscription"]["name"] == "Free" and c["subscription"]["status"] == "active"
    sub = api.get(f"/customers/{c['customer_id']}/subscription").json()["subscription"]
    assert sub["plan"]["name"] == "Free"
    assert sub["credits"] == {
        "total_remaining": "0.0000000000",
        "cycle_remaining": "0.0000000000",
        "bundle_remaining": "0.0000000000",
    }
    free10 = api.post(
        "/plans",
        json={
            "name": "Free10",
            "period_amount": "0",
            "billing_interval": "month",
            "included_credit": "10",
            "credit_bundles": [{"name": "B", "cost": "3", "credit_amount": "4"}],
        },
    ).json()
    r = api.post("/subscriptions", json={"customer_id": "u-1", "plan_id": free10["plan_id"]})
    assert r.status_code == 201, r.text
    s = r.json()["subscription"]
    assert s["plan_id"] == free10["plan_id"] and s["credits"]["cycle_remaining"] == "10.0000000000"
    assert s["pending_change"] is None and s["cycle_end_at"] > s["cycle_start_at"]
    con = api.get(f"/connections/{c['customer_id']}").json()  # the 8.x view of the same customer
    assert (
        con["subscription"]["subscription_config_id"] == free10["plan_id"] and con["subscription"]["name"] == "Free10"
    )
    assert con["has_lava_credit_balance"] is True and con["wallet"]["balance"] == "0.0000000000"
    # paid plan through the API: refused
    paid = api.post("/plans", json={"name": "Paid", "period_amount": "5", "billing_interval": "month"}).json()
    r = api.post("/subscriptions", json={"customer_id": "u-1", "plan_id": paid["plan_id"]})
    assert r.status_code == 400 and r.json()["error"]["code"] == "paid_plan_requires_checkout"
    # list by status and customer
    active = api.get("/subscriptions", params={"customer_id": "u-1"}).json()["data"]
    assert [x["subscription_id"] for x in active] == [s["subscription_id"]]
    assert active[0]["customer_id"] == c["customer_id"] and active[0]["customer"]["phone"] == "+14155550123"
    assert api.get("/subscriptions", params={"status": "cancelled"}).json()["data"] == []
    # auto top-up bundle: only the plan's bundles
    bundle_id = free10["credit_bundles"][0]["credit_bundle_id"]
    assert api.patch(f"/subscriptions/{s['subscription_id']}", json={"auto_top_up_bundle_id": bundle_id}).json() == {
        "success": True
    }
    other = api.post(
        "/plans",
        json={
            "name": "O",
            "period_amount": "0",
            "billing_interval": "day",
            "credit_bundles": [{"name": "x", "cost": "1", "credit_amount": "1"}],
        },
    ).json()
    r = api.patch(
        f"/subscriptions/{s['subscription_id']}",
        json={"auto_top_up_bundle_id": other["credit_bundles"][0]["credit_bundle_id"]},
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "bundle_not_on_plan"
    # plan in use
    r = api.delete(f"/plans/{free10['plan_id']}")
    assert r.status_code == 409 and r.json()["error"]["code"] == "plan_in_use"
    # cancel: pending to cycle end, idempotent
    for _ in range(2):
        assert api.delete(f"/subscriptions/{s['subscription_id']}").json() == {"success": True}
    now = api.get(f"/customers/{c['customer_id']}/subscription").json()["subscription"]
    assert now["status"] == "active" and now["pending_change"] == {
        "type": "cancellation",
        "effective_at": s["cycle_end_at"],
    }
    assert now["auto_top_up_bundle_id"] == bundle_id


def test_isolation_between_merchants(lava_server: LiveServer, api: httpx.Client) -> None:
    plan = api.post("/plans", json={"name": "Mine", "period_amount": "0", "billing_interval": "day"}).json()
    other = client(lava_server, lava_server.merchant("plans-other")["secret_key"])
    assert other.get(f"/plans/{plan['plan_id']}").status_code == 404
    assert [p["name"] for p in other.get("/plans").json()["data"]] == ["Free"]


def test_cli_plans_subscriptions_and_clock(lava_server: LiveServer) -> None:
    key = lava_server.merchant("plans-cli")["secret_key"]
    made = lava_server.cli(
        "plans", "create", "--secret-key", key, "--name", "Team", "--period-amount", "9", "--interval", "week",
        "--included-credit", "4", "--rollover", "full", "--bundle", "Boost:2:3", "--auto-top-up-index", "0",
    )  # fmt: skip
    assert (made["period_amount"], made["included_credit"], made["rollover_type"]) == (
        "9.0000000000",
        "4.0000000000",
        "full",
    )
    assert made["default_auto_top_up_bundle_id"] == made["credit_bundles"][0]["credit_bundle_id"]
    assert {p["name"] for p in lava_server.cli("plans", "list", "--secret-key", key)["data"]} == {"Free", "Team"}
    lava_server.cli("customers", "create", "--secret-key", key, "--reference-id", "c1")
    clock = lava_server.cli("clock", "create", "--secret-key", key, "--frozen-time", "2026-03-02T00:00:00Z")
    assert lava_server.cli("clock", "attach", clock["test_clock_id"], "--customer", "c1", "--secret-key", key) == {
        "success": True
    }
    assert "card_declined" in lava_server.cli_error(
        "subscriptions", "subscribe", "--secret-key", key, "--customer", "c1", "--plan", made["plan_id"],
        "--payment-method", "pm_card_chargeDeclined",
    )  # fmt: skip
    sub = lava_server.cli(
        "subscriptions", "subscribe", "--secret-key", key, "--customer", "c1", "--plan", made["plan_id"],
        "--payment-method", "pm_card_visa",
    )["subscription"]  # fmt: skip
    assert sub["cycle_end_at"] == "2026-03-09T00:00:00Z" and sub["credits"]["cycle_remaining"] == "4.0000000000"
    out = lava_server.cli("clock", "advance", clock["test_clock_id"], "--by", "1w", "--secret-key", key)
    assert out["ran"]["renewed"] == 1 and out["frozen_time"] == "2026-03-09T00:00:00Z"
    listed = lava_server.cli("subscriptions", "list", "--secret-key", key, "--customer", "c1")["data"]
    assert listed[0]["credits"]["cycle_remaining"] == "8.0000000000"  # full rollover
    assert lava_server.cli("subscriptions", "cancel", sub["subscription_id"], "--secret-key", key) == {"success": True}
    assert set(lava_server.cli("subscriptions", "run-due", "--secret-key", key)) >= {"renewed", "failed", "topped_up"}
    assert "plan_in_use" in lava_server.cli_error("plans", "delete", made["plan_id"], "--secret-key", key)

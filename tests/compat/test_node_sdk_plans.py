"""The OFFICIAL @lavapayments/nodejs 11.2.0 against plans, subscriptions and credit bundles
(``node/sdk1120_plans.mjs``): the SDK's 9 subscription/plan calls and 2 credit-bundle calls, and
``customers.getSubscription``. Each response is checked against the SDK's own ``index.d.ts``
types: exactly under the merchant profile ``current``, as a superset under ``compat``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.compat.current_support import ALIAS, new_merchant
from tests.compat.dts_shapes import Field, check, shape
from tests.compat.test_node_sdk import Driver, SdkVersion, assert_api_error, ok
from tests.plans.test_checkout_purchases import Shop
from tests.support.live import LiveServer

pytestmark = pytest.mark.node

SDK = SdkVersion("11.2.0", "lava1120", "sdk1120_plans.mjs", None)


def conforms(value: Any, fields: dict[str, Field] | str, profile: str) -> None:
    spec = shape(ALIAS, fields) if isinstance(fields, str) else fields
    problems = check(value, spec, exact=profile == "current")
    assert not problems, problems


def subscription_list_item() -> dict[str, Field]:
    """``RestSubscription = RestSubscriptionBase & {customer_id, customer}`` (an intersection)."""
    return {
        **shape(ALIAS, "RestSubscriptionBase"),
        "customer_id": Field(False, "string"),
        "customer": Field(False, "object", children=shape(ALIAS, "RestSubscriptionCustomer")),
    }


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_plans_subscriptions_and_bundles(node_1120: str, lava_server: LiveServer, profile: str) -> None:
    key = new_merchant(lava_server, profile)
    out = Driver(SDK, node_1120, lava_server).run("plans", key, reference_id=f"ref-{uuid.uuid4().hex[:6]}")

    before = ok(out["before"], "subscriptions.listPlans")
    assert [p["name"] for p in before["data"]] == ["Free"]
    free10 = ok(out["free10"], "subscriptions.createPlan")
    for plan in (free10, ok(out["paid"], "createPlan (paid)"), ok(out["retrieved"], "retrievePlan")):
        conforms(plan, "RestPlan", profile)
    assert free10["linked_meters"] == [{"meter_id": out["meter"]["meter_id"], "name": "Plan tokens"}]
    assert free10["default_auto_top_up_bundle_id"] == free10["credit_bundles"][0]["credit_bundle_id"]
    assert free10["included_credit"] == "10.0000000000" and free10["rollover_type"] == "full"
    assert ok(out["retrieved"], "retrievePlan") == free10
    updated = ok(out["updated"], "subscriptions.updatePlan")
    conforms(updated, "RestPlan", profile)
    assert updated["name"] == "Pro yearly" and updated["bundle_rollover_type"] == "none"
    assert updated["period_amount"] == "20.0000000000" and updated["billing_interval"] == "year"
    assert [b["name"] for b in updated["credit_bundles"]] == ["Extra"]
    assert_api_error(out["immutable"], "updatePlan period_amount", 400, "immutable_field")
    pages = ok(out["plans"], "listPlans paging")
    assert sum(len(p["ids"]) for p in pages) == 3 and pages[0]["has_more"] is True

    bundles = ok(out["bundles"], "creditBundles.list")
    assert [b["name"] for b in bundles["data"]] == ["Boost"]
    for bundle in bundles["data"]:
        conforms(bundle, "RestCreditBundle", profile)
    assert sum(len(p["ids"]) for p in ok(out["all_bundles"], "creditBundles.list paging")) == 2
    bundle = ok(out["bundle"], "creditBundles.retrieve")
    conforms(bundle, "RestCreditBundle", profile)
    assert bundle["cost"] == "5.0000000000" and bundle["credit_amount"] == "6.0000000000"

    customer = ok(out["customer"], "customers.create")
    assert customer["subscription"]["name"] == "Free"
    created = ok(out["created"], "subscriptions.create")["subscription"]
    conforms(created, "RestSubscriptionBase", profile)
    assert created["plan_id"] == free10["plan_id"] and created["credits"]["cycle_remaining"] == "10.0000000000"
    assert created["auto_top_up_bundle_id"] == bundle["credit_bundle_id"]  # copied from the plan default
    assert_api_error(out["paid_refused"], "subscriptions.create (paid)", 400, "paid_plan_requires_checkout")
    listed = ok(out["listed"], "subscriptions.list")
    assert [s["subscription_id"] for s in listed["data"]] == [created["subscription_id"]]
    for item in listed["data"]:
        conforms(item, subscription_list_item(), profile)
    assert listed["data"][0]["customer"]["phone"] == "+14155550123"
    assert len(ok(out["listed_all"], "subscriptions.list all")["data"]) == 1
    assert ok(out["listed_cancelled"], "subscriptions.list cancelled")["data"] == []
    assert ok(out["top_up_off"], "subscriptions.update null") == {"success": True}
    assert ok(out["top_up_on"], "subscriptions.update bundle") == {"success": True}
    assert_api_error(out["top_up_foreign"], "update with another plan's bundle", 400, "bundle_not_on_plan")
    current = ok(out["current"], "customers.getSubscription")["subscription"]
    conforms(current, "RestSubscriptionBase", profile)
    assert current["pending_change"] is None
    assert ok(out["cancelled"], "subscriptions.cancel") == {"success": True}
    after = ok(out["after_cancel"], "getSubscription after cancel")["subscription"]
    assert after["status"] == "active"
    assert after["pending_change"] == {"type": "cancellation", "effective_at": after["cycle_end_at"]}
    assert_api_error(out["delete_in_use"], "deletePlan in use", 409, "plan_in_use")
    assert_api_error(out["delete_default"], "deletePlan default", 409, "default_plan")
    assert ok(out["deleted"], "deletePlan") == {"id": updated["plan_id"], "deleted": True}
    assert_api_error(out["gone"], "retrievePlan deleted", 404, "not_found")
    assert_api_error(out["gone_bundle"], "a deleted plan's bundle", 404, "not_found")


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_checkout_modes_through_the_sdk(node_1120: str, lava_server: LiveServer, profile: str) -> None:
    """``checkoutSessions.create`` in ``subscription`` and ``credit_bundle`` modes, each completed on the page."""
    from tests.plans.test_checkout_purchases import buy

    key = new_merchant(lava_server, profile)
    shop = Shop(lava_server, key)
    drive = Driver(SDK, node_1120, lava_server)
    out = drive.run("checkout", key, origin_url="http://127.0.0.1:3000", plan_id=shop.pro["plan_id"])
    created = ok(out["subscription"], "checkoutSessions.create (subscription)")
    ignore = ("$.completed_at: null",) if profile == "compat" else ()
    problems = [
        p
        for p in check(created, shape(ALIAS, "RestCheckoutSession"), exact=profile == "current")
        if not p.startswith(ignore)
    ]
    assert not problems, problems
    assert created["checkout_mode"] == "subscription" and created["plan_id"] == shop.pro["plan_id"]
    assert out["subscription_token"]["usable_by_hook"] is True
    assert shop.api.get(f"/checkout_sessions/{created['checkout_session_id']}").json()["plan_id"] == shop.pro["plan_id"]
    buy(shop, created)
    customer_id = shop.api.get(f"/checkout_sessions/{created['checkout_session_id']}").json()["customer_id"]
    assert shop.api.get(f"/customers/{customer_id}/subscription").json()["subscription"]["plan"]["name"] == "Pro"

    bundle_id = shop.pro["credit_bundles"][0]["credit_bundle_id"]
    out = drive.run(
        "checkout",
        key,
        origin_url="http://127.0.0.1:3000",
        plan_id=shop.pro["plan_id"],
        customer_id=customer_id,
        credit_bundle_id=bundle_id,
    )
    bundle = ok(out["bundle"], "checkoutSessions.create (credit_bundle)")
    assert bundle["checkout_mode"] == "credit_bundle" and bundle["customer_id"] == customer_id
    buy(shop, bundle, email=None)
    credits = shop.api.get(f"/customers/{customer_id}/subscription").json()["subscription"]["credits"]
    assert credits["bundle_remaining"] == "6.0000000000"

"""Plans, credit bundles, subscriptions and test clocks in ``/openapi.json`` (docs/plans.md)."""

from __future__ import annotations

import copy
from typing import Any

from .openapi_current import MONEY, NULLABLE_STRING, PAGING, REF, STRING, TIMESTAMP, _list_of, _obj, _op, _path, _ref

INTERVAL = {"type": "string", "enum": ["day", "week", "month", "year"]}
ROLLOVER = {"type": "string", "enum": ["full", "none"]}
MONEY_IN = {"type": ["string", "number"], "description": "USD, ≥ 0, at most 10 fractional digits"}

SCHEMAS: dict[str, Any] = {
    "PlanBundle": _obj(
        ["credit_bundle_id", "name", "cost", "credit_amount"],
        {"credit_bundle_id": STRING, "name": STRING, "cost": MONEY, "credit_amount": MONEY},
    ),
    "Plan": _obj(
        [
            "plan_id",
            "merchant_id",
            "name",
            "period_amount",
            "included_credit",
            "billing_interval",
            "rollover_type",
            "bundle_rollover_type",
            "default_auto_top_up_bundle_id",
            "linked_meters",
            "credit_bundles",
            "created_at",
        ],
        {
            "plan_id": STRING,
            "merchant_id": STRING,
            "name": STRING,
            "period_amount": MONEY,
            "included_credit": MONEY,
            "billing_interval": INTERVAL,
            "rollover_type": ROLLOVER,
            "bundle_rollover_type": ROLLOVER,
            "default_auto_top_up_bundle_id": NULLABLE_STRING,
            "linked_meters": {
                "type": "array",
                "items": _obj(["meter_id", "name"], {"meter_id": STRING, "name": STRING}),
            },
            "credit_bundles": {"type": "array", "items": _ref("PlanBundle")},
            "created_at": TIMESTAMP,
            "subscription_config_id": {**STRING, "description": "compat: the 8.x name of plan_id"},
            "is_default": {"type": "boolean", "description": "compat: the merchant's default free plan"},
        },
    ),
    "PlanCreate": _obj(
        ["name", "period_amount", "billing_interval"],
        {
            "name": STRING,
            "period_amount": MONEY_IN,
            "billing_interval": INTERVAL,
            "included_credit": MONEY_IN,
            "rollover_type": ROLLOVER,
            "bundle_rollover_type": ROLLOVER,
            "meter_ids": {"type": "array", "items": STRING},
            "credit_bundles": {"type": "array", "items": {"type": "object"}},
            "default_auto_top_up_bundle_index": {"type": ["integer", "null"]},
        },
    ),
    "PlanUpdate": {
        "type": "object",
        "description": "name, rollover types, included_credit, meter_ids, "
        "credit_bundles (reconciled), default_auto_top_up_bundle_id; amount and interval are immutable",
    },
    "CreditBundle": _obj(
        ["credit_bundle_id", "plan_id", "name", "cost", "credit_amount", "created_at"],
        {
            "credit_bundle_id": STRING,
            "plan_id": STRING,
            "name": STRING,
            "cost": MONEY,
            "credit_amount": MONEY,
            "created_at": TIMESTAMP,
            "subscription_config_id": STRING,
        },
    ),
    "SubscriptionCredits": _obj(
        ["total_remaining", "cycle_remaining", "bundle_remaining"],
        {"total_remaining": MONEY, "cycle_remaining": MONEY, "bundle_remaining": MONEY},
    ),
    "Subscription": _obj(
        [
            "subscription_id",
            "plan_id",
            "status",
            "auto_top_up_bundle_id",
            "started_at",
            "cancelled_at",
            "cycle_start_at",
            "cycle_end_at",
            "plan",
            "credits",
            "pending_change",
        ],
        {
            "subscription_id": STRING,
            "plan_id": STRING,
            "status": {"type": "string", "enum": ["active", "cancelled"]},
            "auto_top_up_bundle_id": NULLABLE_STRING,
            "started_at": TIMESTAMP,
            "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
            "cycle_start_at": {"type": ["string", "null"], "format": "date-time"},
            "cycle_end_at": {"type": ["string", "null"], "format": "date-time"},
            "plan": _obj(
                [
                    "name",
                    "period_amount",
                    "included_credit",
                    "billing_interval",
                    "rollover_type",
                    "bundle_rollover_type",
                ],
                {
                    "name": STRING,
                    "period_amount": MONEY,
                    "included_credit": MONEY,
                    "billing_interval": INTERVAL,
                    "rollover_type": ROLLOVER,
                    "bundle_rollover_type": ROLLOVER,
                },
            ),
            "credits": _ref("SubscriptionCredits"),
            "pending_change": {
                "anyOf": [
                    {"type": "null"},
                    _obj(
                        ["type", "effective_at"],
                        {
                            "type": {"type": "string", "enum": ["cancellation", "downgrade"]},
                            "effective_at": NULLABLE_STRING,
                        },
                    ),
                ]
            },
            "customer_id": STRING,
            "customer": {"type": "object"},
        },
    ),
    "SubscriptionEnvelope": _obj(["subscription"], {"subscription": _ref("Subscription")}),
    "CustomerSubscriptionPlans": _obj(
        ["subscription"], {"subscription": {"anyOf": [{"type": "null"}, _ref("Subscription")]}}
    ),
    "Success": _obj(["success"], {"success": {"type": "boolean"}}),
    "TestClock": _obj(
        ["test_clock_id", "name", "frozen_time", "created_at"],
        {"test_clock_id": STRING, "name": NULLABLE_STRING, "frozen_time": TIMESTAMP, "created_at": TIMESTAMP},
    ),
}
SCHEMAS["PlanList"] = _list_of("Plan")
SCHEMAS["CreditBundleList"] = _list_of("CreditBundle")
SCHEMAS["SubscriptionList"] = _list_of("Subscription")
SCHEMAS["TestClockList"] = _list_of("TestClock")

PLAN_ID = [_path("plan_id")]
SUB_ID = [_path("sub_id")]
CLOCK_ID = [_path("clock_id")]


def _plan_paths(prefix: str) -> dict[str, Any]:
    return {
        prefix: {
            "get": _op("List plans (the default free plan included)", 200, _ref("PlanList"), PAGING),
            "post": _op("Create a plan", 201, _ref("Plan"), body="PlanCreate"),
        },
        prefix + "/{plan_id}": {
            "get": _op("Retrieve a plan", 200, _ref("Plan"), PLAN_ID),
            "patch": _op("Update a plan (amount and interval are immutable)", 200, _ref("Plan"), PLAN_ID, "PlanUpdate"),
            "delete": _op("Delete a plan (not the default, not in use)", 200, _ref("Deleted"), PLAN_ID),
        },
    }


PATHS: dict[str, Any] = {
    **_plan_paths("/v1/plans"),
    **_plan_paths("/v1/subscription_configs"),
    "/v1/credit_bundles": {
        "get": _op(
            "List credit bundles",
            200,
            _ref("CreditBundleList"),
            [*PAGING, {"name": "plan_id", "in": "query", "schema": STRING}],
        )
    },
    "/v1/credit_bundles/{bundle_id}": {
        "get": _op("Retrieve a credit bundle", 200, _ref("CreditBundle"), [_path("bundle_id")])
    },
    "/v1/subscriptions": {
        "get": _op(
            "List subscriptions",
            200,
            _ref("SubscriptionList"),
            [
                *PAGING,
                {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["active", "cancelled", "all"]}},
                {"name": "customer_id", "in": "query", "schema": STRING},
            ],
        ),
        "post": _op("Put a customer on a free plan", 201, _ref("SubscriptionEnvelope")),
    },
    "/v1/subscriptions/{sub_id}": {
        "get": _op("Retrieve a subscription", 200, _ref("Subscription"), SUB_ID),
        "patch": _op("Set or clear auto_top_up_bundle_id", 200, _ref("Success"), SUB_ID),
        "delete": _op("Cancel at the cycle end", 200, _ref("Success"), SUB_ID),
    },
    "/v1/customers/{ref}/subscription": {
        "get": _op(
            "A customer's active subscription, with exact credits", 200, _ref("CustomerSubscriptionPlans"), [REF]
        )
    },
    "/v1/test_clocks": {
        "get": _op("List test clocks (test mode), newest first", 200, _ref("TestClockList"), PAGING),
        "post": _op("Create a test clock (test mode)", 201, _ref("TestClock")),
    },
    "/v1/test_clocks/{clock_id}": {"get": _op("Retrieve a test clock", 200, _ref("TestClock"), CLOCK_ID)},
    "/v1/test_clocks/{clock_id}/customers": {
        "post": _op("Attach a customer to a test clock", 200, _ref("Success"), CLOCK_ID)
    },
    "/v1/test_clocks/{clock_id}/advance": {
        "post": _op("Advance a test clock and run what is due for its customers", 200, _ref("TestClock"), CLOCK_ID)
    },
}


def with_plans(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` plus plans, bundles, subscriptions and test clocks (``doc`` itself is not changed)."""
    out = copy.deepcopy(doc)
    out["components"]["schemas"].update(copy.deepcopy(SCHEMAS))
    out["paths"].update(copy.deepcopy(PATHS))
    idempotency = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path in PATHS:  # every REST POST honours Idempotency-Key (api/idempotency.py)
        post = out["paths"][path].get("post")
        if post is not None and idempotency not in post["parameters"]:
            post["parameters"].append(idempotency)
    return out

"""Models of the current API: every field Node 11.2.0's types declare, exact Decimals, aware
datetimes, unknown fields kept, and both vocabularies on requests, usage and checkout sessions."""

from __future__ import annotations

import datetime as dt
import inspect
import re
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

import lava
from lava import types as t
from lava.resources import (
    CheckoutSessions,
    CreditBundles,
    Customers,
    Meters,
    Plans,
    Requests,
    SecretKeys,
    SpendKeys,
    Subscriptions,
    UsageResource,
    Webhooks,
)

from . import _current_shapes as shapes
from . import _node1120
from .conftest import REQUEST as LEGACY_REQUEST
from .conftest import USAGE as LEGACY_USAGE

DTS = (_node1120.NODE_DIR / "node_modules" / "lava1120" / "dist" / "index.d.ts").read_text()


def _block(kind: str, name: str) -> str:
    match = re.search(rf"^{kind} {name}(?:<\w+>)? = (?:\w+ & )?{{\n|^{kind} {name} {{\n", DTS, re.M)
    assert match, name
    depth, at = 1, match.end()
    while depth:
        depth += {"{": 1, "}": -1}.get(DTS[at], 0)
        at += 1
    return DTS[match.end() : at]


def dts_keys(kind: str, name: str) -> set[str]:
    """Top-level keys of a ``type``/``interface`` in index.d.ts (4-space indented)."""
    return set(re.findall(r"^ {4}(\w+)\??:", _block(kind, name), re.M))


TYPES: dict[str, type[BaseModel]] = {
    "RestCustomer": t.Customer,
    "RestCustomerContact": t.CustomerContact,
    "RestCustomerSubscription": t.CustomerSubscription,
    "RestSubscriptionBase": t.Subscription,
    "RestSubscriptionPlan": t.SubscriptionPlan,
    "RestSubscriptionCredits": t.SubscriptionCredits,
    "RestSubscriptionCustomer": t.SubscriptionCustomer,
    "RestPendingChange": t.PendingChange,
    "RestPlan": t.Plan,
    "RestPlanLinkedMeter": t.PlanLinkedMeter,
    "RestPlanCreditBundle": t.PlanCreditBundle,
    "RestCreditBundle": t.CreditBundle,
    "RestMeter": t.Meter,
    "RestMeterTier": t.MeterTier,
    "RestRequest": t.Request,
    "RestUsage": t.Usage,
    "RestWebhook": t.Webhook,
    "RestSecretKey": t.SecretKey,
    "RestSpendKey": t.SpendKey,
    "RestModel": t.Model,
    "RestModelList": t.ModelList,
    "RestCheckoutSession": t.CheckoutSession,
}


@pytest.mark.parametrize("name", sorted(TYPES))
def test_models_declare_every_field_of_node_types(name: str) -> None:
    keys = dts_keys("type", name)
    assert keys, name
    assert keys <= set(TYPES[name].model_fields), keys - set(TYPES[name].model_fields)


PARAMS: dict[str, Any] = {
    "CreateCustomerParams": Customers.create,
    "UpdateCustomerParams": Customers.update,
    "CustomersListParams": Customers.list,
    "CreateMeterParams": Meters.create,
    "UpdateMeterParams": Meters.update,
    "CreatePlanParams": Plans.create,
    "UpdatePlanParams": Plans.update,
    "CreateSubscriptionParams": Subscriptions.create,
    "UpdateSubscriptionParams": Subscriptions.update,
    "CreateWebhookParams": Webhooks.create,
    "UpdateWebhookParams": Webhooks.update,
    "CreateSecretKeyParams": SecretKeys.create,
    "CreateSpendKeyParams": SpendKeys.create,
    "UpdateSpendKeyParams": SpendKeys.update,
    "RequestsListParams": Requests.list,
    "CreateRequestParams": Requests.create,
    "UsageParams": UsageResource.retrieve,
    "CreateCheckoutSessionParams": CheckoutSessions.create,
    "PaginationParams": CreditBundles.list,
}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_methods_take_every_parameter_of_node(name: str) -> None:
    keys = dts_keys("interface", name)
    assert keys, name
    assert keys <= set(inspect.signature(PARAMS[name]).parameters)


def test_customer() -> None:
    customer = t.Customer.model_validate(shapes.CUSTOMER)
    assert customer.contact.first_name == "Jane" and customer.subscription is not None
    assert customer.subscription.status == "active" and customer.metadata == {"tier": "gold", "seats": 3}
    assert customer.created_at == dt.datetime(2026, 11, 30, 8, 30, tzinfo=dt.UTC)
    bare = t.Customer.model_validate({**shapes.CUSTOMER, "subscription": None, "metadata": None, "extra": 1})
    assert bare.subscription is None and bare.model_extra == {"extra": 1}


def test_subscription_money_and_pending_change() -> None:
    sub = t.Subscription.model_validate(shapes.SUBSCRIPTION)
    assert sub.credits.total_remaining == Decimal("-0.25") and isinstance(sub.credits.cycle_remaining, Decimal)
    assert sub.plan.included_credit == Decimal(15) and sub.plan.billing_interval == "month"
    assert sub.pending_change is not None and sub.pending_change.type == "cancellation"
    assert sub.pending_change.effective_at == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert sub.customer is not None and sub.customer.first_name is None and sub.customer_id == "con_01K7"
    base = t.Subscription.model_validate(shapes.SUBSCRIPTION_BASE)
    assert base.customer is None and base.cycle_end_at is not None and base.cycle_end_at.tzinfo is not None


def test_plan_meter_bundle_keys_models() -> None:
    plan = t.Plan.model_validate(shapes.PLAN)
    assert plan.credit_bundles[0].credit_amount == Decimal("6") and plan.linked_meters[0].meter_id == "prd_01K7"
    meter = t.Meter.model_validate(shapes.METER)
    assert [tier.start for tier in meter.tiers] == [0, 1000000] and meter.tiers[0].rate == Decimal(5)
    assert t.CreditBundle.model_validate(shapes.CREDIT_BUNDLE).cost == Decimal("5.0000000000")
    spend = t.CreatedSpendKey.model_validate({**shapes.SPEND_KEY, "key": "lava_sk_test_x"})
    assert spend.spend_limit is not None and spend.spend_limit.amount == Decimal("1.5")
    assert spend.rate_limit is not None and spend.rate_limit.burst is None and spend.allowed_providers is None
    assert spend.current_spend == Decimal("0.0123456789") and spend.key == "lava_sk_test_x"
    models = t.ModelList.model_validate(shapes.MODEL_LIST)
    assert [m.owned_by for m in models.data] == ["openai", "anthropic"]
    with pytest.raises(ValidationError):  # the secret is required on the "created" shapes
        t.CreatedSecretKey.model_validate(shapes.SECRET_KEY)


@pytest.mark.parametrize(
    ("model", "payload", "field", "bad"),
    [
        (t.Meter, shapes.METER, "rate_type", "flat"),
        (t.Plan, shapes.PLAN, "billing_interval", "fortnight"),
        (t.SpendKey, shapes.SPEND_KEY, "status", "revoked"),
        (t.CheckoutSession, shapes.CHECKOUT_SESSION, "checkout_mode", "gift"),
    ],
)
def test_closed_sets_are_checked(model: type[BaseModel], payload: dict[str, Any], field: str, bad: str) -> None:
    with pytest.raises(ValidationError):
        model.model_validate({**payload, field: bad})


def test_current_request_gets_the_2025_fields_by_the_spec_mapping() -> None:
    request = t.Request.model_validate(shapes.REQUEST)
    assert request.cost == Decimal("0.255") and request.charge.amount == Decimal("5.4")
    assert [b.cost for b in request.charge.breakdown] == [Decimal(5), Decimal("0.4")]
    # the cross-generation mapping: fee = charge, service charge 0 paid by the merchant, wallet = charge, merchant = cost
    assert request.fee.amount == request.charge.amount and request.fee.token_basis == "input+output"
    assert request.service_charge.amount == 0 and request.service_charge.payer == "merchant"
    assert request.total_wallet_cost == Decimal("5.4") and request.total_merchant_cost == Decimal("0.255")
    assert request.total_request_cost == Decimal("5.655") and request.model_usage.payer == "merchant"
    assert request.connection_id == "con_01K7" and request.product_id == "prd_01K7"


def test_legacy_request_gets_cost_and_charge() -> None:
    request = t.Request.model_validate(LEGACY_REQUEST)
    assert request.cost == Decimal("0.0581") and request.charge.amount == Decimal("0.00581")
    assert request.charge.rate_type == "fixed" and len(request.charge.breakdown) == 1
    assert request.customer_id == "con_01K7" and request.meter_id == "prd_01K7"
    assert request.total_request_cost == Decimal("0.06391")  # the server's values are never rewritten


def test_compat_request_keeps_both_sides_as_sent() -> None:
    compat = {**LEGACY_REQUEST, "cost": "9.0000000000", "charge": {**shapes.REQUEST["charge"]}}
    request = t.Request.model_validate(compat)
    assert request.cost == Decimal(9) and request.charge.amount == Decimal("5.4")
    assert request.fee.amount == Decimal("0.00581")


def test_usage_both_ways() -> None:
    current = t.Usage.model_validate(shapes.USAGE)
    assert current.totals.total_cost == Decimal("0.255") and current.items[0].total_charge == Decimal("5.4")
    assert current.totals.total_usage_cost == Decimal("0.255") and current.totals.total_fee_amount == Decimal("5.4")
    assert current.totals.total_request_cost == Decimal("5.655") and current.totals.total_service_charge_amount == 0
    legacy = t.Usage.model_validate(LEGACY_USAGE)
    assert legacy.totals.total_cost == Decimal("2.5741") and legacy.totals.total_charge == Decimal("0.25741")
    assert legacy.items[0].date == dt.date(2023, 5, 15)


def test_checkout_session_customer_is_connection() -> None:
    session = t.CheckoutSession.model_validate({**shapes.CHECKOUT_SESSION, "customer_id": "con_1"})
    assert session.connection_id == "con_1" and session.plan_id == "sc_01K7" and session.completed_at is None
    legacy = t.CheckoutSession.model_validate(
        {**shapes.CHECKOUT_SESSION, "checkout_mode": "topup", "connection_id": "con_2"}
    )
    assert legacy.customer_id == "con_2"


def test_webhook_event_envelope() -> None:
    event = t.WebhookEvent.model_validate(
        {"id": "evt_1", "event": "customer.created", "created_at": "2026-11-30T08:30:00Z", "data": shapes.CUSTOMER}
    )
    assert event.type == event.event == "customer.created"
    assert t.Customer.model_validate(event.data).customer_id == shapes.CUSTOMER["customer_id"]
    assert t.WebhookEvent.model_validate({"type": "ping"}).event == "ping"


def test_public_names() -> None:
    for name in ("Customer", "Meter", "Plan", "Subscription", "SpendKey", "Webhook", "GatewayResponse", "NOT_GIVEN"):
        assert name in lava.__all__


def test_minimal_legacy_request_still_parses() -> None:
    minimal = {
        "request_id": "req_1",
        "model_usage": {},
        "fee": {"amount": "0.1000000000"},
        "service_charge": {"amount": "0"},
        "total_request_cost": "0.1000000000",
        "created_at": "2025-01-01T00:00:00Z",
    }
    request = t.Request.model_validate(minimal)
    assert request.cost == 0 and request.charge.amount == Decimal("0.1") and request.charge.rate_type == "fixed"
    assert request.customer_id is None and request.connection_id is None

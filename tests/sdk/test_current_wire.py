"""Every current-API call: our request equals Node 11.2.0's (method, path, query, body bytes,
headers), and POSTs carry an Idempotency-Key. Node runs with fetch replaced by a recorder."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest

from lava import AsyncPage, Lava, SyncPage

from . import _current_shapes as shapes
from . import _node1120
from .conftest import BASE, KEY, Recorder, ok, page

MakeClient = Callable[..., Lava]


@dataclass(frozen=True)
class Case:
    node: str  # "<resource>.<method>" on Node's Lava
    args: list[Any]  # Node's arguments (JSON: absent keys are undefined)
    ours: Callable[[Lava], object]
    reply: httpx.Response


def fresh(reply: httpx.Response) -> httpx.Response:
    """A new copy: a response object is consumed by the client that reads it."""
    return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)


def listed(item: dict[str, Any]) -> httpx.Response:
    return page([item], next_cursor="next_1")


TIERS_NODE = [{"start": "0", "rate": "5.00"}, {"start": "1000000", "rate": "4"}]
TIERS_OURS: Any = [{"start": 0, "rate": "5.00"}, {"start": 1000000, "rate": Decimal(4)}]
SPEND_NODE = {
    "name": "agent",
    "request_shape": "anthropic",
    "allowed_models": ["claude-3-5-haiku-latest"],
    "allowed_providers": None,
    "spend_limit": {"amount": "1.50", "cycle": "daily"},
    "request_limit": {"count": 100, "cycle": "total"},
    "rate_limit": {"rpm": 60, "burst": None},
    "expires_at": "2027-01-01T00:00:00Z",
}
PLAN_NODE = {
    "name": "Pro",
    "period_amount": "20.00",
    "billing_interval": "month",
    "rollover_type": "full",
    "bundle_rollover_type": "none",
    "included_credit": "15",
    "default_auto_top_up_bundle_index": 0,
    "meter_ids": ["prd_01K7"],
    "credit_bundles": [{"name": "Boost", "cost": "5", "credit_amount": "6"}],
}
BUNDLES_UPDATE: Any = [
    {"credit_bundle_id": "cb_1", "name": "Boost", "cost": "5", "credit_amount": "7", "is_deleted": False},
    {"name": "Mega", "cost": "50", "credit_amount": "60"},
]
CUSTOMER_NODE = {"reference_id": "user 1/ü", "email": "a@b.example", "phone": "+14155550100", "name": "Jane Smith"}

CASES: list[Case] = [
    # customers
    Case(
        "customers.create",
        [{**CUSTOMER_NODE, "metadata": {"plan": "pro", "n": 1}}],
        lambda c: c.customers.create(**CUSTOMER_NODE, metadata={"plan": "pro", "n": 1}),
        ok(shapes.CUSTOMER, 201),
    ),
    Case("customers.list", [], lambda c: c.customers.list(), listed(shapes.CUSTOMER)),
    Case(
        "customers.list",
        [{"cursor": "con_9", "limit": 5}],
        lambda c: c.customers.list(cursor="con_9", limit=5),
        listed(shapes.CUSTOMER),
    ),
    Case("customers.retrieve", ["con_1"], lambda c: c.customers.retrieve("con_1"), ok(shapes.CUSTOMER)),
    Case(
        "customers.update",
        ["con_1", {"name": None, "email": "x@y.example", "metadata": None}],
        lambda c: c.customers.update("con_1", name=None, email="x@y.example", metadata=None),
        ok(shapes.CUSTOMER),
    ),
    Case(
        "customers.getSubscription",
        ["con_1"],
        lambda c: c.customers.get_subscription("con_1"),
        ok({"subscription": shapes.SUBSCRIPTION_BASE}),
    ),
    Case("customers.delete", ["con_1"], lambda c: c.customers.delete("con_1"), ok(shapes.SUCCESS)),
    # meters
    Case(
        "meters.create",
        [{"name": "Chat", "meter_slug": "chat", "rate_type": "fixed", "tier_type": "tokens_1m", "tiers": TIERS_NODE}],
        lambda c: c.meters.create(
            name="Chat", meter_slug="chat", rate_type="fixed", tier_type="tokens_1m", tiers=TIERS_OURS
        ),
        ok(shapes.METER, 201),
    ),
    Case("meters.list", [{"limit": 2}], lambda c: c.meters.list(limit=2), listed(shapes.METER)),
    Case("meters.retrieve", ["prd_1"], lambda c: c.meters.retrieve("prd_1"), ok(shapes.METER)),
    Case(
        "meters.update",
        ["prd_1", {"tiers": TIERS_NODE}],
        lambda c: c.meters.update("prd_1", tiers=TIERS_OURS),
        ok(shapes.METER),
    ),
    Case("meters.delete", ["prd_1"], lambda c: c.meters.delete("prd_1"), ok(shapes.DELETED)),
    # plans, bundles, subscriptions (Node has the plan calls on `subscriptions`)
    Case("subscriptions.listPlans", [{"cursor": "sc_9"}], lambda c: c.plans.list(cursor="sc_9"), listed(shapes.PLAN)),
    Case("subscriptions.retrievePlan", ["sc_1"], lambda c: c.plans.retrieve("sc_1"), ok(shapes.PLAN)),
    Case(
        "subscriptions.createPlan",
        [PLAN_NODE],
        lambda c: c.plans.create(
            name="Pro",
            period_amount=Decimal("20.00"),
            billing_interval="month",
            rollover_type="full",
            bundle_rollover_type="none",
            included_credit=15,
            default_auto_top_up_bundle_index=0,
            meter_ids=("prd_01K7",),
            credit_bundles=[{"name": "Boost", "cost": "5", "credit_amount": 6}],
        ),
        ok(shapes.PLAN, 201),
    ),
    Case(
        "subscriptions.updatePlan",
        ["sc_1", {"name": "Pro+", "default_auto_top_up_bundle_id": None, "credit_bundles": BUNDLES_UPDATE}],
        lambda c: c.plans.update(
            "sc_1", name="Pro+", default_auto_top_up_bundle_id=None, credit_bundles=BUNDLES_UPDATE
        ),
        ok(shapes.PLAN),
    ),
    Case("subscriptions.deletePlan", ["sc_1"], lambda c: c.plans.delete("sc_1"), ok(shapes.DELETED)),
    Case(
        "creditBundles.list",
        [{"plan_id": "sc_1", "limit": 3}],
        lambda c: c.credit_bundles.list(plan_id="sc_1", limit=3),
        listed(shapes.CREDIT_BUNDLE),
    ),
    Case("creditBundles.retrieve", ["cb_1"], lambda c: c.credit_bundles.retrieve("cb_1"), ok(shapes.CREDIT_BUNDLE)),
    Case(
        "subscriptions.create",
        [{"customer_id": "con_1", "plan_id": "sc_free"}],
        lambda c: c.subscriptions.create(customer_id="con_1", plan_id="sc_free"),
        ok({"subscription": shapes.SUBSCRIPTION_BASE}, 201),
    ),
    Case(
        "subscriptions.list",
        [{"status": "all", "customer_id": "con_1", "limit": 10}],
        lambda c: c.subscriptions.list(status="all", customer_id="con_1", limit=10),
        listed(shapes.SUBSCRIPTION),
    ),
    Case(
        "subscriptions.update",
        ["sub_1", {"auto_top_up_bundle_id": None}],
        lambda c: c.subscriptions.update("sub_1", auto_top_up_bundle_id=None),
        ok(shapes.SUCCESS),
    ),
    Case("subscriptions.cancel", ["sub_1"], lambda c: c.subscriptions.cancel("sub_1"), ok(shapes.SUCCESS)),
    # webhooks, secret keys, spend keys, models
    Case("webhooks.list", [], lambda c: c.webhooks.list(), listed(shapes.WEBHOOK)),
    Case("webhooks.retrieve", ["wh_1"], lambda c: c.webhooks.retrieve("wh_1"), ok(shapes.WEBHOOK)),
    Case(
        "webhooks.create",
        [{"name": "billing", "url": "https://shop.example/hooks"}],
        lambda c: c.webhooks.create(name="billing", url="https://shop.example/hooks"),
        ok({**shapes.WEBHOOK, "webhook_secret": "whsec_x"}, 201),
    ),
    Case(
        "webhooks.update",
        ["wh_1", {"url": "https://shop.example/v2"}],
        lambda c: c.webhooks.update("wh_1", url="https://shop.example/v2"),
        ok(shapes.WEBHOOK),
    ),
    Case("webhooks.delete", ["wh_1"], lambda c: c.webhooks.delete("wh_1"), ok(shapes.DELETED)),
    Case("secretKeys.list", [{"limit": 1}], lambda c: c.secret_keys.list(limit=1), listed(shapes.SECRET_KEY)),
    Case(
        "secretKeys.create",
        [{"name": "ci"}],
        lambda c: c.secret_keys.create(name="ci"),
        ok({**shapes.SECRET_KEY, "secret_key": "aks_test_new"}, 201),
    ),
    Case("secretKeys.delete", ["key_1"], lambda c: c.secret_keys.delete("key_1"), ok(shapes.DELETED)),
    Case(
        "spendKeys.create",
        [SPEND_NODE],
        lambda c: c.spend_keys.create(**{**SPEND_NODE, "spend_limit": {"amount": Decimal("1.50"), "cycle": "daily"}}),
        ok({**shapes.SPEND_KEY, "key": "lava_sk_test_new"}, 201),
    ),
    Case(
        "spendKeys.list", [{"cursor": "spk_9"}], lambda c: c.spend_keys.list(cursor="spk_9"), listed(shapes.SPEND_KEY)
    ),
    Case("spendKeys.retrieve", ["spk_1"], lambda c: c.spend_keys.retrieve("spk_1"), ok(shapes.SPEND_KEY)),
    Case(
        "spendKeys.update",
        ["spk_1", {"status": "paused", "allowed_models": None, "spend_limit": None}],
        lambda c: c.spend_keys.update("spk_1", status="paused", allowed_models=None, spend_limit=None),
        ok(shapes.SPEND_KEY),
    ),
    Case("spendKeys.revoke", ["spk_1"], lambda c: c.spend_keys.revoke("spk_1"), ok(shapes.SUCCESS)),
    Case("spendKeys.rotate", ["spk_1"], lambda c: c.spend_keys.rotate("spk_1"), ok({**shapes.SPEND_KEY, "key": "k2"})),
    Case("models.list", [], lambda c: c.models.list(), ok(shapes.MODEL_LIST)),
    # requests, usage, checkout in the current vocabulary
    Case(
        "requests.list",
        [{"limit": 5, "customer_id": "con_1", "meter_id": "prd_1", "metadata_filters": {"team": "a b"}}],
        lambda c: c.requests.list(limit=5, customer_id="con_1", meter_id="prd_1", metadata_filters={"team": "a b"}),
        listed(shapes.REQUEST),
    ),
    Case(
        "requests.create",
        [
            {
                "request_id": "req_42",
                "customer_id": "user_1",
                "meter_slug": "chat",
                "metadata": {"k": "v"},
                "input_tokens": 10,
                "output_seconds": 2.5,
            }
        ],
        lambda c: c.requests.create(
            request_id="req_42",
            customer_id="user_1",
            meter_slug="chat",
            metadata={"k": "v"},
            input_tokens=10,
            output_seconds=Decimal("2.5"),
        ),
        ok(shapes.REQUEST, 201),
    ),
    Case("requests.retrieve", ["req_1"], lambda c: c.requests.retrieve("req_1"), ok(shapes.REQUEST)),
    Case(
        "usage.retrieve",
        [
            {
                "start": "2026-11-01T00:00:00+01:00",
                "end": "2026-11-30T00:00:00Z",
                "customer_id": "con_1",
                "meter_id": "prd_1",
                "metadata_filters": {"team": "a"},
            }
        ],
        lambda c: c.usage.retrieve(
            start="2026-11-01T00:00:00+01:00",
            end="2026-11-30T00:00:00Z",
            customer_id="con_1",
            meter_id="prd_1",
            metadata_filters={"team": "a"},
        ),
        ok(shapes.USAGE),
    ),
    Case(
        "checkoutSessions.create",
        [
            {
                "checkout_mode": "subscription",
                "origin_url": "https://shop.example",
                "customer_id": "con_1",
                "plan_id": "sc_1",
            }
        ],
        lambda c: c.checkout_sessions.create(
            checkout_mode="subscription", origin_url="https://shop.example", customer_id="con_1", plan_id="sc_1"
        ),
        ok(shapes.CHECKOUT_SESSION, 201),
    ),
    Case(
        "checkoutSessions.create",
        [
            {
                "checkout_mode": "credit_bundle",
                "origin_url": "https://shop.example",
                "customer_id": "con_1",
                "credit_bundle_id": "cb_1",
            }
        ],
        lambda c: c.checkout_sessions.create(
            checkout_mode="credit_bundle",
            origin_url="https://shop.example",
            customer_id="con_1",
            credit_bundle_id="cb_1",
        ),
        ok({**shapes.CHECKOUT_SESSION, "checkout_mode": "credit_bundle", "customer_id": "con_1"}, 201),
    ),
]


@pytest.fixture(scope="module")
def node_requests() -> list[dict[str, Any]]:
    records = _node1120.run([{"kind": case.node, "args": case.args} for case in CASES], key=KEY, base=BASE)
    out = []
    for case, record in zip(CASES, records, strict=True):
        assert record["error"] is None and len(record["requests"]) == 1, (case.node, record)
        out.append(record["requests"][0])
    return out


@pytest.mark.node
@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{i}-{c.node}" for i, c in enumerate(CASES)])
def test_request_matches_node(make_client: MakeClient, node_requests: list[dict[str, Any]], index: int) -> None:
    case, node = CASES[index], node_requests[index]
    recorder = Recorder(fresh(case.reply))
    case.ours(make_client(recorder))
    ours = recorder.last
    node_url = httpx.URL(node["url"])
    assert ours.method == node["method"]
    assert ours.url.path == node_url.path and ours.url.raw_path.split(b"?")[0] == node_url.raw_path.split(b"?")[0]
    # Node's URLSearchParams and httpx percent-encode differently; the decoded pairs must be equal
    assert list(ours.url.params.multi_items()) == list(node_url.params.multi_items())
    assert ours.content == (node["body"] or "").encode()
    assert ours.headers["authorization"] == node["headers"]["Authorization"]
    assert ours.headers["content-type"] == node["headers"]["Content-Type"] == "application/json"
    assert "x-lava-api-version" not in ours.headers  # Node 11.2.0 sends none either
    if ours.method == "POST":
        assert ours.headers["idempotency-key"].startswith("lava-py-retry-")
    else:
        assert "idempotency-key" not in ours.headers


@pytest.mark.parametrize("index", range(len(CASES)), ids=[f"{i}-{c.node}" for i, c in enumerate(CASES)])
async def test_async_client_sends_the_same(
    make_client: MakeClient, make_async_client: Callable[..., Any], index: int
) -> None:
    case = CASES[index]
    sync_recorder, async_recorder = Recorder(fresh(case.reply)), Recorder(fresh(case.reply))
    expected = case.ours(make_client(sync_recorder))
    pending = case.ours(make_async_client(async_recorder))  # the same call on AsyncLava is a coroutine
    assert inspect.isawaitable(pending)
    result = await pending
    assert async_recorder.last.method == sync_recorder.last.method
    assert str(async_recorder.last.url) == str(sync_recorder.last.url)
    assert async_recorder.last.content == sync_recorder.last.content
    if isinstance(expected, SyncPage):
        assert isinstance(result, AsyncPage) and result.data == expected.data and result.data
    else:
        assert result == expected

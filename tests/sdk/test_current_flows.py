"""Current-API flows through the SDK, written against the spec so they run unchanged on any
``current_api`` backend (conftest.py): today an in-memory fake, later the real server."""

from __future__ import annotations

import asyncio
import re
import uuid
from decimal import Decimal

import pytest

import lava

from .conftest import CurrentApi, backends

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}
TIERS: list[lava.resources.meters.TierParam] = [{"start": 0, "rate": "5"}]


def _streamed_text(events: list[lava.ServerSentEvent]) -> str:
    """The content deltas of OpenAI chat chunks, joined."""
    chunks = [e.json() for e in events]
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c.get("choices"))


def tag() -> str:
    return uuid.uuid4().hex[:8]


@backends("customers")
def test_customer_lifecycle(current_api: CurrentApi) -> None:
    c = current_api.client
    ref = f"user-{tag()}"
    made = c.customers.create(reference_id=ref, name="Jane Q Smith", email="jane@example.com", metadata={"a": 1})
    assert made.customer_id.startswith("con_") and made.reference_id == ref
    assert (made.contact.first_name, made.contact.last_name) == ("Jane", "Q Smith")  # split at the first space
    assert c.customers.create(reference_id=ref).customer_id == made.customer_id  # idempotent on reference_id
    assert c.customers.retrieve(ref) == c.customers.retrieve(made.customer_id)

    updated = c.customers.update(ref, email=None, metadata={"b": 2})
    assert updated.contact.email == "" and updated.metadata == {"b": 2}  # null clears; metadata is replaced
    assert updated.contact.first_name == "Jane"  # fields not given are untouched

    sub = c.customers.get_subscription(made.customer_id)
    assert sub is None or sub.plan.name == "Free"
    assert c.customers.delete(made.customer_id).success is True
    assert made.customer_id not in {x.customer_id for x in c.customers.list(limit=100)}


@backends("customers")
def test_customers_page_newest_first(current_api: CurrentApi) -> None:
    c = current_api.client
    made = [c.customers.create(reference_id=f"page-{tag()}").customer_id for _ in range(3)]
    first = c.customers.list(limit=2)
    assert [x.customer_id for x in first.data] == made[::-1][:2] and first.has_next_page()
    assert [x.customer_id for x in first.get_next_page().data][:1] == made[:1]
    walked = [x.customer_id for x in c.customers.list(limit=2)]
    assert walked[:3] == made[::-1]


@backends("customers")
def test_reference_id_conflict(current_api: CurrentApi) -> None:
    c = current_api.client
    a, b = c.customers.create(reference_id=f"a-{tag()}"), c.customers.create(reference_id=f"b-{tag()}")
    with pytest.raises(lava.ConflictError) as raised:
        c.customers.update(b.customer_id, reference_id=a.reference_id)
    assert raised.value.code == "reference_id_conflict"


@backends("meters")
def test_meter_lifecycle(current_api: CurrentApi) -> None:
    c = current_api.client
    slug = f"chat-{tag()}"
    meter = c.meters.create(name="Chat", meter_slug=slug, rate_type="fixed", tier_type="tokens_1m", tiers=TIERS)
    assert meter.meter_slug == slug and meter.tiers[0].type == "tokens_1m" and meter.tiers[0].rate == Decimal(5)
    with pytest.raises(lava.ConflictError) as raised:
        c.meters.create(name="Other", meter_slug=slug, rate_type="percentage", tier_type="requests", tiers=TIERS)
    assert raised.value.code == "meter_slug_taken"
    generated = c.meters.create(name=f"Voice Minutes {tag()}", rate_type="fixed", tier_type="minutes", tiers=TIERS)
    assert re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", generated.meter_slug)
    tiers: list[lava.resources.meters.TierParam] = [{"start": 0, "rate": "5"}, {"start": 1_000_000, "rate": "4.5"}]
    updated = c.meters.update(meter.meter_id, name="Chat v2", tiers=tiers)
    assert updated.name == "Chat v2" and [(t.start, t.rate) for t in updated.tiers] == [
        (0, 5),
        (1_000_000, Decimal("4.5")),
    ]
    assert c.meters.delete(generated.meter_id).deleted is True


@backends("secret_keys")
def test_secret_keys(current_api: CurrentApi) -> None:
    c = current_api.client
    created = c.secret_keys.create(name=f"ci-{tag()}")
    assert created.secret_key.startswith("aks_test_") and created.secret_key_hint == created.secret_key[-4:]
    listed = {k.secret_key_id: k for k in c.secret_keys.list(limit=100)}
    assert created.secret_key_id in listed and "secret_key" not in (listed[created.secret_key_id].model_extra or {})
    with pytest.raises(lava.ConflictError) as raised:  # 15 s cooldown after creation
        c.secret_keys.delete(created.secret_key_id)
    assert raised.value.code == "secret_key_cooldown"


@backends("webhooks")
def test_webhook_endpoints(current_api: CurrentApi) -> None:
    # live: the host must be in LAVA_WEBHOOK_ALLOWED_HOSTS (the SSRF rules refuse unresolvable hosts)
    c = current_api.client
    made = [c.webhooks.create(name=f"hook-{i}", url=f"https://hooks.example.com/{i}") for i in range(3)]
    assert all(h.webhook_secret.startswith("whsec_") for h in made)
    with pytest.raises(lava.BadRequestError) as raised:
        c.webhooks.create(name="fourth", url="https://hooks.example.com/4")
    assert raised.value.code == "webhook_limit_reached"
    moved = c.webhooks.update(made[0].webhook_id, url="https://hooks.example.com/moved")
    assert moved.url.endswith("/moved") and moved.name == "hook-0"
    assert c.webhooks.delete(made[1].webhook_id).deleted is True
    assert {h.webhook_id for h in c.webhooks.list()} == {made[0].webhook_id, made[2].webhook_id}


@backends("spend_keys")
def test_spend_key_lifecycle(current_api: CurrentApi) -> None:
    c = current_api.client
    key = c.spend_keys.create(
        name="agent", spend_limit={"amount": Decimal("1.50"), "cycle": "daily"}, rate_limit={"rpm": 60}
    )
    assert key.key.startswith("lava_sk_") and key.spend_limit is not None and key.spend_limit.amount == Decimal("1.5")
    assert key.status == "active" and key.request_shape == "openai" and key.allowed_models is None
    paused = c.spend_keys.update(key.spend_key_id, status="paused", spend_limit=None)
    assert paused.status == "paused" and paused.spend_limit is None and paused.rate_limit is not None
    rotated = c.spend_keys.rotate(key.spend_key_id)
    assert rotated.spend_key_id == key.spend_key_id and rotated.key != key.key
    assert c.spend_keys.revoke(key.spend_key_id).success is True
    with pytest.raises(lava.NotFoundError):
        c.spend_keys.retrieve(key.spend_key_id)


def _billed(api: CurrentApi) -> tuple[str, str]:
    """A customer with credits, and a meter to charge them on."""
    c = api.client
    meter = c.meters.create(
        name="Chat", meter_slug=f"chat-{tag()}", rate_type="fixed", tier_type="tokens_1m", tiers=TIERS
    )
    customer_id = c.customers.create(reference_id=f"payer-{tag()}").customer_id
    api.fund(customer_id)
    return customer_id, meter.meter_slug


@backends("customers", "meters", "gateway")
def test_gateway_token_forms_are_recorded_with_who_pays(current_api: CurrentApi) -> None:
    c = current_api.client
    customer_id, slug = _billed(current_api)
    charged = c.gateway(current_api.chat_url, body=CHAT, customer_id=customer_id, meter_slug=slug)
    assert charged.lava.request_id is not None and charged.json()["choices"]
    record = c.requests.retrieve(charged.lava.request_id)
    assert record.customer_id == customer_id and record.charge.amount > 0 and record.cost > 0
    tracked = c.gateway(current_api.chat_url, body=CHAT, customer_id=customer_id, meter_slug=slug, disable_billing=True)
    assert tracked.lava.request_id is not None
    assert c.requests.retrieve(tracked.lava.request_id).charge.amount == 0
    meter_only = c.gateway(current_api.chat_url, body=CHAT, meter_slug=slug)
    assert meter_only.lava.request_id is not None
    only = c.requests.retrieve(meter_only.lava.request_id)
    assert only.customer_id is None and only.meter_id is not None and only.charge.amount == 0
    mine = {r.request_id for r in c.requests.list(customer_id=customer_id, limit=100)}
    assert {charged.lava.request_id, tracked.lava.request_id} <= mine and meter_only.lava.request_id not in mine


@backends("customers", "meters", "gateway")
def test_gateway_refusals(current_api: CurrentApi) -> None:
    c = current_api.client
    _, slug = _billed(current_api)
    with pytest.raises(ValueError, match="meter_slug"):
        c.gateway(current_api.chat_url, body=CHAT, customer_id="con_x")
    with pytest.raises(lava.AuthenticationError) as raised:
        c.gateway(current_api.chat_url, body=CHAT, customer_id=f"nobody-{tag()}", meter_slug=slug)
    assert raised.value.code == "invalid_customer"
    with pytest.raises(lava.AuthenticationError) as raised:
        c.gateway(current_api.chat_url, body=CHAT, meter_slug=f"no-such-{tag()}")
    assert raised.value.code == "invalid_meter_slug"


@backends("customers", "meters", "gateway")
def test_gateway_stream(current_api: CurrentApi) -> None:
    c = current_api.client
    customer_id, slug = _billed(current_api)
    with c.gateway(
        current_api.chat_url, body={**CHAT, "stream": True}, customer_id=customer_id, meter_slug=slug, stream=True
    ) as stream:
        assert stream.lava.request_id is not None
        events = list(stream)
    assert events[-1].data == "[DONE]" and _streamed_text(events[:-1])


@backends("customers", "meters", "gateway")
async def test_async_flow(current_api: CurrentApi) -> None:
    async with current_api.async_client as c:
        made = await c.customers.create(reference_id=f"async-{tag()}", email="a@example.com")
        assert (await c.customers.retrieve(made.customer_id)).contact.email == "a@example.com"
        await asyncio.to_thread(current_api.fund, made.customer_id)  # the live CLI runs its own event loop
        meter = await c.meters.create(
            name="Chat", meter_slug=f"achat-{tag()}", rate_type="fixed", tier_type="tokens_1m", tiers=TIERS
        )
        stream = await c.gateway(
            current_api.chat_url,
            body={**CHAT, "stream": True},
            customer_id=made.customer_id,
            meter_slug=meter.meter_slug,
            stream=True,
        )
        async with stream:
            events = [event async for event in stream]
        assert events[-1].data == "[DONE]"
        assert stream.lava.request_id is not None
        record = await c.requests.retrieve(stream.lava.request_id)
        assert record.customer_id == made.customer_id and record.charge.amount > 0


@backends("customers", "meters", "plans", fake=False)  # the in-memory fake has no plans
def test_plans_bundles_and_subscriptions(current_api: CurrentApi) -> None:
    c = current_api.client
    assert "Free" in {p.name for p in c.plans.list(limit=100)}  # every merchant has the default free plan
    meter = c.meters.create(name="Chat", meter_slug=f"pl-{tag()}", rate_type="fixed", tier_type="requests", tiers=TIERS)
    plan = c.plans.create(
        name=f"Starter {tag()}",
        period_amount=0,
        billing_interval="month",
        included_credit=Decimal("2.50"),
        rollover_type="full",
        meter_ids=[meter.meter_id],
        credit_bundles=[{"name": "Boost", "cost": "5", "credit_amount": "6"}],
        default_auto_top_up_bundle_index=0,
    )
    (bundle,) = plan.credit_bundles
    assert plan.included_credit == Decimal("2.5") and plan.linked_meters[0].meter_id == meter.meter_id
    assert plan.default_auto_top_up_bundle_id == bundle.credit_bundle_id
    assert [b.credit_bundle_id for b in c.credit_bundles.list(plan_id=plan.plan_id)] == [bundle.credit_bundle_id]
    assert c.credit_bundles.retrieve(bundle.credit_bundle_id).credit_amount == Decimal(6)
    renamed = c.plans.update(plan.plan_id, name="Starter+", default_auto_top_up_bundle_id=None)
    assert renamed.name == "Starter+" and renamed.default_auto_top_up_bundle_id is None

    customer = c.customers.create(reference_id=f"sub-{tag()}")
    sub = c.subscriptions.create(customer_id=customer.customer_id, plan_id=plan.plan_id)
    assert sub.plan_id == plan.plan_id and sub.status == "active"
    assert sub.credits.cycle_remaining == Decimal("2.5") and isinstance(sub.credits.total_remaining, Decimal)
    current = c.customers.get_subscription(customer.customer_id)
    assert current is not None and current.subscription_id == sub.subscription_id
    listed = c.subscriptions.list(customer_id=customer.customer_id)
    assert [s.subscription_id for s in listed.data] == [sub.subscription_id] and listed.data[0].customer_id
    assert c.subscriptions.update(sub.subscription_id, auto_top_up_bundle_id=bundle.credit_bundle_id).success
    with pytest.raises(lava.ConflictError) as raised:
        c.plans.delete(plan.plan_id)
    assert raised.value.code == "plan_in_use"
    assert c.subscriptions.cancel(sub.subscription_id).success
    cancelled = c.customers.get_subscription(customer.customer_id)
    assert cancelled is not None and cancelled.pending_change is not None
    assert cancelled.pending_change.type == "cancellation" and cancelled.pending_change.effective_at is not None

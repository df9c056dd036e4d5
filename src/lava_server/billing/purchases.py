"""Buying a plan or a bundle with a card (checkout's subscription and credit_bundle modes, and the
operator's ``lava subscriptions subscribe|buy-bundle``): charge first under an idempotency key, then
apply the change in one transaction whose ledger keys derive from the same key, so a retried
purchase neither charges nor grants twice. A decline is 402 ``card_declined`` and changes nothing."""

from __future__ import annotations

from ..errors import ApiError
from ..store import Database
from ..store import plans as plan_repo
from ..store import subscriptions as repo
from ..store.plans import PlanRecord
from ..store.subscriptions import SubscriptionRecord
from . import renewals
from . import subscriptions as subs
from .offsession import ChargerFor


async def buy_plan(
    deps: subs.PlanDeps,
    db: Database,
    charger: ChargerFor,
    *,
    connection_id: str,
    wallet_id: str,
    plan: PlanRecord,
    payment_method: str | None,
    key: str,
) -> SubscriptionRecord:
    """Put the customer on ``plan`` (docs/plans.md): free plans as ``POST /v1/subscriptions``; paid ones
    charge the first period now when it is an upgrade (or a first plan), else a pending downgrade."""
    if plan.is_free:
        async with db.transaction() as tx:
            sub = await subs.subscribe_free(deps, tx, connection_id=connection_id, wallet_id=wallet_id, plan=plan)
            if payment_method is not None:  # kept for auto top-ups
                await repo.update(tx, sub.id, {"payment_method": payment_method})
            return sub
    current = await repo.active_for(db, connection_id)
    if current is not None and current.plan_id == plan.id and current.pending_change is None:
        raise ApiError(400, "already_subscribed", "the customer is already on this plan")
    if subs.would_charge(current, plan):
        result = await charger(plan.mode).charge(payment_method, plan.period_amount, key)
        if not result.ok:
            raise ApiError(402, "card_declined", f"the card was declined ({result.decline_code})")
    async with db.transaction() as tx:
        sub, _charged = await subs.subscribe_paid(
            deps,
            tx,
            connection_id=connection_id,
            wallet_id=wallet_id,
            plan=plan,
            payment_method=payment_method,
            paid_key=f"{key}:payment",
        )
    return sub


async def buy_bundle(
    deps: subs.PlanDeps,
    db: Database,
    charger: ChargerFor,
    *,
    connection_id: str,
    bundle_id: str,
    payment_method: str | None,
    key: str,
) -> SubscriptionRecord:
    """Sell one bundle of the customer's active plan (400 ``bundle_not_on_plan`` otherwise): its
    credit goes to bundle credits, repaying cycle debt first."""
    sub = await repo.active_for(db, connection_id)
    if sub is None:
        raise ApiError(402, "no_active_subscription", "this customer has no active subscription")
    bundle = await plan_repo.get_bundle(db, sub.merchant_id, sub.mode, bundle_id)
    if bundle is None or bundle.plan_id != sub.plan_id:
        raise ApiError(400, "bundle_not_on_plan", "this bundle is not on the customer's active plan")
    result = await charger(sub.mode).charge(payment_method or sub.payment_method, bundle.cost, key)
    if not result.ok:
        raise ApiError(402, "card_declined", f"the card was declined ({result.decline_code})")
    async with db.transaction() as tx:
        await renewals.buy_bundle(deps, tx, sub, bundle_id=bundle_id, paid_key=key)
        fresh = await repo.get(tx, sub.id)
    assert fresh is not None
    return fresh

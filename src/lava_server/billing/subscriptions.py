"""Subscriptions (docs/plans.md): start, switch, downgrade, cancel, auto top-up choice.

Cycles are anchored on the plan's start (``anchor_at``) in UTC: ``day`` +24 h, ``week`` +7 d,
``month`` the anchor day of the next month clamped to its end, ``year`` the same date next year.
Cycle ``n`` ends at ``anchor_at + (n − anchor_cycle + 1)`` intervals. Every function taking a
``tx`` expects the customer's wallet to be locked first (:func:`credits.lock`).
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from ..clock import from_datetime, now_us
from ..errors import ApiError
from ..ids import IdFactory, Mode
from ..store import Executor
from ..store import plans as plan_repo
from ..store import subscriptions as repo
from ..store.outbox import Event, EventType
from ..store.plans import Interval, PlanRecord
from ..store.subscriptions import SubscriptionRecord
from . import credits
from .ledger import Ledger

SUBSCRIPTION = "sub"
PLAN = "plan"
DAY_US = 86_400_000_000


class PlanDeps(Protocol):
    """What subscription changes need from the server: the ledger (with its outbox, so events join
    the change's transaction) and the id factory. ``Services`` and ``billing.deps.BillingDeps`` fit."""

    @property
    def ledger(self) -> Ledger: ...

    @property
    def ids(self) -> IdFactory: ...


def add_intervals(anchor_us: int, interval: Interval, k: int) -> int:
    """``anchor`` plus ``k`` billing intervals (months and years clamp to the month's end)."""
    if interval == "day":
        return anchor_us + k * DAY_US
    if interval == "week":
        return anchor_us + k * 7 * DAY_US
    dt = datetime.fromtimestamp(anchor_us // 1_000_000, tz=UTC).replace(microsecond=anchor_us % 1_000_000)
    months = k if interval == "month" else 12 * k
    index = dt.month - 1 + months
    year, month = dt.year + index // 12, index % 12 + 1
    day = min(dt.day, calendar.monthrange(year, month)[1])
    return from_datetime(dt.replace(year=year, month=month, day=day))


def owner_of(sub: SubscriptionRecord) -> credits.CreditOwner:
    """The credit owner of a subscription: its customer at its merchant."""
    return credits.CreditOwner(sub.wallet_id, sub.connection_id, sub.merchant_id, sub.mode)


def cycle_end(sub: SubscriptionRecord, cycle_number: int) -> int:
    interval: Interval = sub.plan_snapshot["billing_interval"]
    return add_intervals(sub.anchor_at, interval, cycle_number - sub.anchor_cycle + 1)


def monthly_price(plan: dict[str, Any]) -> Decimal:
    """``period_amount`` normalised to 30 days (docs/plans.md): day ×30, week ×30/7, year ÷12."""
    amount = Decimal(plan["period_amount"])
    factor = {"day": Decimal(30), "week": Decimal(30) / 7, "month": Decimal(1), "year": Decimal(1) / 12}
    return amount * factor[plan["billing_interval"]]


async def clock_now(ex: Executor, connection_id: str) -> int:
    """The customer's time: its test clock's frozen time when attached to one, else now."""
    value = await ex.fetchval(
        "SELECT t.frozen_time FROM connections c JOIN test_clocks t ON t.id = c.test_clock_id WHERE c.id = $1",
        connection_id,
    )
    return now_us() if value is None else int(value)


async def emit(deps: PlanDeps, tx: Executor, sub: SubscriptionRecord, type_: EventType, **detail: Any) -> None:
    body = {"subscription_id": sub.id, "plan_id": sub.plan_id, **detail}
    outbox = deps.ledger.outbox
    if outbox is not None:
        await outbox.add(tx, Event(type_, sub.merchant_id, sub.mode, sub.connection_id, detail=body))


async def start(
    deps: PlanDeps,
    tx: Executor,
    *,
    connection_id: str,
    wallet_id: str,
    plan: PlanRecord,
    at: int,
    payment_method: str | None = None,
    announce: bool = True,
) -> SubscriptionRecord:
    """A new active subscription at cycle 0, its included credit granted (key ``sub:<id>:cycle:0:grant``).
    The first period's payment, if any, is the caller's (already charged)."""
    sub_id = deps.ids.new(SUBSCRIPTION, plan.mode)
    end = add_intervals(at, plan.billing_interval, 1)
    sub = SubscriptionRecord(
        id=sub_id,
        merchant_id=plan.merchant_id,
        mode=plan.mode,
        connection_id=connection_id,
        wallet_id=wallet_id,
        plan_id=plan.id,
        status="active",
        plan_snapshot=plan.snapshot(),
        auto_top_up_bundle_id=plan.default_auto_top_up_bundle_id,
        payment_method=payment_method,
        pending_change=None,
        started_at=at,
        anchor_at=at,
        anchor_cycle=0,
        cycle_number=0,
        cycle_start_at=at,
        cycle_end_at=end,
        cancelled_at=None,
        renewal_failures=0,
        past_due_since=None,
        next_attempt_at=end,
        topup_seq=0,
        topup_blocked_until=0,
        topup_requested=False,
        created_at=now_us(),
    )
    await repo.insert(tx, sub)
    await credits.grant_cycle(
        deps.ledger, tx, owner_of(sub), amount=plan.included_credit, key=f"sub:{sub_id}:cycle:0:grant"
    )
    if announce:
        await emit(deps, tx, sub, "subscription.created")
    return sub


async def join_default_plan(
    deps: PlanDeps, tx: Executor, *, merchant_id: str, mode: Mode, connection_id: str, wallet_id: str
) -> SubscriptionRecord:
    """Spec §4.6: every new customer starts on the merchant's default free plan (implicitly: no
    ``subscription.created`` event, the customer's own ``customer.created`` says it)."""
    await credits.lock(tx, credits.CreditOwner(wallet_id, connection_id, merchant_id, mode))
    plan = await plan_repo.ensure_default_plan(tx, deps.ids.new(PLAN, mode), merchant_id, mode)
    at = await clock_now(tx, connection_id)
    return await start(deps, tx, connection_id=connection_id, wallet_id=wallet_id, plan=plan, at=at, announce=False)


async def end_cycle_credits(deps: PlanDeps, tx: Executor, sub: SubscriptionRecord, *, bundles: bool) -> None:
    """The end of cycle ``sub.cycle_number``: forfeit unused cycle credits under rollover ``none`` and,
    with ``bundles``, bundle credits under bundle rollover ``none``. Each is a ledger transfer to
    ``credit_issued`` (once per cycle, by key), never a silent reset."""
    snap = sub.plan_snapshot
    base = f"sub:{sub.id}:cycle:{sub.cycle_number}"
    if snap["rollover_type"] == "none":
        await credits.forfeit(deps.ledger, tx, owner_of(sub), bundle=False, key=f"{base}:forfeit_cycle")
    if bundles and snap["bundle_rollover_type"] == "none":
        await credits.forfeit(deps.ledger, tx, owner_of(sub), bundle=True, key=f"{base}:forfeit_bundle")


async def switch_now(
    deps: PlanDeps,
    tx: Executor,
    sub: SubscriptionRecord,
    plan: PlanRecord,
    at: int,
    *,
    payment_method: str | None = None,
) -> SubscriptionRecord:
    """An immediate plan change (an upgrade, or any change from a free plan): a new cycle anchored
    at ``at``, unused cycle credits kept only under the old rollover ``full``, bundles kept, any
    pending change cleared, the new included credit granted."""
    await end_cycle_credits(deps, tx, sub, bundles=False)
    n = sub.cycle_number + 1
    end = add_intervals(at, plan.billing_interval, 1)
    fields: dict[str, Any] = {
        "plan_id": plan.id,
        "plan_snapshot": plan.snapshot(),
        "pending_change": None,
        "anchor_at": at,
        "anchor_cycle": n,
        "cycle_number": n,
        "cycle_start_at": at,
        "cycle_end_at": end,
        "next_attempt_at": end,
        "renewal_failures": 0,
        "past_due_since": None,
        "auto_top_up_bundle_id": plan.default_auto_top_up_bundle_id,
    }
    if payment_method is not None:
        fields["payment_method"] = payment_method
    if not await repo.update(tx, sub.id, fields, only_if_cycle=sub.cycle_number):
        raise ApiError(409, "subscription_changed", "the subscription changed meanwhile; try again")
    await credits.grant_cycle(
        deps.ledger, tx, owner_of(sub), amount=plan.included_credit, key=f"sub:{sub.id}:cycle:{n}:grant"
    )
    updated = await repo.get(tx, sub.id)
    assert updated is not None
    await emit(deps, tx, updated, "subscription.updated", change="plan")
    return updated


async def set_pending(
    deps: PlanDeps, tx: Executor, sub: SubscriptionRecord, change: dict[str, Any] | None
) -> SubscriptionRecord:
    """Record (or clear, with None) the one pending change; a later change replaces an earlier one."""
    await repo.update(tx, sub.id, {"pending_change": change})
    updated = replace(sub, pending_change=change)
    await emit(deps, tx, updated, "subscription.updated", change="pending")
    return updated


async def subscribe_free(
    deps: PlanDeps, tx: Executor, *, connection_id: str, wallet_id: str, plan: PlanRecord
) -> SubscriptionRecord:
    """``POST /v1/subscriptions`` (docs/plans.md): free plans only (400 ``paid_plan_requires_checkout``).
    No subscription: start one. From a free plan: switch now, new cycle. From a paid plan: a
    pending downgrade, the current subscription returned."""
    if not plan.is_free:
        raise ApiError(400, "paid_plan_requires_checkout", "a paid plan is bought through checkout")
    at = await clock_now(tx, connection_id)
    await credits.lock(tx, credits.CreditOwner(wallet_id, connection_id, plan.merchant_id, plan.mode))
    current = await repo.active_for(tx, connection_id)
    if current is None:
        return await start(deps, tx, connection_id=connection_id, wallet_id=wallet_id, plan=plan, at=at)
    if current.plan_id == plan.id:
        return await set_pending(deps, tx, current, None) if current.pending_change else current
    if current.plan_snapshot["period_amount"] == 0:
        return await switch_now(deps, tx, current, plan, at)
    return await set_pending(deps, tx, current, {"type": "downgrade", "plan_id": plan.id})


async def subscribe_paid(
    deps: PlanDeps,
    tx: Executor,
    *,
    connection_id: str,
    wallet_id: str,
    plan: PlanRecord,
    payment_method: str | None,
    paid_key: str,
) -> tuple[SubscriptionRecord, bool]:
    """A plan bought through checkout (or the operator CLI), after its first period was charged
    under ``paid_key``. Returns (subscription, charged): ``charged`` False means the caller must not
    have charged (a downgrade is pending to the cycle end, or a pending cancellation was cleared).
    Raises 400 ``already_subscribed`` for the current plan with nothing pending."""
    at = await clock_now(tx, connection_id)
    await credits.lock(tx, credits.CreditOwner(wallet_id, connection_id, plan.merchant_id, plan.mode))
    current = await repo.active_for(tx, connection_id)
    if current is not None and current.plan_id == plan.id:
        if current.pending_change is None:
            raise ApiError(400, "already_subscribed", "the customer is already on this plan")
        return await set_pending(deps, tx, current, None), False
    is_upgrade = current is None or monthly_price(plan.snapshot()) >= monthly_price(current.plan_snapshot)
    if current is not None and not is_upgrade:
        return await set_pending(deps, tx, current, {"type": "downgrade", "plan_id": plan.id}), False
    if current is None:
        sub = await start(
            deps,
            tx,
            connection_id=connection_id,
            wallet_id=wallet_id,
            plan=plan,
            at=at,
            payment_method=payment_method,
        )
    else:
        sub = await switch_now(deps, tx, current, plan, at, payment_method=payment_method)
    await credits.take_payment(
        deps.ledger,
        tx,
        mode=plan.mode,
        merchant_id=plan.merchant_id,
        amount=plan.period_amount,
        key=paid_key,
        kind="plan_payment",
        reason=f"{sub.id} cycle {sub.cycle_number}",
    )
    return sub, True


def would_charge(current: SubscriptionRecord | None, plan: PlanRecord) -> bool:
    """Whether buying ``plan`` now charges its first period (an upgrade or a first plan)."""
    if current is None:
        return True
    if current.plan_id == plan.id:
        return False
    return monthly_price(plan.snapshot()) >= monthly_price(current.plan_snapshot)


async def cancel(deps: PlanDeps, tx: Executor, sub: SubscriptionRecord) -> SubscriptionRecord:
    """``DELETE /v1/subscriptions/{id}``: cancelled at the cycle end; idempotent; replaces a
    pending downgrade."""
    if sub.status != "active" or (sub.pending_change or {}).get("type") == "cancellation":
        return sub
    return await set_pending(deps, tx, sub, {"type": "cancellation"})


async def set_auto_top_up(tx: Executor, sub: SubscriptionRecord, bundle_id: Any) -> None:
    """PATCH: a live bundle of the subscription's plan, or None; else 400 ``bundle_not_on_plan``."""
    if bundle_id is not None:
        bundle = (
            await plan_repo.get_bundle(tx, sub.merchant_id, sub.mode, bundle_id) if isinstance(bundle_id, str) else None
        )
        if bundle is None or bundle.plan_id != sub.plan_id:
            raise ApiError(
                400, "bundle_not_on_plan", "auto_top_up_bundle_id must be a bundle of the subscription's plan"
            )
    await repo.update(tx, sub.id, {"auto_top_up_bundle_id": bundle_id, "topup_blocked_until": 0})


def past_due_retry_at(boundary: int, failures: int) -> int:
    """Failed renewals retry on day 1 and day 3 after the cycle end (docs/plans.md)."""
    return boundary + (DAY_US if failures == 1 else 3 * DAY_US)


__all__ = [
    "PlanDeps",
    "add_intervals",
    "cancel",
    "clock_now",
    "cycle_end",
    "end_cycle_credits",
    "join_default_plan",
    "monthly_price",
    "set_auto_top_up",
    "start",
    "subscribe_free",
    "subscribe_paid",
    "switch_now",
]

"""Cycle ends (docs/plans.md) and auto top-ups (§4.4): the due work the scheduler and test clocks run.

Exactly once, with replicas and crashes: each step charges the card under an idempotency key
(subscription + cycle + attempt, or subscription + top-up sequence), then, in one transaction that
locks the customer's wallet first, re-reads the subscription and applies the step only if it is
still at the cycle (or sequence) it read; the ledger keys (``sub:<id>:cycle:<n>:…``,
``topup:<id>:<seq>:…``) make a repeated grant or payment impossible. A crash between the charge
and the transaction repeats the same charge key, which the processor answers with the same payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ApiError
from ..store import Database, Executor
from ..store import plans as plan_repo
from ..store import subscriptions as repo
from ..store.subscriptions import SubscriptionRecord
from . import credits
from . import subscriptions as subs
from .ledger import CreditSources, Ledger
from .offsession import ChargerFor

MAX_RENEWAL_FAILURES = 3  # the first attempt, then retries on day 1 and day 3
TOPUP_BACKOFF_US = 3_600_000_000  # no retry for 1 h after a failed top-up
MAX_STEPS = 10_000  # a clock advanced by years renews a daily plan at most this often per run


@dataclass
class DueReport:
    """What one run did (counts), for the CLI and tests."""

    renewed: int = 0
    failed: int = 0
    cancelled: int = 0
    downgraded: int = 0
    topped_up: int = 0
    top_up_failed: int = 0
    subscriptions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "renewed": self.renewed,
            "failed": self.failed,
            "cancelled": self.cancelled,
            "downgraded": self.downgraded,
            "topped_up": self.topped_up,
            "top_up_failed": self.top_up_failed,
        }


def _clock_filter(clock_id: str | None) -> tuple[str, list[object]]:
    if clock_id is None:
        return "c.test_clock_id IS NULL", []
    return "c.test_clock_id = $2", [clock_id]


async def due_subscriptions(ex: Executor, *, now: int, clock_id: str | None) -> list[str]:
    """Active subscriptions whose next attempt is due at ``now`` (of one clock, or real time)."""
    where, extra = _clock_filter(clock_id)
    rows = await ex.fetchall(
        "SELECT s.id FROM subscriptions s JOIN connections c ON c.id = s.connection_id"
        f" WHERE s.status = 'active' AND s.next_attempt_at <= $1 AND {where} ORDER BY s.next_attempt_at, s.id",
        now,
        *extra,
    )
    return [r["id"] for r in rows]


async def run_due(
    deps: subs.PlanDeps, charger: ChargerFor, db: Database, *, now: int, clock_id: str | None
) -> DueReport:
    """Renew every due subscription (as many cycles as ``now`` covers), then run due top-ups."""
    report = DueReport()
    for sub_id in await due_subscriptions(db, now=now, clock_id=clock_id):
        for _ in range(MAX_STEPS):
            if not await renew_step(deps, charger, db, sub_id, now, report):
                break
    await run_top_ups(deps, charger, db, now=now, clock_id=clock_id, report=report)
    return report


async def _locked(tx: Executor, deps: subs.PlanDeps, sub: SubscriptionRecord) -> SubscriptionRecord | None:
    await credits.lock(tx, subs.owner_of(sub))
    return await repo.get(tx, sub.id)


async def renew_step(
    deps: subs.PlanDeps, charger: ChargerFor, db: Database, sub_id: str, now: int, report: DueReport
) -> bool:
    """Process one due cycle end of ``sub_id``; False when nothing (more) is due."""
    sub = await repo.get(db, sub_id)
    if sub is None or sub.status != "active" or sub.next_attempt_at > now:
        return False
    boundary, n = sub.cycle_end_at, sub.cycle_number
    pending = sub.pending_change or {}
    deleted = await db.fetchval("SELECT deleted_at FROM connections WHERE id = $1", sub.connection_id)
    if deleted is not None:  # a deleted customer is never charged again: its subscription ends here
        async with db.transaction() as tx:
            fresh = await _locked(tx, deps, sub)
            if fresh is not None and fresh.cycle_number == n and fresh.status == "active":
                await _cancel_now(deps, tx, fresh, boundary, reason="customer_deleted", fallback=False)
                report.cancelled += 1
        return False
    if pending.get("type") == "cancellation":
        async with db.transaction() as tx:
            fresh = await _locked(tx, deps, sub)
            if fresh is None or fresh.cycle_number != n or fresh.status != "active":
                return True
            await _cancel_now(deps, tx, fresh, boundary)
        report.cancelled += 1
        return True
    plan = await plan_repo.get_plan_any(db, pending.get("plan_id") or sub.plan_id)
    assert plan is not None
    charge_key = f"sub:{sub.id}:cycle:{n + 1}:attempt:{sub.renewal_failures}"
    result = (
        await charger(sub.mode).charge(sub.payment_method, plan.period_amount, charge_key)
        if plan.period_amount
        else None
    )
    async with db.transaction() as tx:
        fresh = await _locked(tx, deps, sub)
        if fresh is None or fresh.status != "active" or fresh.cycle_number != n:
            return True  # another worker finished this cycle end
        if fresh.renewal_failures != sub.renewal_failures:
            return True
        await subs.end_cycle_credits(deps, tx, fresh, bundles=True)
        if result is not None and not result.ok:
            failures = fresh.renewal_failures + 1
            if failures >= MAX_RENEWAL_FAILURES:
                await _cancel_now(deps, tx, fresh, now, reason="renewal_failed")
                report.cancelled += 1
            else:
                await repo.update(
                    tx,
                    fresh.id,
                    {
                        "renewal_failures": failures,
                        "past_due_since": boundary,
                        "next_attempt_at": subs.past_due_retry_at(boundary, failures),
                    },
                    only_if_cycle=n,
                )
            await subs.emit(deps, tx, fresh, "subscription.renewal_failed", attempt=failures, code=result.decline_code)
            report.failed += 1
            return failures < MAX_RENEWAL_FAILURES
        if pending.get("type") == "downgrade":
            report.downgraded += 1
        await credits.take_payment(
            deps.ledger,
            tx,
            mode=fresh.mode,
            merchant_id=fresh.merchant_id,
            amount=plan.period_amount,
            key=f"sub:{fresh.id}:cycle:{n + 1}:payment",
            kind="plan_payment",
            reason=result.payment_id if result else None,
        )
        snapshot = plan.snapshot()
        moved = fresh.plan_id != plan.id
        new_end = (
            subs.add_intervals(boundary, plan.billing_interval, 1)
            if moved
            else subs.add_intervals(fresh.anchor_at, plan.billing_interval, n + 1 - fresh.anchor_cycle + 1)
        )
        fields: dict[str, object] = {
            "plan_id": plan.id,
            "plan_snapshot": snapshot,
            "pending_change": None,
            "cycle_number": n + 1,
            "cycle_start_at": boundary,
            "cycle_end_at": new_end,
            "next_attempt_at": new_end,
            "renewal_failures": 0,
            "past_due_since": None,
        }
        if moved:
            fields.update(
                anchor_at=boundary, anchor_cycle=n + 1, auto_top_up_bundle_id=plan.default_auto_top_up_bundle_id
            )
        await repo.update(tx, fresh.id, fields, only_if_cycle=n)
        await credits.grant_cycle(
            deps.ledger,
            tx,
            subs.owner_of(fresh),
            amount=plan.included_credit,
            key=f"sub:{fresh.id}:cycle:{n + 1}:grant",
        )
        renewed = await repo.get(tx, fresh.id)
        assert renewed is not None
        await subs.emit(deps, tx, renewed, "subscription.renewed", cycle=n + 1)
    report.renewed += 1
    report.subscriptions.append(sub.id)
    return True


async def _cancel_now(
    deps: subs.PlanDeps,
    tx: Executor,
    sub: SubscriptionRecord,
    at: int,
    *,
    reason: str = "cancellation",
    fallback: bool = True,
) -> None:
    """End ``sub`` at ``at``; a paid plan's customer falls back to the default free plan (§4.6)."""
    await subs.end_cycle_credits(deps, tx, sub, bundles=True)
    await repo.update(
        tx, sub.id, {"status": "cancelled", "cancelled_at": at, "pending_change": None, "next_attempt_at": at}
    )
    cancelled = await repo.get(tx, sub.id)
    assert cancelled is not None
    await subs.emit(deps, tx, cancelled, "subscription.cancelled", reason=reason)
    plan = await plan_repo.get_plan_any(tx, sub.plan_id)
    if fallback and plan is not None and not plan.is_default:
        free = await plan_repo.ensure_default_plan(tx, deps.ids.new(subs.PLAN, sub.mode), sub.merchant_id, sub.mode)
        await subs.start(deps, tx, connection_id=sub.connection_id, wallet_id=sub.wallet_id, plan=free, at=at)


async def note_draw(
    book: Ledger,
    tx: Executor,
    before: CreditSources,
    owner: credits.CreditOwner,
    prepaid_before: int = 0,
    prepaid_after: int = 0,
) -> None:
    """After a charge drew on credits (same transaction): the (coalesced) balance event when a bucket
    moved; ``customer.credits.low``/``exhausted`` when the total spendable credit (cycle + bundle +
    prepaid, units) crossed the threshold or zero (docs/webhooks.md); and if the charge took
    ``total_remaining`` from > 0 to ≤ 0 (a crossing), the auto top-up flag."""
    rows = await tx.fetchall(
        "SELECT balance FROM ledger_accounts WHERE id IN ($1, $2)", before.cycle_account, before.bundle_account
    )
    after = sum(int(r["balance"]) for r in rows)
    if after != before.total:
        await credits.balance_changed(book, tx, owner, usage=True)
    if book.outbox is not None:
        await book.outbox.credits_changed(
            tx, owner.merchant_id, owner.mode, owner.connection_id, before.total + prepaid_before, after + prepaid_after
        )
    if before.total > 0 >= after:
        await request_top_up(tx, owner.connection_id)


async def request_top_up(db: Executor, connection_id: str | None) -> None:
    """A call was refused with ``insufficient_credits``: the next run tops up if a bundle is set."""
    if connection_id is None:
        return
    await db.execute(
        "UPDATE subscriptions SET topup_requested = 1"
        " WHERE connection_id = $1 AND status = 'active' AND auto_top_up_bundle_id IS NOT NULL",
        connection_id,
    )


async def run_top_ups(
    deps: subs.PlanDeps,
    charger: ChargerFor,
    db: Database,
    *,
    now: int,
    clock_id: str | None,
    report: DueReport,
) -> None:
    """Buy the auto top-up bundle for every subscription flagged by a crossing to ≤ 0 or by a
    refused call, at most one purchase per flag and per customer at a time."""
    where, extra = _clock_filter(clock_id)
    rows = await db.fetchall(
        "SELECT s.id FROM subscriptions s JOIN connections c ON c.id = s.connection_id"
        " WHERE s.status = 'active' AND s.auto_top_up_bundle_id IS NOT NULL AND s.topup_blocked_until <= $1"
        f" AND s.topup_requested = 1 AND {where}",
        now,
        *extra,
    )
    for row in rows:
        await top_up(deps, charger, db, row["id"], now, report)


async def top_up(
    deps: subs.PlanDeps, charger: ChargerFor, db: Database, sub_id: str, now: int, report: DueReport
) -> None:
    sub = await repo.get(db, sub_id)
    if sub is None or sub.status != "active" or sub.auto_top_up_bundle_id is None:
        return
    bundle = await plan_repo.get_bundle(db, sub.merchant_id, sub.mode, sub.auto_top_up_bundle_id)
    if bundle is None:
        return
    seq = sub.topup_seq
    result = await charger(sub.mode).charge(sub.payment_method, bundle.cost, f"topup:{sub.id}:{seq}")
    async with db.transaction() as tx:
        fresh = await _locked(tx, deps, sub)
        if fresh is None or fresh.topup_seq != seq:
            return  # another worker handled this crossing
        if not result.ok:
            await repo.update(
                tx,
                fresh.id,
                {"topup_seq": seq + 1, "topup_requested": False, "topup_blocked_until": now + TOPUP_BACKOFF_US},
            )
            await subs.emit(
                deps, tx, fresh, "customer.credits.top_up_failed", bundle_id=bundle.id, code=result.decline_code
            )
            report.top_up_failed += 1
            return
        await credits.take_payment(
            deps.ledger,
            tx,
            mode=fresh.mode,
            merchant_id=fresh.merchant_id,
            amount=bundle.cost,
            key=f"topup:{fresh.id}:{seq}:payment",
            kind="bundle_payment",
            reason=result.payment_id,
        )
        await credits.grant_bundle(
            deps.ledger, tx, subs.owner_of(fresh), amount=bundle.credit_amount, key=f"topup:{fresh.id}:{seq}"
        )
        await repo.update(tx, fresh.id, {"topup_seq": seq + 1, "topup_requested": False})
        await subs.emit(deps, tx, fresh, "customer.credits.topped_up", bundle_id=bundle.id)
    report.topped_up += 1


async def buy_bundle(
    deps: subs.PlanDeps, tx: Executor, sub: SubscriptionRecord, *, bundle_id: str, paid_key: str
) -> None:
    """A bundle sold through checkout (or the CLI), already charged under ``paid_key``: its cost to
    the merchant, its credits to the customer's bundle credits (repaying debt first)."""
    bundle = await plan_repo.get_bundle(tx, sub.merchant_id, sub.mode, bundle_id)
    if bundle is None or bundle.plan_id != sub.plan_id:
        raise ApiError(400, "bundle_not_on_plan", "this bundle is not on the customer's active plan")
    await credits.lock(tx, subs.owner_of(sub))
    await credits.take_payment(
        deps.ledger,
        tx,
        mode=sub.mode,
        merchant_id=sub.merchant_id,
        amount=bundle.cost,
        key=f"{paid_key}:payment",
        kind="bundle_payment",
    )
    await credits.grant_bundle(deps.ledger, tx, subs.owner_of(sub), amount=bundle.credit_amount, key=paid_key)

"""Before a current-generation customer call goes upstream (docs/plans.md): entitlement and the hold.

Entitlement, also under ``disable_billing``: the customer is live (else 403 ``customer_inactive``),
has an active subscription (else 402 ``no_active_subscription``; a customer that never had one
joins the default free plan here, so customers made before plans existed keep working), and the
plan links the token's meter or links none (else 403 ``meter_not_on_plan``). A billed call
(``customer`` form) then holds its worst case against cycle + bundle + prepaid credits (402
``insufficient_credits`` when it does not fit; a worst case of 0 always passes).

Runs inside ``BillingService.open``'s transaction, which on SQLite is the writer thread: it only
awaits the transaction's own methods.
"""

from __future__ import annotations

from ..errors import ApiError
from ..money import to_wire
from ..store import Executor
from ..store import plans as plan_repo
from ..store import subscriptions as repo
from . import ledger
from . import subscriptions as subs
from .plans import ForwardPlan

PLAN_FORMS = frozenset({"customer", "customer_untracked"})


async def check_and_hold(
    deps: subs.PlanDeps,
    tx: Executor,
    plan: ForwardPlan,
    *,
    request_id: str,
    amount: int,
    floor: int,
    at: int,
    expires_at: int,
) -> None:
    """Entitlement for a current customer call, then (billed forms) the credit hold. Raises ApiError."""
    await check(deps, tx, plan)
    if plan.token_form != "customer" or plan.wallet_id is None:
        return
    assert plan.connection_id is not None
    try:
        await ledger.place_credit_hold(
            tx,
            owner=ledger.CreditOwner(plan.wallet_id, plan.connection_id, plan.merchant.merchant_id, plan.merchant.mode),
            request_id=request_id,
            amount=amount,
            floor=floor,
            at=at,
            expires_at=expires_at,
        )
    except ledger.InsufficientFunds as exc:
        available = max(exc.available, 0)
        raise ApiError(
            402,
            "insufficient_credits",
            f"insufficient credits: this call may cost up to {to_wire(exc.amount)} credits, the customer has "
            f"{to_wire(available)} available (cycle + bundle + prepaid)",
        ) from exc


async def check(deps: subs.PlanDeps, tx: Executor, plan: ForwardPlan, *, join_default: bool = True) -> bool:
    """The entitlement alone (the gateway, and ``POST /v1/requests``): customer live, an active
    subscription, the meter on its plan. Raises ApiError. A customer that never had a subscription
    joins the default free plan when ``join_default``; otherwise it passes unsubscribed and this
    returns False (the caller charges it by the 2025 rules). True when it has a subscription."""
    row = await tx.fetchone("SELECT wallet_id, deleted_at FROM connections WHERE id = $1", plan.connection_id)
    if row is None or row["deleted_at"] is not None:
        raise ApiError(403, "customer_inactive", "this customer has been deleted")
    assert plan.connection_id is not None
    mode = plan.merchant.mode
    sub = await repo.active_for(tx, plan.connection_id)
    if sub is None and not await repo.ever_subscribed(tx, plan.connection_id):
        if not join_default:
            return False
        await ledger.lock_balance(tx, ledger.wallet_account(row["wallet_id"]))
        sub = await subs.join_default_plan(
            deps,
            tx,
            merchant_id=plan.merchant.merchant_id,
            mode=mode,
            connection_id=plan.connection_id,
            wallet_id=row["wallet_id"],
        )
    if sub is None:
        raise ApiError(402, "no_active_subscription", "this customer has no active subscription")
    linked = await plan_repo.get_plan_any(tx, sub.plan_id)
    if linked is not None and linked.meter_ids and plan.product_id not in linked.meter_ids:
        raise ApiError(403, "meter_not_on_plan", "this meter is not linked to the customer's plan")
    return True

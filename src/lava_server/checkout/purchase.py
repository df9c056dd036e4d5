"""Checkout modes ``subscription`` and ``credit_bundle`` (docs/plans.md): what a session sells, its
fixed price, and applying it when the payment succeeds.

The hosted page keeps its steps (one-time code, card, charge); only the amount is fixed (the
plan's ``period_amount``, or the bundle's ``cost``) and, on success, the payment buys the plan or
the bundle instead of funding the prepaid wallet. The ledger keys derive from the processor
payment id, so a repeated completion (webhook and page) changes nothing twice. A purchase that
charges nothing (a free plan, a downgrade pending to the cycle end, clearing a pending
cancellation) completes without a card.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..billing import renewals
from ..billing import subscriptions as subs
from ..context import Services
from ..errors import ApiError, invalid_request
from ..store import Executor
from ..store import plans as plan_repo
from ..store import subscriptions as sub_repo
from ..store.checkout_sessions import CheckoutSessionRecord
from ..store.connections import get_connection
from ..store.merchants import MerchantKey

PURCHASE_MODES = ("subscription", "credit_bundle")
Kind = Literal["subscription", "credit_bundle"]


@dataclass(frozen=True)
class Purchase:
    """What a session sells: a plan (``subscription``) or a bundle (``credit_bundle``)."""

    kind: Kind
    plan_id: str | None
    credit_bundle_id: str | None


async def validate(
    svc: Services, key: MerchantKey, mode: str, *, connection_id: str | None, plan_id: str | None, bundle_id: str | None
) -> Purchase:
    """Check a new purchase session's fields: 400 on missing/stray fields, ``bundle_not_on_plan``,
    ``already_subscribed``; 404 unknown plan/bundle/customer; 409 ``customer_inactive``."""
    if mode == "subscription":
        if not plan_id or bundle_id is not None:
            raise invalid_request("subscription checkout takes plan_id (and optionally customer_id)")
        plan = await plan_repo.get_plan(svc.db, key.merchant_id, key.mode, plan_id)
        if plan is None:
            raise ApiError(404, "not_found", "plan not found")
    else:
        if not bundle_id or not connection_id or plan_id is not None:
            raise invalid_request("credit_bundle checkout takes customer_id and credit_bundle_id")
    current = None
    if connection_id is not None:
        con = await get_connection(svc.db, key.merchant_id, key.mode, connection_id)
        if con is None:
            raise ApiError(404, "not_found", "customer not found")
        if con.deleted_at is not None:
            raise ApiError(409, "customer_inactive", "this customer has been deleted")
        current = await sub_repo.active_for(svc.db, connection_id)
    if mode == "subscription":
        if current is not None and current.plan_id == plan_id and current.pending_change is None:
            raise ApiError(400, "already_subscribed", "the customer is already on this plan")
        return Purchase("subscription", plan_id, None)
    bundle = await plan_repo.get_bundle(svc.db, key.merchant_id, key.mode, bundle_id or "")
    if bundle is None or current is None or bundle.plan_id != current.plan_id:
        raise ApiError(400, "bundle_not_on_plan", "this bundle is not on the customer's active plan")
    return Purchase("credit_bundle", None, bundle.id)


async def save(tx: Executor, session_id: str, purchase: Purchase) -> None:
    await tx.execute(
        "INSERT INTO checkout_purchases (session_id, plan_id, credit_bundle_id) VALUES ($1, $2, $3)",
        session_id,
        purchase.plan_id,
        purchase.credit_bundle_id,
    )


async def load(ex: Executor, session: CheckoutSessionRecord) -> Purchase | None:
    """The purchase of a ``subscription``/``credit_bundle`` session (None for the legacy modes)."""
    if session.checkout_mode not in PURCHASE_MODES:
        return None
    row = await ex.fetchone(
        "SELECT plan_id, credit_bundle_id FROM checkout_purchases WHERE session_id = $1", session.id
    )
    if row is None:
        return None
    kind: Kind = "subscription" if session.checkout_mode == "subscription" else "credit_bundle"
    return Purchase(kind, row["plan_id"], row["credit_bundle_id"])


async def amount_due(
    ex: Executor, session: CheckoutSessionRecord, purchase: Purchase, connection_id: str | None
) -> int:
    """Units the page charges now: the bundle's cost, the plan's first period (an upgrade or a first
    plan), or 0 (free plan, downgrade, clearing a pending cancellation)."""
    if purchase.kind == "credit_bundle":
        bundle = await plan_repo.get_bundle(ex, session.merchant_id, session.mode, purchase.credit_bundle_id or "")
        return 0 if bundle is None else bundle.cost
    plan = await plan_repo.get_plan_any(ex, purchase.plan_id or "")
    if plan is None or plan.is_free:
        return 0
    current = None if connection_id is None else await sub_repo.active_for(ex, connection_id)
    return plan.period_amount if subs.would_charge(current, plan) else 0


async def apply(
    svc: Services,
    tx: Executor,
    session: CheckoutSessionRecord,
    purchase: Purchase,
    *,
    connection_id: str,
    wallet_id: str,
    paid_key: str,
) -> None:
    """Buy the plan or the bundle for the customer inside the completing transaction."""
    if purchase.kind == "credit_bundle":
        sub = await sub_repo.active_for(tx, connection_id)
        if sub is None:
            raise ApiError(402, "no_active_subscription", "this customer has no active subscription")
        await renewals.buy_bundle(svc, tx, sub, bundle_id=purchase.credit_bundle_id or "", paid_key=paid_key)
        return
    plan = await plan_repo.get_plan_any(tx, purchase.plan_id or "")
    assert plan is not None
    if plan.is_free:
        await subs.subscribe_free(svc, tx, connection_id=connection_id, wallet_id=wallet_id, plan=plan)
        return
    await subs.subscribe_paid(
        svc,
        tx,
        connection_id=connection_id,
        wallet_id=wallet_id,
        plan=plan,
        payment_method=None,
        paid_key=f"{paid_key}:payment",
    )


async def remember_card(svc: Services, connection_id: str | None, method_id: str | None) -> None:
    """The card the page just charged becomes the subscription's method for renewals and top-ups."""
    if connection_id is None or method_id is None:
        return
    sub = await sub_repo.active_for(svc.db, connection_id)
    if sub is not None:
        await sub_repo.update(svc.db, sub.id, {"payment_method": method_id})


async def complete_without_payment(svc: Services, session: CheckoutSessionRecord, wallet_id: str) -> str | None:
    """A purchase that charges nothing: create the customer if needed, apply, complete (once).
    Returns the customer id, or None when the session was completed already."""
    from ..accounts.connections import create_connection
    from ..clock import now_us, to_iso
    from ..store import checkout_sessions as sessions_repo
    from ..store import checkout_state as state
    from ..store.outbox import Event

    at = now_us()
    async with svc.db.transaction() as tx:
        fresh = await sessions_repo.get_checkout_session(tx, session.merchant_id, session.mode, session.id)
        sold = await load(tx, session)
        if fresh is None or fresh.completed_at is not None or sold is None:
            return None
        connection_id = fresh.connection_id
        if connection_id is None:
            wallet = await state.get_wallet(tx, wallet_id)
            assert wallet is not None
            key = MerchantKey("checkout", session.merchant_id, "", session.mode)
            made = await create_connection(svc, key, reference_id=session.reference_id, wallet=wallet, tx=tx)
            connection_id = made.connection_id
        if await amount_due(tx, fresh, sold, connection_id) != 0:
            return None  # the price changed meanwhile: the page asks for a card
        await apply(
            svc, tx, fresh, sold, connection_id=connection_id, wallet_id=wallet_id, paid_key=f"checkout:{session.id}"
        )
        await sessions_repo.mark_completed(tx, session.id, connection_id, at)
        detail = {
            "checkout_session": {
                "checkout_session_id": session.id,
                "checkout_mode": session.checkout_mode,
                "amount": "0.0000000000",
                "completed_at": to_iso(at),
            }
        }
        await svc.outbox.add(
            tx, Event("checkout.session.completed", session.merchant_id, session.mode, connection_id, detail)
        )
    return connection_id

"""``enforce_merchant_wallet`` (spec lava-api-current section 4.1 Decision; docs/current-api.md).

The merchant wallet is the merchant's revenue ledger account of the mode: fees flow in, and a
managed key's provider cost of a current-generation call (rows 1-5, spend keys) flows out. By
default it may go negative. A merchant with ``merchants.enforce_merchant_wallet = 1`` (``lava
merchants wallet-enforcement``) has every such call's worst-case cost checked, atomically with the
call's hold, against its balance minus the worst cases of its calls still in flight
(``merchant_wallet_holds``, migration 0015): an uncoverable one is refused with 402
``insufficient_balance`` before anything goes upstream. Amounts are integer units (10^-10 USD).
"""

from __future__ import annotations

from ..errors import ApiError
from ..money import to_wire
from ..store import Executor
from .accounts import merchant_revenue_account
from .plans import LEGACY_FORMS, ForwardPlan


def merchant_cost_of(plan: ForwardPlan, worst_base_units: int) -> int:
    """The worst-case cost the merchant wallet bears for a call: the base cost of a managed-key
    current-generation call, else 0 (BYOK and stored keys are recorded only; 2025 forms keep their
    own payers and the prepaid wallet)."""
    if not plan.managed or plan.token_form in LEGACY_FORMS or not plan.billable:
        return 0
    return worst_base_units


async def reserve(tx: Executor, plan: ForwardPlan, request_id: str, amount: int, at: int, expires_at: int) -> None:
    """Check and record ``amount`` against an enforcing merchant's wallet; raises 402
    ``insufficient_balance`` when it cannot be covered. A no-op for a non-enforcing merchant
    or a zero amount. The merchant row is locked (an UPDATE) so concurrent calls serialise."""
    if amount <= 0:
        return
    merchant_id, mode = plan.merchant.merchant_id, plan.merchant.mode
    locked = await tx.fetchval(
        "UPDATE merchants SET enforce_merchant_wallet = enforce_merchant_wallet"
        " WHERE id = $1 AND enforce_merchant_wallet = 1 RETURNING id",
        merchant_id,
    )
    if locked is None:
        return
    balance = await tx.fetchval(
        "SELECT balance FROM ledger_accounts WHERE id = $1", merchant_revenue_account(merchant_id, mode)
    )
    in_flight = await tx.fetchval(
        "SELECT COALESCE(SUM(amount), 0) FROM merchant_wallet_holds"
        " WHERE merchant_id = $1 AND mode = $2 AND expires_at > $3",
        merchant_id,
        mode,
        at,
    )
    available = int(balance or 0) - int(in_flight or 0)
    if amount > available:
        raise ApiError(
            402,
            "insufficient_balance",
            f"insufficient merchant balance: this call may cost up to ${to_wire(amount)}, the merchant wallet has "
            f"${to_wire(max(available, 0))} available (enforce_merchant_wallet is on)",
        )
    await tx.execute(
        "INSERT INTO merchant_wallet_holds (request_id, merchant_id, mode, amount, expires_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        request_id,
        merchant_id,
        mode,
        amount,
        expires_at,
    )


async def release(tx: Executor, request_id: str) -> None:
    """Forget a call's worst case (it settled or failed); a no-op when it had none."""
    await tx.execute("DELETE FROM merchant_wallet_holds WHERE request_id = $1", request_id)

"""The money side of a settlement, inside its transaction: the charge of a billed call (tier
counter, charge parts, ledger posting, credit draw), the merchant debit of a call no wallet
pays, and the stored-response check that bills a response's usage once.

Used by :class:`.service.BillingService` (``settle`` and ``charge``); amounts are integer units.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..errors import ApiError
from ..money import MAX_UNITS
from ..store import Executor
from ..store.requests import RequestRecord
from . import ledger, renewals
from .charges import Charges, compute_charges
from .deps import BillingDeps
from .fees import UnitCounts, billable_units
from .plans import ForwardPlan, Outcome
from .pricing import BaseCost
from .product_config import ProductConfig
from .usage_period import usage_period


def _milli(quantity: Any) -> int:
    return int(quantity * 1000)


async def charge_call(
    svc: BillingDeps,
    tx: Executor,
    plan: ForwardPlan,
    rec: RequestRecord,
    usage: UnitCounts,
    base: BaseCost | None,
    config: ProductConfig,
    at: int,
    *,
    count_request: bool = True,
    locked: ledger.Balance | None = None,
) -> tuple[Charges, int]:
    """Charge ``usage`` inside ``tx`` (:meth:`BillingService.charge`); returns the charges and the
    wallet's available balance after them (units). ``locked``: the wallet's balance if this
    transaction already locked it (:func:`ledger.settle_hold`)."""

    assert plan.connection_id is not None
    assert plan.wallet_id is not None
    # Lock order (see ledger.apply_deltas): the wallet first, then the tier counter, then the
    # other accounts in id order — the same in every charging transaction.
    prepaid = locked if locked is not None else await ledger.lock_balance(tx, ledger.wallet_account(plan.wallet_id))
    # A current customer's charge draws cycle → bundle → prepaid credits (docs/plans.md).
    credits = (
        await ledger.read_credits(
            tx,
            ledger.CreditOwner(plan.wallet_id, plan.connection_id, plan.merchant.merchant_id, plan.merchant.mode),
        )
        if rec.token_form == "customer"
        else None
    )
    requests = 1 if plan.billable and count_request else 0
    quantity = billable_units(config, usage, requests) if requests else 0
    period_start, _ = usage_period(plan.connection_created_at or rec.created_at, rec.created_at)
    delta = _milli(quantity)
    after = await tx.fetchval(
        "INSERT INTO connection_usage (connection_id, period_start, units_milli) VALUES ($1, $2, $3)"
        " ON CONFLICT (connection_id, period_start)"
        " DO UPDATE SET units_milli = connection_usage.units_milli + excluded.units_milli RETURNING units_milli",
        plan.connection_id,
        period_start,
        delta,
    )
    before_milli = int(after) - delta
    rec.units_before_milli = before_milli
    rec.fee_units_milli = delta
    before = _from_milli(before_milli, config)
    charges = compute_charges(
        config,
        units=usage,
        units_before=before,
        base=base if plan.billable else None,
        managed=plan.managed,
        service_charge_rate=plan.service_charge_rate(svc.settings.service_charge_rate),
        request_count=requests,
    )
    if charges.total_units > MAX_UNITS:
        raise ApiError(400, "invalid_request", "this charge exceeds the largest amount the ledger accepts")
    mode = plan.merchant.mode
    revenue = ledger.merchant_revenue_account(plan.merchant.merchant_id, mode)
    parts = [
        ledger.ChargePart(
            "base", charges.charged_base_units, charges.base_payer, ledger.system_account("provider_cost", mode)
        ),
        ledger.ChargePart("fee", charges.fee.amount_units, "wallet", revenue),
        ledger.ChargePart(
            "service_charge",
            charges.service_charge_units,
            charges.service_charge_payer,
            ledger.system_account("platform_service", mode),
        ),
    ]
    result = await ledger.post_charge(
        svc.ledger,
        tx,
        request_id=rec.id,
        wallet_id=plan.wallet_id,
        merchant_id=plan.merchant.merchant_id,
        mode=mode,
        parts=parts,
        floor=config.overdraft_floor_units,
        credits=credits,
        locked=prepaid,
    )
    if credits is not None:  # docs/plans.md: crossing to ≤ 0 queues the auto top-up
        owner = ledger.CreditOwner(plan.wallet_id, plan.connection_id, plan.merchant.merchant_id, plan.merchant.mode)
        await renewals.note_draw(svc.ledger, tx, credits, owner, prepaid.balance, result.balance.balance)
    rec.shortfall = result.shortfall
    rec.timestamp = at
    return charges, result.balance.available


async def debit_merchant(svc: BillingDeps, tx: Executor, plan: ForwardPlan, rec: RequestRecord, amount: int) -> None:
    """docs/current-api.md "Who pays": a managed key's provider cost is debited to the merchant."""
    mode = plan.merchant.mode
    revenue = ledger.merchant_revenue_account(plan.merchant.merchant_id, mode)
    cost = ledger.system_account("provider_cost", mode)
    await ledger.ensure_accounts(
        tx, [(revenue, "merchant_revenue", mode, plan.merchant.merchant_id), (cost, "provider_cost", mode, None)]
    )
    await svc.ledger.transfer(
        tx,
        key=f"req:{rec.id}:base:merchant",
        debit=revenue,
        credit=cost,
        amount=amount,
        kind="base",
        request_id=rec.id,
    )
    rec.total_merchant_cost = rec.total_request_cost = amount


async def already_billed(tx: Executor, plan: ForwardPlan, rec: RequestRecord, outcome: Outcome) -> bool:
    """A stored response (OpenAI Responses) can be fetched again (background polls, resumed
    streams, a GET after the POST): its usage is billed the first time only.

    Only a *fetch* can be found already billed, and it is keyed on the id the client's URL
    names (which, with the operator's key, was checked to be one of this merchant's). A call
    that creates work is always charged: the id its upstream answers with is recorded, so
    later fetches of it are free, but never decides whether the call itself is charged (an
    upstream that repeats or reuses ids cannot make a new call free).
    """
    if not plan.refetchable_response or not _consumed(outcome.usage):
        return False
    response_id = plan.fetched_response_id if plan.action == "fetch" else outcome.response_id
    if not response_id:
        return False
    inserted = await tx.execute(
        "INSERT INTO billed_responses (merchant_id, mode, response_id, request_id) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (merchant_id, mode, response_id) DO NOTHING",
        plan.merchant.merchant_id,
        plan.merchant.mode,
        response_id,
        rec.id,
    )
    return inserted == 0 and plan.action == "fetch"


def _consumed(usage: UnitCounts) -> bool:
    return bool(usage.input_tokens or usage.output_tokens or usage.input_characters or usage.output_characters) or bool(
        usage.input_seconds or usage.output_seconds
    )


def _from_milli(milli: int, config: ProductConfig) -> Any:
    if config.tiers[0].type == "minutes":
        return Decimal(milli) / 1000
    return milli // 1000

"""Cycle and bundle credits as ledger transfers (spec §4.3–4.7).

Accounts (per customer wallet): ``wallet:<id>:cycle`` (kind ``credit_cycle``; included credit and
rollover; negative while in debt) and ``wallet:<id>:bundle`` (kind ``credit_bundle``; never
negative). Credits are issued from, and forfeited back to, the per-mode system account
``credit_issued:<mode>``; plan and bundle payments move ``external_funding`` → merchant revenue.
Every function here runs inside the caller's transaction, which must have locked the customer's
wallet first (``ledger.lock_balance``): the wallet row serialises everything that touches its credits.

Transfer kinds: ``cycle_grant``, ``bundle_grant``, ``credit_forfeit``, ``plan_payment``,
``bundle_payment``. Keys carry the subscription and cycle (or top-up sequence), so a grant or a
payment can never happen twice.
"""

from __future__ import annotations

from typing import Literal

from ..ids import Mode
from ..store import Executor
from . import ledger
from .accounts import cycle_credit_account, merchant_revenue_account, system_account

CreditKind = Literal["cycle_grant", "bundle_grant", "credit_forfeit", "plan_payment", "bundle_payment"]
CREDIT_KINDS: tuple[CreditKind, ...] = (
    "cycle_grant",
    "bundle_grant",
    "credit_forfeit",
    "plan_payment",
    "bundle_payment",
)


def issued_account(mode: Mode) -> str:
    return system_account("credit_issued", mode)


async def _ensure_system(tx: Executor, mode: Mode, merchant_id: str) -> None:
    await ledger.ensure_accounts(
        tx,
        [
            (issued_account(mode), "credit_issued", mode, None),
            (system_account("external_funding", mode), "external_funding", mode, None),
            (merchant_revenue_account(merchant_id, mode), "merchant_revenue", mode, merchant_id),
        ],
    )


async def key_used(tx: Executor, key: str) -> bool:
    return int(await tx.fetchval("SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key = $1", key)) != 0


async def lock(tx: Executor, wallet_id: str, mode: Mode) -> ledger.CreditSources:
    """Lock the customer's wallet row and read its credit balances (creating the accounts)."""
    await ledger.lock_balance(tx, ledger.wallet_account(wallet_id))
    return await ledger.read_credits(tx, wallet_id, mode)


async def grant_cycle(
    book: ledger.Ledger, tx: Executor, *, wallet_id: str, mode: Mode, merchant_id: str, amount: int, key: str
) -> bool:
    """Add ``amount`` to cycle credits (repaying any debt first, since debt is a negative balance)."""
    if amount <= 0:
        return False
    await _ensure_system(tx, mode, merchant_id)
    t = await book.transfer(
        tx,
        key=key,
        debit=issued_account(mode),
        credit=cycle_credit_account(wallet_id),
        amount=amount,
        kind="cycle_grant",
    )
    return t.created


async def grant_bundle(
    book: ledger.Ledger, tx: Executor, *, wallet_id: str, mode: Mode, merchant_id: str, amount: int, key: str
) -> None:
    """Add a bundle's ``amount``: first repaying cycle debt (spec §4.5), the rest to bundle credits."""
    await _ensure_system(tx, mode, merchant_id)
    credits = await ledger.read_credits(tx, wallet_id, mode)
    repay = min(max(-credits.cycle_balance, 0), amount)
    if await key_used(tx, f"{key}:bundle") or await key_used(tx, f"{key}:repay"):
        return
    if repay:
        await book.transfer(
            tx,
            key=f"{key}:repay",
            debit=issued_account(mode),
            credit=credits.cycle_account,
            amount=repay,
            kind="bundle_grant",
        )
    if amount - repay:
        await book.transfer(
            tx,
            key=f"{key}:bundle",
            debit=issued_account(mode),
            credit=credits.bundle_account,
            amount=amount - repay,
            kind="bundle_grant",
        )


async def forfeit(book: ledger.Ledger, tx: Executor, *, account: str, mode: Mode, merchant_id: str, key: str) -> int:
    """Forfeit an account's positive balance back to ``credit_issued`` (once per ``key``); the amount."""
    if await key_used(tx, key):
        return 0
    balance = (await book.balance(account, tx)).balance
    if balance <= 0:
        return 0
    await _ensure_system(tx, mode, merchant_id)
    await book.transfer(tx, key=key, debit=account, credit=issued_account(mode), amount=balance, kind="credit_forfeit")
    return balance


async def take_payment(
    book: ledger.Ledger,
    tx: Executor,
    *,
    mode: Mode,
    merchant_id: str,
    amount: int,
    key: str,
    kind: CreditKind,
    reason: str | None = None,
) -> None:
    """Record money collected from the customer's card for the merchant (plan period or bundle)."""
    if amount <= 0:
        return
    await _ensure_system(tx, mode, merchant_id)
    await book.transfer(
        tx,
        key=key,
        debit=system_account("external_funding", mode),
        credit=merchant_revenue_account(merchant_id, mode),
        amount=amount,
        kind=kind,
        reason=reason,
    )

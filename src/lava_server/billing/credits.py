"""Cycle and bundle credits as ledger transfers (docs/plans.md).

Accounts (per customer of a merchant): ``wallet:<wal>:cycle:<con>`` (kind ``credit_cycle``;
included credit and rollover; negative while in debt) and ``wallet:<wal>:bundle:<con>`` (kind
``credit_bundle``; never negative). Credits are issued from, forfeited back to and redeemed into
the merchant's ``credit_issued:<merchant>:<mode>``; plan and bundle payments move
``external_funding`` → merchant revenue (the merchant is paid once, when credit is bought).
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
from ..store.outbox import Event
from . import ledger
from .accounts import merchant_revenue_account, system_account

CreditKind = Literal["cycle_grant", "bundle_grant", "credit_forfeit", "plan_payment", "bundle_payment"]
CREDIT_KINDS: tuple[CreditKind, ...] = (
    "cycle_grant",
    "bundle_grant",
    "credit_forfeit",
    "plan_payment",
    "bundle_payment",
)
CreditOwner = ledger.CreditOwner


async def _ensure_payment_accounts(tx: Executor, mode: Mode, merchant_id: str) -> None:
    await ledger.ensure_accounts(
        tx,
        [
            (system_account("external_funding", mode), "external_funding", mode, None),
            (merchant_revenue_account(merchant_id, mode), "merchant_revenue", mode, merchant_id),
        ],
    )


async def balance_changed(book: ledger.Ledger, tx: Executor, owner: CreditOwner, *, usage: bool = False) -> None:
    """A credit bucket moved: ``customer.wallet.balance.updated`` for the customer, in the change's
    transaction (coalesced when ``usage``, like prepaid draws)."""
    if book.outbox is not None:
        event = Event(
            "customer.wallet.balance.updated", owner.merchant_id, owner.mode, owner.connection_id, coalesce=usage
        )
        await book.outbox.add(tx, event)


async def key_used(tx: Executor, key: str) -> bool:
    """Whether a transfer with this idempotency key exists."""
    return int(await tx.fetchval("SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key = $1", key)) != 0


async def lock(tx: Executor, owner: CreditOwner) -> ledger.CreditSources:
    """Lock the customer's wallet row and read its credit balances (creating the accounts)."""
    await ledger.lock_balance(tx, ledger.wallet_account(owner.wallet_id))
    return await ledger.read_credits(tx, owner)


async def grant_cycle(book: ledger.Ledger, tx: Executor, owner: CreditOwner, *, amount: int, key: str) -> bool:
    """Add ``amount`` to cycle credits (repaying any debt first, since debt is a negative balance)."""
    if amount <= 0:
        return False
    src = await ledger.read_credits(tx, owner)
    t = await book.transfer(
        tx, key=key, debit=src.issuer_account, credit=src.cycle_account, amount=amount, kind="cycle_grant"
    )
    if t.created:
        await balance_changed(book, tx, owner)
    return t.created


async def grant_bundle(book: ledger.Ledger, tx: Executor, owner: CreditOwner, *, amount: int, key: str) -> None:
    """Add a bundle's ``amount``: first repaying cycle debt (docs/plans.md), the rest to bundle credits."""
    if await key_used(tx, f"{key}:bundle") or await key_used(tx, f"{key}:repay"):
        return
    src = await ledger.read_credits(tx, owner)
    repay = min(max(-src.cycle_balance, 0), amount)
    if repay:
        await book.transfer(
            tx,
            key=f"{key}:repay",
            debit=src.issuer_account,
            credit=src.cycle_account,
            amount=repay,
            kind="bundle_grant",
        )
    if amount - repay:
        await book.transfer(
            tx,
            key=f"{key}:bundle",
            debit=src.issuer_account,
            credit=src.bundle_account,
            amount=amount - repay,
            kind="bundle_grant",
        )
    await balance_changed(book, tx, owner)


async def forfeit(book: ledger.Ledger, tx: Executor, owner: CreditOwner, *, bundle: bool, key: str) -> int:
    """Forfeit the cycle (or bundle) credits' positive balance back to the issuer, once per ``key``.
    Returns the amount (0 when nothing was left or the key was used)."""
    if await key_used(tx, key):
        return 0
    src = await ledger.read_credits(tx, owner)
    account, balance = (src.bundle_account, src.bundle_balance) if bundle else (src.cycle_account, src.cycle_balance)
    if balance <= 0:
        return 0
    await book.transfer(tx, key=key, debit=account, credit=src.issuer_account, amount=balance, kind="credit_forfeit")
    await balance_changed(book, tx, owner)
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
    await _ensure_payment_accounts(tx, mode, merchant_id)
    await book.transfer(
        tx,
        key=key,
        debit=system_account("external_funding", mode),
        credit=merchant_revenue_account(merchant_id, mode),
        amount=amount,
        kind=kind,
        reason=reason,
    )

"""Plan credits in the ledger (docs/plans.md): a customer's cycle and bundle credit sub-accounts
(``wallet:<id>:cycle``, ``wallet:<id>:bundle``) beside its prepaid wallet, and holds that reserve
against all three. Balances still change only through :class:`ledger.Ledger` transfers and
``ledger.post_charge``; this module reads them and places holds (the ``held`` column).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import Mode
from ..store import Executor
from .accounts import bundle_credit_account, credit_issued_account, cycle_credit_account, wallet_account
from .ledger_holds import InsufficientFunds, insert_open_hold
from .ledger_rows import ensure_accounts, lock_balance


@dataclass(frozen=True)
class CreditOwner:
    """Whose plan credits: one customer (connection) of one merchant, on its wallet."""

    wallet_id: str
    connection_id: str
    merchant_id: str
    mode: Mode


@dataclass(frozen=True)
class CreditSources:
    """A plan customer's credit sub-accounts and their balances, read after the wallet was locked."""

    cycle_account: str
    bundle_account: str
    issuer_account: str
    cycle_balance: int
    bundle_balance: int

    @property
    def total(self) -> int:
        """``credits.total_remaining``: cycle + bundle (negative while in debt)."""
        return self.cycle_balance + self.bundle_balance


async def read_credits(tx: Executor, owner: CreditOwner) -> CreditSources:
    """The customer's credit accounts (created when missing) and balances. Call after locking the
    wallet (``lock_balance``): the wallet row serialises every change to its credits."""
    cycle = cycle_credit_account(owner.wallet_id, owner.connection_id)
    bundle = bundle_credit_account(owner.wallet_id, owner.connection_id)
    issuer = credit_issued_account(owner.merchant_id, owner.mode)
    await ensure_accounts(
        tx,
        [
            (cycle, "credit_cycle", owner.mode, owner.connection_id),
            (bundle, "credit_bundle", owner.mode, owner.connection_id),
            (issuer, "credit_issued", owner.mode, owner.merchant_id),
        ],
    )
    rows = await tx.fetchall("SELECT id, balance FROM ledger_accounts WHERE id IN ($1, $2)", cycle, bundle)
    balances = {r["id"]: int(r["balance"]) for r in rows}
    return CreditSources(cycle, bundle, issuer, balances.get(cycle, 0), balances.get(bundle, 0))


async def peek_credits(ex: Executor, owner: CreditOwner) -> CreditSources:
    """The same balances, read only (missing accounts read as 0): for rendering, never for deciding."""
    cycle = cycle_credit_account(owner.wallet_id, owner.connection_id)
    bundle = bundle_credit_account(owner.wallet_id, owner.connection_id)
    rows = await ex.fetchall("SELECT id, balance FROM ledger_accounts WHERE id IN ($1, $2)", cycle, bundle)
    balances = {r["id"]: int(r["balance"]) for r in rows}
    issuer = credit_issued_account(owner.merchant_id, owner.mode)
    return CreditSources(cycle, bundle, issuer, balances.get(cycle, 0), balances.get(bundle, 0))


async def place_credit_hold(
    tx: Executor, *, owner: CreditOwner, request_id: str, amount: int, floor: int, at: int, expires_at: int
) -> CreditSources:
    """Reserve ``amount`` for a plan customer's call against cycle + bundle + prepaid (+ floor).

    The hold sits on the wallet account (its row is the customer's lock); the capacity counts the
    credits net of debt. A zero amount always passes. Raises InsufficientFunds."""
    assert amount >= 0
    assert floor >= 0
    account = wallet_account(owner.wallet_id)
    current = await lock_balance(tx, account)
    credits = await read_credits(tx, owner)
    capacity = current.available + floor + credits.total
    if amount > 0 and amount > capacity:
        raise InsufficientFunds(amount, capacity)
    await tx.execute("UPDATE ledger_accounts SET held = held + $1 WHERE id = $2", amount, account)
    await insert_open_hold(tx, request_id=request_id, account=account, amount=amount, at=at, expires_at=expires_at)
    return credits

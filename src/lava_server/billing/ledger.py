"""The ledger: the only code that changes a balance.

Model (double entry, TigerBeetle-style):
- Every money movement is one immutable transfer from a debit account to a credit
  account, identified by an idempotency key. Replaying a key with the same
  parameters is a no-op that returns the original transfer; replaying it with
  different parameters is an error.
- Account balances are signed integers in 10⁻¹⁰ USD. A transfer subtracts from the
  debit account and adds to the credit account in the same transaction as the
  transfer row, so the sum of all balances of one mode is always 0.

Holds reserve part of a wallet's balance for a call in flight (``held``). A hold is placed
only if ``balance − held − amount ≥ −floor`` (one conditional UPDATE, so concurrent calls
cannot overspend), and it ends exactly once: settled, released or expired (a conditional
UPDATE on its status). Settling releases the hold and posts the actual charge in the same
transaction.

Invariants (checked by :func:`check`, which backs ``lava ledger check``):
1. For each account, balance = Σ credits − Σ debits over its transfers.
2. The sum of all account balances of each mode is 0.
3. held ≥ 0 on every account, and no wallet's available balance (balance − held)
   is below minus its overdraft floor.
4. Wallets are funded only from the external-funding and granted-credit accounts, so
   Σ wallet balances = funds in − charges out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..clock import now_us
from ..ids import TRANSFER, IdFactory, Mode
from ..store import Database, Executor
from ..store.outbox import Outbox
from .accounts import merchant_revenue_account, system_account, wallet_account

FundingSource = Literal["external_funding", "granted_credit"]
FUNDING_SOURCES: tuple[FundingSource, ...] = ("external_funding", "granted_credit")


class LedgerError(Exception):
    """A ledger operation was refused (bad amount, idempotency conflict, missing account)."""


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for a different transfer."""


@dataclass(frozen=True)
class Transfer:
    id: str
    idempotency_key: str
    debit_account: str
    credit_account: str
    amount: int
    kind: str
    created: bool  # False when the idempotency key had been used before


@dataclass(frozen=True)
class Balance:
    balance: int
    held: int

    @property
    def available(self) -> int:
        return self.balance - self.held


async def ensure_account(tx: Executor, account_id: str, kind: str, mode: Mode, owner_id: str | None) -> None:
    await tx.execute(
        "INSERT INTO ledger_accounts (id, kind, mode, owner_id, balance, held, created_at)"
        " VALUES ($1, $2, $3, $4, 0, 0, $5) ON CONFLICT (id) DO NOTHING",
        account_id,
        kind,
        mode,
        owner_id,
        now_us(),
    )


async def apply_deltas(tx: Executor, deltas: dict[str, int]) -> None:
    """Apply balance changes one account at a time **in id order**: every transaction locks
    accounts in the same order, so concurrent settlements cannot deadlock on PostgreSQL."""
    for account_id in sorted(deltas):
        delta = deltas[account_id]
        if delta == 0:
            continue
        changed = await tx.execute(
            "UPDATE ledger_accounts SET balance = balance + CAST($1 AS BIGINT) WHERE id = $2", delta, account_id
        )
        if changed != 1:
            raise LedgerError(f"unknown ledger account {account_id!r}")


async def lock_balance(tx: Executor, account_id: str) -> Balance:
    """Read an account's balance and lock its row until the transaction ends (portable: a no-op
    UPDATE … RETURNING), so no concurrent charge can spend the same funds."""
    row = await tx.fetchone("UPDATE ledger_accounts SET held = held WHERE id = $1 RETURNING balance, held", account_id)
    if row is None:
        raise LedgerError(f"unknown ledger account {account_id!r}")
    return Balance(int(row["balance"]), int(row["held"]))


async def ensure_accounts(tx: Executor, accounts: list[tuple[str, str, Mode, str | None]]) -> None:
    """Create any of these accounts that do not exist yet, in one statement."""
    values: list[str] = []
    args: list[object] = []
    at = now_us()
    for account_id, kind, mode, owner in accounts:
        n = len(args)
        values.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, 0, 0, ${n + 5})")
        args += [account_id, kind, mode, owner, at]
    await tx.execute(
        "INSERT INTO ledger_accounts (id, kind, mode, owner_id, balance, held, created_at) VALUES "
        + ", ".join(values)
        + " ON CONFLICT (id) DO NOTHING",
        *args,
    )


class Ledger:
    def __init__(self, db: Database, ids: IdFactory, outbox: Outbox | None = None) -> None:
        self._db = db
        self._ids = ids
        self.outbox = outbox  # balance changes write their webhook events in the same transaction

    async def open_wallet_account(self, tx: Executor, wallet_id: str, mode: Mode) -> None:
        await ensure_account(tx, wallet_account(wallet_id), "wallet", mode, wallet_id)

    async def transfer(
        self,
        tx: Executor,
        *,
        key: str,
        debit: str,
        credit: str,
        amount: int,
        kind: str,
        request_id: str | None = None,
        reason: str | None = None,
    ) -> Transfer:
        """Post one transfer inside the caller's transaction. Idempotent by ``key``."""
        transfer = await self.record(
            tx, key=key, debit=debit, credit=credit, amount=amount, kind=kind, request_id=request_id, reason=reason
        )
        if transfer.created:
            await apply_deltas(tx, {debit: -amount, credit: amount})
        return transfer

    async def record(
        self,
        tx: Executor,
        *,
        key: str,
        debit: str,
        credit: str,
        amount: int,
        kind: str,
        request_id: str | None = None,
        reason: str | None = None,
    ) -> Transfer:
        """Write the transfer row only (idempotent by ``key``); the caller applies the balances
        with :func:`apply_deltas`, which must follow in the same transaction."""
        if not isinstance(amount, int) or amount <= 0:
            raise LedgerError(f"transfer amount must be a positive integer, got {amount!r}")
        if debit == credit:
            raise LedgerError("a transfer needs two different accounts")
        transfer_id = self._ids.new(TRANSFER)
        inserted = await tx.execute(
            "INSERT INTO ledger_transfers"
            " (id, idempotency_key, debit_account, credit_account, amount, kind, request_id, reason, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
            transfer_id,
            key,
            debit,
            credit,
            amount,
            kind,
            request_id,
            reason,
            now_us(),
        )
        if inserted == 0:
            row = await tx.fetchone(
                "SELECT id, debit_account, credit_account, amount, kind FROM ledger_transfers"
                " WHERE idempotency_key = $1",
                key,
            )
            assert row is not None
            same = (row["debit_account"], row["credit_account"], int(row["amount"]), row["kind"]) == (
                debit,
                credit,
                amount,
                kind,
            )
            if not same:
                raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different transfer")
            return Transfer(row["id"], key, debit, credit, amount, kind, created=False)
        return Transfer(transfer_id, key, debit, credit, amount, kind, created=True)

    async def credit_wallet(
        self,
        wallet_id: str,
        mode: Mode,
        amount: int,
        *,
        source: FundingSource,
        key: str,
        reason: str | None = None,
        tx: Executor | None = None,
    ) -> Transfer:
        """Fund a wallet from outside (a payment) or as a grant. Idempotent by ``key``."""
        if source not in FUNDING_SOURCES:
            raise LedgerError(f"unknown funding source {source!r}")
        if tx is None:
            async with self._db.transaction() as own:
                return await self.credit_wallet(wallet_id, mode, amount, source=source, key=key, reason=reason, tx=own)
        src = system_account(source, mode)
        await ensure_account(tx, src, source, mode, None)
        await ensure_account(tx, wallet_account(wallet_id), "wallet", mode, wallet_id)
        transfer = await self.transfer(
            tx,
            key=key,
            debit=src,
            credit=wallet_account(wallet_id),
            amount=amount,
            kind=source,
            reason=reason,
        )
        if transfer.created and self.outbox is not None:
            after = (await self.balance(wallet_account(wallet_id), tx)).balance
            await self.outbox.wallet_changed(tx, wallet_id, after - amount, after, usage=False)
        return transfer

    async def balance(self, account_id: str, tx: Executor | None = None) -> Balance:
        ex: Executor = tx if tx is not None else self._db
        row = await ex.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account_id)
        if row is None:
            return Balance(0, 0)
        return Balance(int(row["balance"]), int(row["held"]))

    async def wallet_balance(self, wallet_id: str, tx: Executor | None = None) -> Balance:
        return await self.balance(wallet_account(wallet_id), tx)


class InsufficientFunds(LedgerError):
    def __init__(self, amount: int, available: int) -> None:
        super().__init__(f"hold of {amount} units exceeds available {available} units")
        self.amount = amount
        self.available = available


@dataclass(frozen=True)
class ChargePart:
    """One component of a request's charge: who pays, who receives, how much, under which key."""

    name: str  # "base" | "fee" | "service_charge"
    amount: int
    payer: str  # "wallet" | "merchant"
    credit: str  # the receiving account


@dataclass(frozen=True)
class ChargeResult:
    wallet_paid: int
    merchant_paid: int
    shortfall: int  # wallet-payer amounts the wallet could not cover, paid by the merchant instead
    balance: Balance


async def place_hold(
    tx: Executor, *, wallet_id: str, request_id: str, amount: int, floor: int, at: int, expires_at: int
) -> None:
    """Reserve ``amount`` of the wallet for ``request_id``; raises InsufficientFunds."""
    assert amount >= 0
    assert floor >= 0
    account = wallet_account(wallet_id)
    changed = await tx.execute(
        "UPDATE ledger_accounts SET held = held + $1 WHERE id = $2 AND balance - held - $1 + $3 >= 0",
        amount,
        account,
        floor,
    )
    if changed != 1:
        row = await tx.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account)
        available = int(row["balance"]) - int(row["held"]) if row else 0
        raise InsufficientFunds(amount, available + floor)
    await tx.execute(
        "INSERT INTO ledger_holds (request_id, account_id, amount, status, created_at, expires_at)"
        " VALUES ($1, $2, $3, 'open', $4, $5)",
        request_id,
        account,
        amount,
        at,
        expires_at,
    )


async def close_hold(tx: Executor, request_id: str, status: str, at: int) -> bool:
    """End an open hold exactly once (settled, released or expired); False if it was not open."""
    assert status in ("settled", "released", "expired")
    row = await tx.fetchone(
        "UPDATE ledger_holds SET status = $1, closed_at = $2 WHERE request_id = $3 AND status = 'open'"
        " RETURNING account_id, amount",
        status,
        at,
        request_id,
    )
    if row is None:
        return False
    await tx.execute("UPDATE ledger_accounts SET held = held - $1 WHERE id = $2", int(row["amount"]), row["account_id"])
    return True


async def post_charge(
    ledger: Ledger,
    tx: Executor,
    *,
    request_id: str,
    wallet_id: str,
    merchant_id: str,
    mode: Mode,
    parts: list[ChargePart],
    floor: int,
    credits: CreditSources | None = None,
) -> ChargeResult:
    """Post a request's charge. Wallet-paid parts draw on the wallet down to ``−floor``;
    whatever the wallet cannot cover is paid by the merchant (recorded as shortfall), so a
    wallet never ends below its floor and no money appears or vanishes.

    With ``credits`` (a plan customer, docs/plans.md) wallet-paid parts draw cycle credits, then
    bundle credits, then the prepaid wallet, and the rest as debt on the cycle credits (§4.5):
    no shortfall."""
    wallet = wallet_account(wallet_id)
    revenue = merchant_revenue_account(merchant_id, mode)
    # Lock order, the same in every transaction that charges: the wallet first, then the
    # other accounts in id order (apply_deltas).
    current = await lock_balance(tx, wallet)
    await ensure_accounts(
        tx,
        [
            (revenue, "merchant_revenue", mode, merchant_id),
            (system_account("provider_cost", mode), "provider_cost", mode, None),
            (system_account("platform_service", mode), "platform_service", mode, None),
        ],
    )
    capacity = max(current.available + floor, 0)
    wallet_paid = merchant_paid = shortfall = 0
    deltas: dict[str, int] = {}

    async def move(debit: str, credit: str, amount: int, name: str, side: str) -> None:
        transfer = await ledger.record(
            tx,
            key=f"req:{request_id}:{name}:{side}",
            debit=debit,
            credit=credit,
            amount=amount,
            kind=name,
            request_id=request_id,
        )
        if transfer.created:
            deltas[debit] = deltas.get(debit, 0) - amount
            deltas[credit] = deltas.get(credit, 0) + amount

    if credits is not None:
        # Plan customer: cycle → bundle → prepaid, the rest as cycle debt (docs/plans.md).
        left = {"cycle": max(credits.cycle_balance, 0), "bundle": max(credits.bundle_balance, 0), "wallet": capacity}
        # Credits redeem to their issuer (the merchant was paid when they were bought); prepaid
        # money goes where the part says.
        sources = {"cycle": credits.cycle_account, "bundle": credits.bundle_account, "wallet": wallet}
        for part in [p for p in parts if p.payer == "wallet" and p.amount > 0]:
            rest = part.amount
            for side in ("cycle", "bundle", "wallet"):
                take = min(rest, left[side])
                if take:
                    to = part.credit if side == "wallet" else credits.issuer_account
                    await move(sources[side], to, take, part.name, side)
                    left[side] -= take
                    rest -= take
            if rest:
                await move(credits.cycle_account, credits.issuer_account, rest, part.name, "debt")
            wallet_paid += part.amount
        capacity = left["wallet"]
        parts = [p for p in parts if p.payer != "wallet"]
    for part in parts:
        if part.amount <= 0:
            continue
        from_wallet = min(part.amount, capacity) if part.payer == "wallet" else 0
        from_merchant = part.amount - from_wallet
        if part.payer == "wallet":
            shortfall += from_merchant
        capacity -= from_wallet
        if from_wallet:
            await move(wallet, part.credit, from_wallet, part.name, "wallet")
            wallet_paid += from_wallet
        if from_merchant and part.credit != revenue:
            await move(revenue, part.credit, from_merchant, part.name, "merchant")
        merchant_paid += from_merchant
    await apply_deltas(tx, deltas)
    moved = -deltas.get(wallet, 0)  # what this call took from the wallet (0 when replayed)
    if moved and ledger.outbox is not None:
        await ledger.outbox.wallet_changed(
            tx, wallet_id, current.balance, current.balance - moved, usage=True, crossings=credits is None
        )
    return ChargeResult(wallet_paid, merchant_paid, shortfall, Balance(current.balance - moved, current.held))


# The invariant checker lives in its own module; re-exported here so ``ledger.check`` reads naturally.
from .ledger_check import CheckReport, check  # noqa: E402
from .ledger_credits import CreditOwner, CreditSources, peek_credits, place_credit_hold, read_credits  # noqa: E402

__all__ = [
    "Balance",
    "ChargePart",
    "ChargeResult",
    "CheckReport",
    "CreditOwner",
    "CreditSources",
    "IdempotencyConflict",
    "InsufficientFunds",
    "Ledger",
    "LedgerError",
    "Transfer",
    "apply_deltas",
    "check",
    "close_hold",
    "ensure_account",
    "ensure_accounts",
    "lock_balance",
    "merchant_revenue_account",
    "peek_credits",
    "place_credit_hold",
    "place_hold",
    "post_charge",
    "read_credits",
    "system_account",
    "wallet_account",
]

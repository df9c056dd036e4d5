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

from typing import Literal

from ..clock import now_us
from ..ids import TRANSFER, IdFactory, Mode
from ..store import Database, Executor
from ..store.outbox import Outbox
from .accounts import merchant_revenue_account, system_account, wallet_account
from .ledger_rows import (
    Balance,
    IdempotencyConflict,
    LedgerError,
    Move,
    Transfer,
    apply_deltas,
    ensure_account,
    ensure_accounts,
    lock_balance,
)

FundingSource = Literal["external_funding", "granted_credit"]
FUNDING_SOURCES: tuple[FundingSource, ...] = ("external_funding", "granted_credit")


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

    async def record_many(self, tx: Executor, moves: list[Move], *, request_id: str | None) -> list[Move]:
        """Write several transfer rows in one statement (idempotent by key, like :meth:`record`)
        and return the moves that were new; the caller applies their balances in the same
        transaction. A key used before must name the same transfer (IdempotencyConflict)."""
        if not moves:
            return []
        at = now_us()
        values: list[str] = []
        args: list[object] = [request_id, at]
        for move in moves:
            if not isinstance(move.amount, int) or move.amount <= 0:
                raise LedgerError(f"transfer amount must be a positive integer, got {move.amount!r}")
            if move.debit == move.credit:
                raise LedgerError("a transfer needs two different accounts")
            n = len(args)
            values.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, ${n + 5}, ${n + 6}, $1, NULL, $2)")
            args += [self._ids.new(TRANSFER), move.key, move.debit, move.credit, move.amount, move.kind]
        rows = await tx.fetchall(
            "INSERT INTO ledger_transfers"
            " (id, idempotency_key, debit_account, credit_account, amount, kind, request_id, reason, created_at)"
            " VALUES " + ", ".join(values) + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
            *args,
        )
        inserted = {row["idempotency_key"] for row in rows}
        created: list[Move] = []
        for move in moves:
            if move.key in inserted:
                inserted.discard(move.key)  # a key twice in one batch is new once, then a replay
                created.append(move)
            else:  # replayed: it must be the very same transfer
                await self.record(
                    tx, key=move.key, debit=move.debit, credit=move.credit, amount=move.amount, kind=move.kind
                )
        return created

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


# The invariant checker lives in its own module; re-exported here so ``ledger.check`` reads naturally.
from .ledger_charges import ChargePart, ChargeResult, post_charge  # noqa: E402
from .ledger_check import CheckReport, check  # noqa: E402
from .ledger_credits import CreditOwner, CreditSources, peek_credits, place_credit_hold, read_credits  # noqa: E402
from .ledger_holds import (  # noqa: E402
    ConnectionInactive,
    HoldRelease,
    InsufficientFunds,
    close_hold,
    place_hold,
    settle_hold,
)

__all__ = [
    "Balance",
    "ChargePart",
    "ChargeResult",
    "CheckReport",
    "ConnectionInactive",
    "CreditOwner",
    "CreditSources",
    "HoldRelease",
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
    "settle_hold",
    "system_account",
    "wallet_account",
]

"""The ledger: the only code that changes a balance.

Model (double entry, TigerBeetle-style):
- Every money movement is one immutable transfer from a debit account to a credit
  account, identified by an idempotency key. Replaying a key with the same
  parameters is a no-op that returns the original transfer; replaying it with
  different parameters is an error.
- Account balances are signed integers in 10⁻¹⁰ USD. A transfer subtracts from the
  debit account and adds to the credit account in the same transaction as the
  transfer row, so the sum of all balances of one mode is always 0.

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

FundingSource = Literal["external_funding", "granted_credit"]
FUNDING_SOURCES: tuple[FundingSource, ...] = ("external_funding", "granted_credit")


class LedgerError(Exception):
    """A ledger operation was refused (bad amount, idempotency conflict, missing account)."""


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before for a different transfer."""


def wallet_account(wallet_id: str) -> str:
    return f"wallet:{wallet_id}"


def system_account(kind: str, mode: Mode) -> str:
    return f"{kind}:{mode}"


def merchant_revenue_account(merchant_id: str, mode: Mode) -> str:
    return f"merchant_revenue:{merchant_id}:{mode}"


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


class Ledger:
    def __init__(self, db: Database, ids: IdFactory) -> None:
        self._db = db
        self._ids = ids

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
        changed = await tx.execute("UPDATE ledger_accounts SET balance = balance - $1 WHERE id = $2", amount, debit)
        if changed != 1:
            raise LedgerError(f"unknown debit account {debit!r}")
        changed = await tx.execute("UPDATE ledger_accounts SET balance = balance + $1 WHERE id = $2", amount, credit)
        if changed != 1:
            raise LedgerError(f"unknown credit account {credit!r}")
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
        return await self.transfer(
            tx,
            key=key,
            debit=src,
            credit=wallet_account(wallet_id),
            amount=amount,
            kind=source,
            reason=reason,
        )

    async def balance(self, account_id: str, tx: Executor | None = None) -> Balance:
        ex: Executor = tx if tx is not None else self._db
        row = await ex.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account_id)
        if row is None:
            return Balance(0, 0)
        return Balance(int(row["balance"]), int(row["held"]))

    async def wallet_balance(self, wallet_id: str, tx: Executor | None = None) -> Balance:
        return await self.balance(wallet_account(wallet_id), tx)


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    accounts: int
    transfers: int
    problems: list[str]
    totals_by_mode: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "transfers": self.transfers,
            "sum_by_mode": self.totals_by_mode,
            "problems": self.problems,
        }


async def check(db: Database) -> CheckReport:
    """Verify every ledger invariant listed in the module docstring."""
    problems: list[str] = []
    accounts = await db.fetchall("SELECT id, kind, mode, balance, held FROM ledger_accounts")
    sums = await db.fetchall(
        "SELECT a.id AS id,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account = a.id), 0) AS credits,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account = a.id), 0) AS debits"
        " FROM ledger_accounts a"
    )
    by_id = {r["id"]: int(r["credits"]) - int(r["debits"]) for r in sums}
    totals: dict[str, int] = {}
    for acc in accounts:
        bal, held = int(acc["balance"]), int(acc["held"])
        if by_id.get(acc["id"], 0) != bal:
            problems.append(f"{acc['id']}: balance {bal} != sum of transfers {by_id.get(acc['id'], 0)}")
        if held < 0:
            problems.append(f"{acc['id']}: negative held {held}")
        totals[acc["mode"]] = totals.get(acc["mode"], 0) + bal
    for mode, total in totals.items():
        if total != 0:
            problems.append(f"mode {mode}: balances sum to {total}, not 0")
    transfers = int(await db.fetchval("SELECT COUNT(*) FROM ledger_transfers") or 0)
    return CheckReport(not problems, len(accounts), transfers, problems, totals)

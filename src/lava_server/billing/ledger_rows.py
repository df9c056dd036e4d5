"""Statement-level helpers on ledger rows, used only inside a ledger transaction: the ledger's
errors and value types, account creation, balance changes (one account at a time, or all of a
charge's in one upsert), the wallet lock, and a charge's transfers as one batch.

``billing/ledger.py`` is the API (it re-exports these names); this module holds the SQL that
keeps a billed call to a few statements (docs/benchmarks.md, lever 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..clock import now_us
from ..ids import Mode
from ..store import Executor


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


@dataclass(frozen=True)
class Move:
    """One transfer a charge wants to post (see :meth:`Ledger.record_many`)."""

    key: str
    debit: str
    credit: str
    amount: int
    kind: str


def deltas_of(moves: list[Move]) -> dict[str, int]:
    """Each account's net balance change from these transfers."""
    deltas: dict[str, int] = {}
    for move in moves:
        deltas[move.debit] = deltas.get(move.debit, 0) - move.amount
        deltas[move.credit] = deltas.get(move.credit, 0) + move.amount
    return deltas


async def upsert_deltas(
    tx: Executor, deltas: dict[str, int], kinds: dict[str, tuple[str, str | None]], mode: Mode
) -> None:
    """Apply balance changes in **one** statement, accounts in id order (the lock order of
    :func:`apply_deltas`), creating a system or merchant account on its first use.

    An account whose kind is unknown (``""``: a plan's credit accounts) must already exist; then
    the known accounts are created if missing and *all* changes go through :func:`apply_deltas`,
    so the lock order stays one id order across every account of the transaction."""
    known = {a: d for a, d in deltas.items() if d != 0 and kinds[a][0]}
    unknown = {a: d for a, d in deltas.items() if d != 0 and not kinds[a][0]}
    if unknown:
        if known:
            await ensure_accounts(tx, [(a, kinds[a][0], mode, kinds[a][1]) for a in sorted(known)])
        await apply_deltas(tx, {**known, **unknown})
        return
    if known:
        values: list[str] = []
        args: list[object] = [now_us(), mode]
        for account_id in sorted(known):
            kind, owner = kinds[account_id]
            n = len(args)
            values.append(f"(${n + 1}, ${n + 2}, $2, ${n + 3}, CAST(${n + 4} AS BIGINT), 0, $1)")
            args += [account_id, kind, owner, known[account_id]]
        await tx.execute(
            "INSERT INTO ledger_accounts (id, kind, mode, owner_id, balance, held, created_at) VALUES "
            + ", ".join(values)
            + " ON CONFLICT (id) DO UPDATE SET balance = ledger_accounts.balance + excluded.balance",
            *args,
        )

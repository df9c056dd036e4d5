"""Holds: reserving part of a wallet for a call in flight, and ending that reservation exactly once.

A hold is placed only if ``balance − held − amount ≥ −floor`` (one conditional UPDATE, so
concurrent calls cannot overspend), and it ends exactly once: settled, released or expired (a
conditional UPDATE on its status). Re-exported by :mod:`.ledger`, which callers use.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import Executor
from .accounts import wallet_account
from .ledger_rows import Balance, LedgerError


class InsufficientFunds(LedgerError):
    def __init__(self, amount: int, available: int) -> None:
        super().__init__(f"hold of {amount} units exceeds available {available} units")
        self.amount = amount
        self.available = available


class ConnectionInactive(LedgerError):
    """The hold was refused because the connection it is placed for is deleted (or unknown)."""


async def insert_open_hold(
    tx: Executor, *, request_id: str, account: str, amount: int, at: int, expires_at: int
) -> None:
    """Record an ``open`` hold of ``amount`` units on ``account`` for ``request_id``, created ``at``, expiring at ``expires_at``.

    Only the row: the caller has already raised the account's ``held`` by ``amount`` in ``tx``."""
    await tx.execute(
        "INSERT INTO ledger_holds (request_id, account_id, amount, status, created_at, expires_at)"
        " VALUES ($1, $2, $3, 'open', $4, $5)",
        request_id,
        account,
        amount,
        at,
        expires_at,
    )


async def place_hold(
    tx: Executor,
    *,
    wallet_id: str,
    request_id: str,
    amount: int,
    floor: int,
    at: int,
    expires_at: int,
    connection_id: str | None = None,
) -> None:
    """Reserve ``amount`` of the wallet for ``request_id``; raises InsufficientFunds.

    With ``connection_id``, the same guarded UPDATE also requires that connection to be live
    (raises ConnectionInactive otherwise), so a hold is two statements: the guarded ``held``
    bump and the hold row; the reasons for a refusal are read only when it is refused."""
    assert amount >= 0
    assert floor >= 0
    account = wallet_account(wallet_id)
    sql = "UPDATE ledger_accounts SET held = held + $1 WHERE id = $2 AND balance - held - $1 + $3 >= 0"
    args: list[object] = [amount, account, floor]
    if connection_id is not None:
        sql += " AND EXISTS (SELECT 1 FROM connections WHERE id = $4 AND deleted_at IS NULL)"
        args.append(connection_id)
    changed = await tx.execute(sql, *args)
    if changed != 1:
        if connection_id is not None:
            live = await tx.fetchone("SELECT deleted_at FROM connections WHERE id = $1", connection_id)
            if live is None or live["deleted_at"] is not None:
                raise ConnectionInactive(f"connection {connection_id!r} is deleted")
        row = await tx.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account)
        available = int(row["balance"]) - int(row["held"]) if row else 0
        raise InsufficientFunds(amount, available + floor)
    await insert_open_hold(tx, request_id=request_id, account=account, amount=amount, at=at, expires_at=expires_at)


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


@dataclass(frozen=True)
class HoldRelease:
    """What :func:`settle_hold` released: the hold's account and that account's balance after it."""

    account_id: str
    balance: Balance


async def settle_hold(tx: Executor, request_id: str, at: int) -> HoldRelease | None:
    """End an open hold as ``settled`` and release its amount, like :func:`close_hold`, and
    return its account's balance after the release — the row stays locked until the transaction
    ends, so the caller can charge that account without :func:`lock_balance`. ``None`` if the
    hold was not open."""
    row = await tx.fetchone(
        "UPDATE ledger_holds SET status = 'settled', closed_at = $1 WHERE request_id = $2 AND status = 'open'"
        " RETURNING account_id, amount",
        at,
        request_id,
    )
    if row is None:
        return None
    after = await tx.fetchone(
        "UPDATE ledger_accounts SET held = held - $1 WHERE id = $2 RETURNING balance, held",
        int(row["amount"]),
        row["account_id"],
    )
    if after is None:
        raise LedgerError(f"unknown ledger account {row['account_id']!r}")
    return HoldRelease(row["account_id"], Balance(int(after["balance"]), int(after["held"])))

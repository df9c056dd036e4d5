"""Wallets and connections (a connection links one wallet to one merchant)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ids import Mode
from .auth_epoch import bump_auth_epoch
from .base import Executor, Row
from .paging import fetch_page


@dataclass(frozen=True)
class WalletRecord:
    id: str
    mode: Mode
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    autopay_enabled: bool = False


@dataclass(frozen=True)
class ConnectionRecord:
    id: str
    merchant_id: str
    mode: Mode
    wallet_id: str
    secret_enc: str
    reference_id: str | None
    created_at: int
    deleted_at: int | None
    wallet: WalletRecord
    balance: int = 0
    held: int = 0
    metadata: str | None = None  # a JSON object (customer metadata), or None


_SELECT = (
    "SELECT c.id, c.merchant_id, c.mode, c.wallet_id, c.secret_enc, c.reference_id, c.created_at, c.deleted_at,"
    " c.metadata,"
    " w.email, w.phone, w.first_name, w.last_name, w.autopay_enabled,"
    " COALESCE(a.balance, 0) AS balance, COALESCE(a.held, 0) AS held"
    " FROM connections c JOIN wallets w ON w.id = c.wallet_id"
    " LEFT JOIN ledger_accounts a ON a.id = 'wallet:' || c.wallet_id"
)


def _record(row: Row) -> ConnectionRecord:
    wallet = WalletRecord(
        row["wallet_id"],
        row["mode"],
        row["email"],
        row["phone"],
        row["first_name"],
        row["last_name"],
        bool(row["autopay_enabled"]),
    )
    return ConnectionRecord(
        id=row["id"],
        merchant_id=row["merchant_id"],
        mode=row["mode"],
        wallet_id=row["wallet_id"],
        secret_enc=row["secret_enc"],
        reference_id=row["reference_id"],
        created_at=int(row["created_at"]),
        deleted_at=None if row["deleted_at"] is None else int(row["deleted_at"]),
        wallet=wallet,
        balance=int(row["balance"]),
        held=int(row["held"]),
        metadata=row["metadata"],
    )


async def insert_wallet(tx: Executor, wallet: WalletRecord, created_at: int) -> None:
    await tx.execute(
        "INSERT INTO wallets (id, mode, email, phone, first_name, last_name, autopay_enabled, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        wallet.id,
        wallet.mode,
        wallet.email,
        wallet.phone,
        wallet.first_name,
        wallet.last_name,
        1 if wallet.autopay_enabled else 0,
        created_at,
    )


async def insert_connection(
    tx: Executor,
    *,
    connection_id: str,
    merchant_id: str,
    mode: Mode,
    wallet_id: str,
    secret_hash: str,
    secret_enc: str,
    reference_id: str | None,
    created_at: int,
) -> None:
    await tx.execute(
        "INSERT INTO connections"
        " (id, merchant_id, mode, wallet_id, secret_hash, secret_enc, reference_id, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        connection_id,
        merchant_id,
        mode,
        wallet_id,
        secret_hash,
        secret_enc,
        reference_id,
        created_at,
    )


async def get_connection(ex: Executor, merchant_id: str, mode: Mode, connection_id: str) -> ConnectionRecord | None:
    row = await ex.fetchone(
        _SELECT + " WHERE c.id = $1 AND c.merchant_id = $2 AND c.mode = $3", connection_id, merchant_id, mode
    )
    return None if row is None else _record(row)


async def find_connection_by_secret(ex: Executor, secret_hash: str) -> ConnectionRecord | None:
    row = await ex.fetchone(_SELECT + " WHERE c.secret_hash = $1", secret_hash)
    return None if row is None else _record(row)


async def list_connections(
    ex: Executor, merchant_id: str, mode: Mode, *, reference_id: str | None, cursor: str | None, limit: int
) -> tuple[list[ConnectionRecord], bool]:
    where = ["c.merchant_id = $1", "c.mode = $2", "c.deleted_at IS NULL"]
    args: list[Any] = [merchant_id, mode]
    if reference_id is not None:
        args.append(reference_id)
        where.append(f"c.reference_id = ${len(args)}")
    rows, more = await fetch_page(
        ex, select=_SELECT, where=where, args=args, cursor=cursor, limit=limit, id_column="c.id"
    )
    return [_record(r) for r in rows], more


async def soft_delete_connection(tx: Executor, merchant_id: str, mode: Mode, connection_id: str, at: int) -> bool:
    """Mark deleted; returns False if there is no such live connection of this merchant."""
    row = await tx.fetchone(
        "SELECT deleted_at FROM connections WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        connection_id,
        merchant_id,
        mode,
    )
    if row is None:
        return False
    if row["deleted_at"] is None:
        await tx.execute("UPDATE connections SET deleted_at = $1 WHERE id = $2", at, connection_id)
        await bump_auth_epoch(tx)
    return True

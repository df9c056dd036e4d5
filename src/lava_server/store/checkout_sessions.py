"""Checkout sessions: created by a merchant backend, completed by the hosted checkout page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..ids import Mode
from .base import Executor, Row
from .paging import fetch_page


@dataclass(frozen=True)
class CheckoutSessionRecord:
    id: str
    merchant_id: str
    mode: Mode
    secret_enc: str
    checkout_mode: str
    origin_url: str
    reference_id: str | None
    connection_id: str | None
    created_at: int
    expires_at: int
    completed_at: int | None


_SELECT = (
    "SELECT id, merchant_id, mode, secret_enc, checkout_mode, origin_url, reference_id, connection_id,"
    " created_at, expires_at, completed_at FROM checkout_sessions"
)


def _record(row: Row) -> CheckoutSessionRecord:
    return CheckoutSessionRecord(
        id=row["id"],
        merchant_id=row["merchant_id"],
        mode=row["mode"],
        secret_enc=row["secret_enc"],
        checkout_mode=row["checkout_mode"],
        origin_url=row["origin_url"],
        reference_id=row["reference_id"],
        connection_id=row["connection_id"],
        created_at=int(row["created_at"]),
        expires_at=int(row["expires_at"]),
        completed_at=None if row["completed_at"] is None else int(row["completed_at"]),
    )


async def insert_checkout_session(tx: Executor, rec: CheckoutSessionRecord, secret_hash: str) -> None:
    await tx.execute(
        "INSERT INTO checkout_sessions (id, merchant_id, mode, secret_hash, secret_enc, checkout_mode, origin_url,"
        " reference_id, connection_id, created_at, expires_at, completed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        rec.id,
        rec.merchant_id,
        rec.mode,
        secret_hash,
        rec.secret_enc,
        rec.checkout_mode,
        rec.origin_url,
        rec.reference_id,
        rec.connection_id,
        rec.created_at,
        rec.expires_at,
        rec.completed_at,
    )


async def get_checkout_session(
    ex: Executor, merchant_id: str, mode: Mode, session_id: str
) -> CheckoutSessionRecord | None:
    row = await ex.fetchone(
        _SELECT + " WHERE id = $1 AND merchant_id = $2 AND mode = $3", session_id, merchant_id, mode
    )
    return None if row is None else _record(row)


async def find_checkout_session_by_secret(ex: Executor, secret_hash: str) -> CheckoutSessionRecord | None:
    row = await ex.fetchone(_SELECT + " WHERE secret_hash = $1", secret_hash)
    return None if row is None else _record(row)


async def list_checkout_sessions(
    ex: Executor, merchant_id: str, mode: Mode, *, reference_id: str | None, cursor: str | None, limit: int
) -> tuple[list[CheckoutSessionRecord], bool]:
    where = ["merchant_id = $1", "mode = $2"]
    args: list[Any] = [merchant_id, mode]
    if reference_id is not None:
        args.append(reference_id)
        where.append(f"reference_id = ${len(args)}")
    rows, more = await fetch_page(ex, select=_SELECT, where=where, args=args, cursor=cursor, limit=limit)
    return [_record(r) for r in rows], more


async def mark_completed(tx: Executor, session_id: str, connection_id: str, at: int) -> bool:
    """Complete a session exactly once; returns False if it was already completed."""
    changed = await tx.execute(
        "UPDATE checkout_sessions SET completed_at = $1, connection_id = $2 WHERE id = $3 AND completed_at IS NULL",
        at,
        connection_id,
        session_id,
    )
    return changed == 1

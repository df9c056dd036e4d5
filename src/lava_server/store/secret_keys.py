"""Secret keys as the current API manages them: list, get, count, revoke (hashes only, never the key)."""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import Mode
from .auth_epoch import bump_auth_epoch
from .base import Executor, Row
from .paging import fetch_live_page


@dataclass(frozen=True)
class SecretKeyRecord:
    """A secret key as listed: never the key, only its last 4 characters."""

    id: str
    merchant_id: str
    mode: Mode
    name: str | None
    hint: str  # the key's last 4 characters
    created_at: int


_SELECT = "SELECT id, merchant_id, mode, name, hint, created_at FROM secret_keys"


def _record(row: Row) -> SecretKeyRecord:
    return SecretKeyRecord(row["id"], row["merchant_id"], row["mode"], row["name"], row["hint"], int(row["created_at"]))


async def list_keys(
    ex: Executor, merchant_id: str, mode: Mode, *, cursor: str | None, limit: int
) -> tuple[list[SecretKeyRecord], bool]:
    """Unrevoked keys of one merchant and mode, newest first."""
    rows, more = await fetch_live_page(
        ex,
        select=_SELECT,
        merchant_id=merchant_id,
        mode=mode,
        ended_by="revoked_at",
        cursor=cursor,
        limit=limit,
    )
    return [_record(r) for r in rows], more


async def get_key(ex: Executor, merchant_id: str, mode: Mode, key_id: str) -> SecretKeyRecord | None:
    """An unrevoked key of this merchant and mode, by its ``key_`` id."""
    row = await ex.fetchone(
        _SELECT + " WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND revoked_at IS NULL",
        key_id,
        merchant_id,
        mode,
    )
    return None if row is None else _record(row)


async def count_live_keys(ex: Executor, merchant_id: str, mode: Mode) -> int:
    """How many unrevoked keys this merchant has in this mode."""
    value = await ex.fetchval(
        "SELECT COUNT(*) FROM secret_keys WHERE merchant_id = $1 AND mode = $2 AND revoked_at IS NULL",
        merchant_id,
        mode,
    )
    return int(value or 0)


async def revoke_key(tx: Executor, key_id: str, at: int) -> None:
    """Revoke one key and invalidate every replica's authentication caches in the same transaction."""
    await tx.execute("UPDATE secret_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", at, key_id)
    await bump_auth_epoch(tx)

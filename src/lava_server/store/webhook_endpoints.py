"""Webhook endpoints: one merchant's (and mode's) registered URLs and their encrypted secrets."""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import Mode
from .base import Executor, Row
from .paging import fetch_live_page


@dataclass(frozen=True)
class EndpointRecord:
    """A registered endpoint. ``secret_enc`` is the keyring ciphertext of its ``whsec_`` secret;
    ``failing_since`` is the first failure of the current failing streak (µs), cleared on success."""

    id: str
    merchant_id: str
    mode: Mode
    name: str
    url: str
    secret_enc: str
    created_at: int
    updated_at: int
    failing_since: int | None
    disabled_at: int | None


_SELECT = (
    "SELECT id, merchant_id, mode, name, url, secret_enc, created_at, updated_at, failing_since, disabled_at"
    " FROM webhook_endpoints"
)


def _record(row: Row) -> EndpointRecord:
    return EndpointRecord(
        id=row["id"],
        merchant_id=row["merchant_id"],
        mode=row["mode"],
        name=row["name"],
        url=row["url"],
        secret_enc=row["secret_enc"],
        created_at=int(row["created_at"]),
        updated_at=int(row["updated_at"]),
        failing_since=None if row["failing_since"] is None else int(row["failing_since"]),
        disabled_at=None if row["disabled_at"] is None else int(row["disabled_at"]),
    )


async def lock_merchant(tx: Executor, merchant_id: str) -> None:
    """Serialise endpoint creation per merchant (the per-merchant maximum holds under concurrency)."""
    await tx.execute("UPDATE merchants SET name = name WHERE id = $1", merchant_id)


async def count_endpoints(ex: Executor, merchant_id: str, mode: Mode) -> int:
    value = await ex.fetchval(
        "SELECT COUNT(*) FROM webhook_endpoints WHERE merchant_id = $1 AND mode = $2 AND deleted_at IS NULL",
        merchant_id,
        mode,
    )
    return int(value or 0)


async def insert_endpoint(tx: Executor, rec: EndpointRecord) -> None:
    await tx.execute(
        "INSERT INTO webhook_endpoints (id, merchant_id, mode, name, url, secret_enc, created_at, updated_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        rec.id,
        rec.merchant_id,
        rec.mode,
        rec.name,
        rec.url,
        rec.secret_enc,
        rec.created_at,
        rec.updated_at,
    )


async def get_endpoint(ex: Executor, merchant_id: str, mode: Mode, endpoint_id: str) -> EndpointRecord | None:
    """A merchant's endpoint in this mode, unless deleted."""
    row = await ex.fetchone(
        _SELECT + " WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND deleted_at IS NULL",
        endpoint_id,
        merchant_id,
        mode,
    )
    return None if row is None else _record(row)


async def get_endpoint_by_id(ex: Executor, endpoint_id: str) -> EndpointRecord | None:
    """Any endpoint by id, deleted ones included (the delivery worker checks liveness itself)."""
    row = await ex.fetchone(_SELECT + " WHERE id = $1", endpoint_id)
    return None if row is None else _record(row)


async def list_endpoints(
    ex: Executor, merchant_id: str, mode: Mode, *, cursor: str | None, limit: int
) -> tuple[list[EndpointRecord], bool]:
    rows, more = await fetch_live_page(
        ex,
        select=_SELECT,
        merchant_id=merchant_id,
        mode=mode,
        ended_by="deleted_at",
        cursor=cursor,
        limit=limit,
    )
    return [_record(r) for r in rows], more


async def update_endpoint(tx: Executor, endpoint_id: str, *, name: str, url: str, at: int) -> None:
    """Change name and URL; an edited endpoint is enabled again and its failing streak forgotten."""
    await tx.execute(
        "UPDATE webhook_endpoints SET name = $1, url = $2, updated_at = $3, disabled_at = NULL,"
        " failing_since = NULL WHERE id = $4",
        name,
        url,
        at,
        endpoint_id,
    )


async def delete_endpoint(tx: Executor, endpoint_id: str, at: int) -> None:
    """Soft delete; its pending deliveries end as failed."""
    await tx.execute("UPDATE webhook_endpoints SET deleted_at = $1 WHERE id = $2", at, endpoint_id)
    await fail_pending(tx, endpoint_id)


async def fail_pending(tx: Executor, endpoint_id: str) -> int:
    return await tx.execute(
        "UPDATE webhook_deliveries SET status = 'failed', lease_owner = NULL, lease_until = NULL"
        " WHERE endpoint_id = $1 AND status = 'pending'",
        endpoint_id,
    )


async def note_success(tx: Executor, endpoint_id: str) -> None:
    await tx.execute(
        "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1 AND failing_since IS NOT NULL", endpoint_id
    )


async def note_failure(tx: Executor, endpoint_id: str, at: int, disable_after_us: int) -> bool:
    """Start or extend the failing streak; disable the endpoint once it has failed for
    ``disable_after_us``. Returns True when this call disabled it."""
    await tx.execute(
        "UPDATE webhook_endpoints SET failing_since = $1 WHERE id = $2 AND failing_since IS NULL", at, endpoint_id
    )
    disabled = await tx.execute(
        "UPDATE webhook_endpoints SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL"
        " AND deleted_at IS NULL AND failing_since <= $3",
        at,
        endpoint_id,
        at - disable_after_us,
    )
    if disabled:
        await fail_pending(tx, endpoint_id)
    return bool(disabled)

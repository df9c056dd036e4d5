"""Customers: connections seen by the current API (same rows; contact fields live on the wallet)."""

from __future__ import annotations

from typing import Any

from ..ids import Mode, id_pattern
from .base import Executor
from .connections import _SELECT, ConnectionRecord, _record

_CONNECTION_ID = id_pattern("con")


async def find_customer(ex: Executor, merchant_id: str, mode: Mode, ref: str) -> ConnectionRecord | None:
    """A customer of this merchant and mode named by its ``con_`` id or its reference_id (deleted
    ones included: callers decide between 404 and ``customer_inactive``)."""
    if _CONNECTION_ID.match(ref):
        where = " WHERE c.id = $1 AND c.merchant_id = $2 AND c.mode = $3"
    else:
        where = " WHERE c.reference_id = $1 AND c.merchant_id = $2 AND c.mode = $3 ORDER BY c.deleted_at IS NOT NULL, c.id DESC"
    row = await ex.fetchone(_SELECT + where, ref, merchant_id, mode)
    return None if row is None else _record(row)


async def find_live_by_reference(
    ex: Executor, merchant_id: str, mode: Mode, reference_id: str
) -> ConnectionRecord | None:
    """The live customer with this reference_id in this merchant and mode, if any."""
    row = await ex.fetchone(
        _SELECT + " WHERE c.reference_id = $1 AND c.merchant_id = $2 AND c.mode = $3 AND c.deleted_at IS NULL",
        reference_id,
        merchant_id,
        mode,
    )
    return None if row is None else _record(row)


async def update_customer(
    tx: Executor, customer: ConnectionRecord, *, connection: dict[str, Any], wallet: dict[str, Any]
) -> None:
    """Set connection columns (``reference_id``, ``metadata``) and wallet contact columns
    (``email``, ``phone``, ``first_name``, ``last_name``); the keys are trusted column names."""
    for table, row_id, values in (("connections", customer.id, connection), ("wallets", customer.wallet_id, wallet)):
        if not values:
            continue
        names = sorted(values)
        sets = ", ".join(f"{name} = ${i + 1}" for i, name in enumerate(names))
        await tx.execute(f"UPDATE {table} SET {sets} WHERE id = ${len(names) + 1}", *[values[n] for n in names], row_id)

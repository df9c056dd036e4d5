"""Meters: products seen by the current API (a meter IS a product row with a ``meter_slug``)."""

from __future__ import annotations

from typing import Any

from ..ids import Mode
from .auth_epoch import bump_auth_epoch
from .base import Executor
from .merchants import PRODUCT_COLUMNS, ProductRecord, _product
from .paging import fetch_live_page

_SELECT = "SELECT " + PRODUCT_COLUMNS + " FROM products"


async def list_meters(
    ex: Executor, merchant_id: str, mode: Mode, *, cursor: str | None, limit: int
) -> tuple[list[ProductRecord], bool]:
    """Live meters of one merchant and mode, newest first."""
    rows, more = await fetch_live_page(
        ex,
        select=_SELECT,
        merchant_id=merchant_id,
        mode=mode,
        ended_by="deleted_at",
        cursor=cursor,
        limit=limit,
    )
    return [_product(r) for r in rows], more


async def get_meter(ex: Executor, merchant_id: str, mode: Mode, meter_id: str) -> ProductRecord | None:
    """A live meter by its ``prd_`` id (None when unknown, another merchant's or mode's, or deleted)."""
    row = await ex.fetchone(
        _SELECT + " WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND deleted_at IS NULL",
        meter_id,
        merchant_id,
        mode,
    )
    return None if row is None else _product(row)


async def find_meter(ex: Executor, merchant_id: str, mode: Mode, slug_or_id: str) -> ProductRecord | None:
    """A live meter named by its slug or by its ``prd_`` id (docs/current-api.md "Vocabulary")."""
    row = await ex.fetchone(
        _SELECT + " WHERE merchant_id = $1 AND mode = $2 AND deleted_at IS NULL AND (meter_slug = $3 OR id = $3)",
        merchant_id,
        mode,
        slug_or_id,
    )
    return None if row is None else _product(row)


async def slug_taken(ex: Executor, merchant_id: str, mode: Mode, slug: str) -> bool:
    """Whether a live meter of this merchant and mode already uses ``slug``."""
    row = await ex.fetchone(
        "SELECT id FROM products WHERE merchant_id = $1 AND mode = $2 AND meter_slug = $3 AND deleted_at IS NULL",
        merchant_id,
        mode,
        slug,
    )
    return row is not None


async def update_meter(tx: Executor, meter_id: str, *, name: str | None, config_json: str | None) -> None:
    """Replace the name and/or the pricing configuration (None leaves a field as it is)."""
    sets: list[str] = []
    args: list[Any] = []
    if name is not None:
        args.append(name)
        sets.append(f"name = ${len(args)}")
    if config_json is not None:
        args.append(config_json)
        sets.append(f"config = ${len(args)}")
    if not sets:
        return
    args.append(meter_id)
    await tx.execute(f"UPDATE products SET {', '.join(sets)} WHERE id = ${len(args)}", *args)
    await bump_auth_epoch(tx)  # cached forward authentication carries the pricing: re-read it everywhere


async def soft_delete_meter(tx: Executor, merchant_id: str, mode: Mode, meter_id: str, at: int) -> bool:
    """Mark a live meter deleted (its past requests keep their recorded price); False if not found."""
    changed = await tx.execute(
        "UPDATE products SET deleted_at = $1 WHERE id = $2 AND merchant_id = $3 AND mode = $4 AND deleted_at IS NULL",
        at,
        meter_id,
        merchant_id,
        mode,
    )
    if changed:
        await bump_auth_epoch(tx)
    return bool(changed)

"""Subscriptions (docs/plans.md): rows, reads and conditional writes. The rules live in
``billing/subscriptions.py`` and ``billing/renewals.py``; credit balances live in the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

from ..ids import Mode
from .base import Executor
from .paging import fetch_page

Status = Literal["active", "cancelled"]

COLUMNS = (
    "id, merchant_id, mode, connection_id, wallet_id, plan_id, status, plan_snapshot, auto_top_up_bundle_id,"
    " payment_method, pending_change, started_at, anchor_at, anchor_cycle, cycle_number, cycle_start_at,"
    " cycle_end_at, cancelled_at, renewal_failures, past_due_since, next_attempt_at, topup_seq,"
    " topup_blocked_until, topup_requested, created_at"
)


@dataclass(frozen=True)
class SubscriptionRecord:
    """One subscription. ``plan_snapshot`` is the plan in force this cycle (units);
    ``pending_change`` is ``{type: cancellation|downgrade, plan_id?}`` or None."""

    id: str
    merchant_id: str
    mode: Mode
    connection_id: str
    wallet_id: str
    plan_id: str
    status: Status
    plan_snapshot: dict[str, Any]
    auto_top_up_bundle_id: str | None
    payment_method: str | None
    pending_change: dict[str, Any] | None
    started_at: int
    anchor_at: int
    anchor_cycle: int
    cycle_number: int
    cycle_start_at: int
    cycle_end_at: int
    cancelled_at: int | None
    renewal_failures: int
    past_due_since: int | None
    next_attempt_at: int
    topup_seq: int
    topup_blocked_until: int
    topup_requested: bool
    created_at: int


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)


def record(row: dict[str, Any]) -> SubscriptionRecord:
    return SubscriptionRecord(
        row["id"],
        row["merchant_id"],
        row["mode"],
        row["connection_id"],
        row["wallet_id"],
        row["plan_id"],
        row["status"],
        orjson.loads(row["plan_snapshot"]),
        row["auto_top_up_bundle_id"],
        row["payment_method"],
        orjson.loads(row["pending_change"]) if row["pending_change"] else None,
        int(row["started_at"]),
        int(row["anchor_at"]),
        int(row["anchor_cycle"]),
        int(row["cycle_number"]),
        int(row["cycle_start_at"]),
        int(row["cycle_end_at"]),
        _opt(row["cancelled_at"]),
        int(row["renewal_failures"]),
        _opt(row["past_due_since"]),
        int(row["next_attempt_at"]),
        int(row["topup_seq"]),
        int(row["topup_blocked_until"]),
        bool(row["topup_requested"]),
        int(row["created_at"]),
    )


async def insert(ex: Executor, sub: SubscriptionRecord) -> None:
    await ex.execute(
        f"INSERT INTO subscriptions ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,"
        " $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
        sub.id,
        sub.merchant_id,
        sub.mode,
        sub.connection_id,
        sub.wallet_id,
        sub.plan_id,
        sub.status,
        orjson.dumps(sub.plan_snapshot).decode(),
        sub.auto_top_up_bundle_id,
        sub.payment_method,
        None if sub.pending_change is None else orjson.dumps(sub.pending_change).decode(),
        sub.started_at,
        sub.anchor_at,
        sub.anchor_cycle,
        sub.cycle_number,
        sub.cycle_start_at,
        sub.cycle_end_at,
        sub.cancelled_at,
        sub.renewal_failures,
        sub.past_due_since,
        sub.next_attempt_at,
        sub.topup_seq,
        sub.topup_blocked_until,
        1 if sub.topup_requested else 0,
        sub.created_at,
    )


async def update(ex: Executor, sub_id: str, fields: dict[str, Any], *, only_if_cycle: int | None = None) -> bool:
    """Set columns (``plan_snapshot``/``pending_change`` as dicts). With ``only_if_cycle`` the write
    happens only while the row is still at that cycle and active: False when another worker won."""
    sets, args = [], []
    for name, value in fields.items():
        if name in ("plan_snapshot", "pending_change") and value is not None:
            value = orjson.dumps(value).decode()
        if name == "topup_requested":
            value = 1 if value else 0
        args.append(value)
        sets.append(f"{name} = ${len(args)}")
    args.append(sub_id)
    where = f"id = ${len(args)}"
    if only_if_cycle is not None:
        args.append(only_if_cycle)
        where += f" AND cycle_number = ${len(args)} AND status = 'active'"
    return await ex.execute(f"UPDATE subscriptions SET {', '.join(sets)} WHERE {where}", *args) == 1


async def get(ex: Executor, sub_id: str) -> SubscriptionRecord | None:
    row = await ex.fetchone(f"SELECT {COLUMNS} FROM subscriptions WHERE id = $1", sub_id)
    return None if row is None else record(row)


async def get_for_merchant(ex: Executor, merchant_id: str, mode: Mode, sub_id: str) -> SubscriptionRecord | None:
    row = await ex.fetchone(
        f"SELECT {COLUMNS} FROM subscriptions WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        sub_id,
        merchant_id,
        mode,
    )
    return None if row is None else record(row)


async def active_for(ex: Executor, connection_id: str) -> SubscriptionRecord | None:
    row = await ex.fetchone(
        f"SELECT {COLUMNS} FROM subscriptions WHERE connection_id = $1 AND status = 'active'", connection_id
    )
    return None if row is None else record(row)


async def ever_subscribed(ex: Executor, connection_id: str) -> bool:
    row = await ex.fetchone("SELECT id FROM subscriptions WHERE connection_id = $1 LIMIT 1", connection_id)
    return row is not None


async def list_for_merchant(
    ex: Executor,
    merchant_id: str,
    mode: Mode,
    *,
    status: str,
    connection_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[SubscriptionRecord], bool]:
    """``status`` is ``active``, ``cancelled`` or ``all``; newest first."""
    where = ["merchant_id = $1", "mode = $2"]
    args: list[Any] = [merchant_id, mode]
    if status != "all":
        args.append(status)
        where.append(f"status = ${len(args)}")
    if connection_id is not None:
        args.append(connection_id)
        where.append(f"connection_id = ${len(args)}")
    rows, more = await fetch_page(
        ex, select=f"SELECT {COLUMNS} FROM subscriptions", where=where, args=args, cursor=cursor, limit=limit
    )
    return [record(r) for r in rows], more

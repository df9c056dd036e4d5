"""Plans and credit bundles (docs/plans.md): rows, reads and writes. Validation lives in
``accounts/plans.py``; money is integer units, times are microseconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from ..clock import now_us
from ..ids import Mode
from .base import Executor
from .paging import fetch_live_page, fetch_page

Interval = Literal["day", "week", "month", "year"]
Rollover = Literal["full", "none"]
INTERVALS: tuple[Interval, ...] = ("day", "week", "month", "year")
ROLLOVERS: tuple[Rollover, ...] = ("full", "none")

PLAN_COLUMNS = (
    "id, merchant_id, mode, name, period_amount, billing_interval, included_credit, rollover_type,"
    " bundle_rollover_type, default_auto_top_up_bundle_id, meter_ids, is_default, created_at, deleted_at"
)
BUNDLE_COLUMNS = "id, plan_id, merchant_id, mode, name, cost, credit_amount, created_at, deleted_at"


@dataclass(frozen=True)
class BundleRecord:
    """A credit bundle of a plan: ``cost`` charged, ``credit_amount`` granted (units)."""

    id: str
    plan_id: str
    merchant_id: str
    mode: Mode
    name: str
    cost: int
    credit_amount: int
    created_at: int
    deleted_at: int | None = None


@dataclass(frozen=True)
class PlanRecord:
    """A plan (a "subscription config"). ``meter_ids`` empty admits every meter (docs/plans.md)."""

    id: str
    merchant_id: str
    mode: Mode
    name: str
    period_amount: int
    billing_interval: Interval
    included_credit: int
    rollover_type: Rollover
    bundle_rollover_type: Rollover
    default_auto_top_up_bundle_id: str | None
    meter_ids: tuple[str, ...]
    is_default: bool
    created_at: int
    deleted_at: int | None = None
    bundles: tuple[BundleRecord, ...] = field(default=())

    @property
    def is_free(self) -> bool:
        return self.period_amount == 0

    def snapshot(self) -> dict[str, Any]:
        """What a subscription keeps for its current cycle (its ``plan`` object, in units)."""
        return {
            "name": self.name,
            "period_amount": self.period_amount,
            "included_credit": self.included_credit,
            "billing_interval": self.billing_interval,
            "rollover_type": self.rollover_type,
            "bundle_rollover_type": self.bundle_rollover_type,
        }


def _bundle(row: dict[str, Any]) -> BundleRecord:
    return BundleRecord(
        row["id"],
        row["plan_id"],
        row["merchant_id"],
        row["mode"],
        row["name"],
        int(row["cost"]),
        int(row["credit_amount"]),
        int(row["created_at"]),
        None if row["deleted_at"] is None else int(row["deleted_at"]),
    )


def _plan(row: dict[str, Any], bundles: tuple[BundleRecord, ...]) -> PlanRecord:
    return PlanRecord(
        row["id"],
        row["merchant_id"],
        row["mode"],
        row["name"],
        int(row["period_amount"]),
        row["billing_interval"],
        int(row["included_credit"]),
        row["rollover_type"],
        row["bundle_rollover_type"],
        row["default_auto_top_up_bundle_id"],
        tuple(orjson.loads(row["meter_ids"] or "[]")),
        bool(row["is_default"]),
        int(row["created_at"]),
        None if row["deleted_at"] is None else int(row["deleted_at"]),
        bundles,
    )


async def _bundles_of(ex: Executor, plan_ids: list[str]) -> dict[str, list[BundleRecord]]:
    out: dict[str, list[BundleRecord]] = {p: [] for p in plan_ids}
    for plan_id in plan_ids:
        rows = await ex.fetchall(
            f"SELECT {BUNDLE_COLUMNS} FROM credit_bundles WHERE plan_id = $1 AND deleted_at IS NULL ORDER BY id",
            plan_id,
        )
        out[plan_id] = [_bundle(r) for r in rows]
    return out


async def insert_plan(ex: Executor, plan: PlanRecord) -> None:
    await ex.execute(
        f"INSERT INTO plans ({PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        plan.id,
        plan.merchant_id,
        plan.mode,
        plan.name,
        plan.period_amount,
        plan.billing_interval,
        plan.included_credit,
        plan.rollover_type,
        plan.bundle_rollover_type,
        plan.default_auto_top_up_bundle_id,
        orjson.dumps(list(plan.meter_ids)).decode(),
        1 if plan.is_default else 0,
        plan.created_at,
        plan.deleted_at,
    )


async def update_plan(ex: Executor, plan_id: str, fields: dict[str, Any]) -> None:
    """Set the given columns (``meter_ids`` as a tuple/list; serialised here)."""
    if not fields:
        return
    sets, args = [], []
    for i, (name, value) in enumerate(fields.items(), start=1):
        sets.append(f"{name} = ${i}")
        args.append(orjson.dumps(list(value)).decode() if name == "meter_ids" else value)
    await ex.execute(f"UPDATE plans SET {', '.join(sets)} WHERE id = ${len(args) + 1}", *args, plan_id)


async def insert_bundle(ex: Executor, bundle: BundleRecord) -> None:
    await ex.execute(
        f"INSERT INTO credit_bundles ({BUNDLE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        bundle.id,
        bundle.plan_id,
        bundle.merchant_id,
        bundle.mode,
        bundle.name,
        bundle.cost,
        bundle.credit_amount,
        bundle.created_at,
        bundle.deleted_at,
    )


async def update_bundle(ex: Executor, bundle_id: str, name: str, cost: int, credit_amount: int) -> None:
    await ex.execute(
        "UPDATE credit_bundles SET name = $1, cost = $2, credit_amount = $3 WHERE id = $4",
        name,
        cost,
        credit_amount,
        bundle_id,
    )


async def delete_bundle(ex: Executor, bundle_id: str, at: int) -> None:
    await ex.execute("UPDATE credit_bundles SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL", at, bundle_id)


async def get_plan(ex: Executor, merchant_id: str, mode: Mode, plan_id: str) -> PlanRecord | None:
    """A live plan of this merchant and mode, with its live bundles (None otherwise)."""
    row = await ex.fetchone(
        f"SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND deleted_at IS NULL",
        plan_id,
        merchant_id,
        mode,
    )
    if row is None:
        return None
    bundles = await _bundles_of(ex, [row["id"]])
    return _plan(row, tuple(bundles[row["id"]]))


async def get_plan_any(ex: Executor, plan_id: str) -> PlanRecord | None:
    """A plan by id, deleted or not (renewals read the plan a subscription points at)."""
    row = await ex.fetchone(f"SELECT {PLAN_COLUMNS} FROM plans WHERE id = $1", plan_id)
    if row is None:
        return None
    bundles = await _bundles_of(ex, [row["id"]])
    return _plan(row, tuple(bundles[row["id"]]))


async def default_plan(ex: Executor, merchant_id: str, mode: Mode) -> PlanRecord | None:
    row = await ex.fetchone(
        f"SELECT {PLAN_COLUMNS} FROM plans WHERE merchant_id = $1 AND mode = $2 AND is_default = 1",
        merchant_id,
        mode,
    )
    if row is None:
        return None
    bundles = await _bundles_of(ex, [row["id"]])
    return _plan(row, tuple(bundles[row["id"]]))


async def list_plans(
    ex: Executor, merchant_id: str, mode: Mode, *, cursor: str | None, limit: int
) -> tuple[list[PlanRecord], bool]:
    rows, more = await fetch_live_page(
        ex,
        select=f"SELECT {PLAN_COLUMNS} FROM plans",
        merchant_id=merchant_id,
        mode=mode,
        ended_by="deleted_at",
        cursor=cursor,
        limit=limit,
    )
    bundles = await _bundles_of(ex, [r["id"] for r in rows])
    return [_plan(r, tuple(bundles[r["id"]])) for r in rows], more


async def get_bundle(ex: Executor, merchant_id: str, mode: Mode, bundle_id: str) -> BundleRecord | None:
    row = await ex.fetchone(
        f"SELECT {BUNDLE_COLUMNS} FROM credit_bundles"
        " WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND deleted_at IS NULL",
        bundle_id,
        merchant_id,
        mode,
    )
    return None if row is None else _bundle(row)


async def list_bundles(
    ex: Executor, merchant_id: str, mode: Mode, *, plan_id: str | None, cursor: str | None, limit: int
) -> tuple[list[BundleRecord], bool]:
    where = ["merchant_id = $1", "mode = $2", "deleted_at IS NULL"]
    args: list[Any] = [merchant_id, mode]
    if plan_id is not None:
        where.append("plan_id = $3")
        args.append(plan_id)
    rows, more = await fetch_page(
        ex,
        select=f"SELECT {BUNDLE_COLUMNS} FROM credit_bundles",
        where=where,
        args=args,
        cursor=cursor,
        limit=limit,
    )
    return [_bundle(r) for r in rows], more


async def ensure_default_plan(ex: Executor, new_id: str, merchant_id: str, mode: Mode) -> PlanRecord:
    """The merchant's default free plan (``Free``: $0, monthly, no credit, rollover ``none``,
    bundle rollover ``full``, no meters), inserted under ``new_id`` on first use. A partial unique
    index keeps one per merchant and mode even when two replicas race."""
    found = await default_plan(ex, merchant_id, mode)
    if found is not None:
        return found
    await ex.execute(
        "INSERT INTO plans (id, merchant_id, mode, name, period_amount, billing_interval, included_credit,"
        " rollover_type, bundle_rollover_type, meter_ids, is_default, created_at)"
        " VALUES ($1, $2, $3, 'Free', 0, 'month', 0, 'none', 'full', '[]', 1, $4)"
        " ON CONFLICT (merchant_id, mode) WHERE is_default = 1 DO NOTHING",
        new_id,
        merchant_id,
        mode,
        now_us(),
    )
    found = await default_plan(ex, merchant_id, mode)
    assert found is not None
    return found

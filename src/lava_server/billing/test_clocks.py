"""Test clocks (beyond Lava; as Stripe has them): a test-mode merchant freezes a time, attaches
customers, and advances it; renewals, rollovers, expiries and top-ups of attached customers then
run at the clock's time, synchronously, as they would in real time. The real-time scheduler never
touches an attached customer.

Attaching re-anchors the customer's subscription on the clock's time; only before its first
renewal (409 ``clock_attach_conflict`` after), so no past cycle is rewritten.
"""

from __future__ import annotations

from typing import Any

from ..errors import ApiError, invalid_request
from ..ids import IdFactory
from ..store import Database, Executor
from ..store import subscriptions as sub_repo
from ..store.merchants import MerchantKey
from ..store.paging import fetch_page
from . import subscriptions as subs
from .offsession import ChargerFor
from .renewals import DueReport, run_due

CLOCK = "clock"
MAX_CLOCKS = 100


def _require_test(key: MerchantKey) -> None:
    if key.mode != "test":
        raise ApiError(400, "test_mode_only", "test clocks exist only in test mode (use a test secret key)")


async def create(
    db: Database, ids: IdFactory, key: MerchantKey, *, frozen_time: int, name: str | None, at: int
) -> dict[str, Any]:
    """A new clock frozen at ``frozen_time`` (µs). 400 ``test_mode_only`` for live keys."""
    _require_test(key)
    count = int(await db.fetchval("SELECT COUNT(*) FROM test_clocks WHERE merchant_id = $1", key.merchant_id))
    if count >= MAX_CLOCKS:
        raise invalid_request(f"at most {MAX_CLOCKS} test clocks per merchant")
    clock_id = ids.new(CLOCK, "test")
    await db.execute(
        "INSERT INTO test_clocks (id, merchant_id, name, frozen_time, created_at) VALUES ($1, $2, $3, $4, $5)",
        clock_id,
        key.merchant_id,
        name,
        frozen_time,
        at,
    )
    return await get(db, key, clock_id)


async def get(ex: Executor, key: MerchantKey, clock_id: str) -> dict[str, Any]:
    _require_test(key)
    row = await ex.fetchone(
        "SELECT id, name, frozen_time, created_at FROM test_clocks WHERE id = $1 AND merchant_id = $2",
        clock_id,
        key.merchant_id,
    )
    if row is None:
        raise ApiError(404, "not_found", "test clock not found")
    return dict(row)


async def list_clocks(
    ex: Executor, key: MerchantKey, *, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """One page of the merchant's clocks, newest first (keyset on the id, like every list):
    (rows, has_more). ``cursor`` is the last id of the previous page; ``limit`` 1..100."""
    _require_test(key)
    rows, more = await fetch_page(
        ex,
        select="SELECT id, name, frozen_time, created_at FROM test_clocks",
        where=["merchant_id = $1"],
        args=[key.merchant_id],
        cursor=cursor,
        limit=limit,
    )
    return [dict(r) for r in rows], more


async def attach(db: Database, key: MerchantKey, clock_id: str, connection_id: str) -> None:
    """Put a customer on the clock; its active subscription restarts its cycle at the clock's time."""
    async with db.transaction() as tx:
        clock = await get(tx, key, clock_id)
        at = int(clock["frozen_time"])
        row = await tx.fetchone(
            "SELECT wallet_id FROM connections WHERE id = $1 AND merchant_id = $2 AND mode = 'test'",
            connection_id,
            key.merchant_id,
        )
        if row is None:
            raise ApiError(404, "not_found", "customer not found")
        await tx.execute("UPDATE connections SET test_clock_id = $1 WHERE id = $2", clock_id, connection_id)
        sub = await sub_repo.active_for(tx, connection_id)
        if sub is None:
            return
        if sub.cycle_number != sub.anchor_cycle or sub.renewal_failures:
            raise ApiError(409, "clock_attach_conflict", "attach a clock before the subscription's first renewal")
        end = subs.add_intervals(at, sub.plan_snapshot["billing_interval"], 1)
        await sub_repo.update(
            tx,
            sub.id,
            {
                "started_at": at,
                "anchor_at": at,
                "cycle_start_at": at,
                "cycle_end_at": end,
                "next_attempt_at": end,
            },
        )


async def advance(
    db: Database,
    deps: subs.PlanDeps,
    charger: ChargerFor,
    key: MerchantKey,
    clock_id: str,
    to: int,
) -> tuple[dict[str, Any], DueReport]:
    """Move the clock forward to ``to`` (µs; never back: 400) and run everything due for its
    customers up to then. Safe to repeat or race: each step is exactly-once."""
    async with db.transaction() as tx:
        clock = await get(tx, key, clock_id)
        if to < int(clock["frozen_time"]):
            raise invalid_request("a test clock only moves forward")
        await tx.execute("UPDATE test_clocks SET frozen_time = $1 WHERE id = $2 AND frozen_time <= $1", to, clock_id)
    report = await run_due(deps, charger, db, now=to, clock_id=clock_id)
    return await get(db, key, clock_id), report

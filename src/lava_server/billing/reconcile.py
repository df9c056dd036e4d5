"""Finishing what a crash or a lost client left open: expired holds and orphaned pending requests.

- A hold that outlives its expiry is released and its request marked ``error`` (nothing is
  charged: its usage was never learned).
- At start-up with the embedded SQLite store, a single server owns the file, so every
  ``pending`` request is an orphan of a previous run and is reconciled at once. With
  PostgreSQL several replicas share the store, so only expired holds are reconciled; a
  sweeper does that periodically on every replica.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..clock import now_us
from . import ledger, merchant_wallet, spend_limits
from .deps import BillingDeps

log = logging.getLogger("lava.billing")
ORPHAN_ERROR = "gateway stopped before the call finished; hold released, nothing charged"


async def reconcile(svc: BillingDeps, *, all_pending: bool) -> int:
    """Release expired (or, with ``all_pending``, all) open holds and fail their requests."""
    at = now_us()
    where = "" if all_pending else " AND created_at < $1"
    args: list[Any] = [] if all_pending else [at - _max_age_us(svc)]
    pending = await svc.db.fetchall(f"SELECT id FROM requests WHERE status = 'pending'{where} ORDER BY id", *args)
    holds = await svc.db.fetchall(
        "SELECT request_id FROM ledger_holds WHERE status = 'open'" + ("" if all_pending else " AND expires_at < $1"),
        *([] if all_pending else [at]),
    )
    ids = sorted({r["id"] for r in pending} | {h["request_id"] for h in holds})
    done = 0
    for request_id in ids:
        async with svc.db.transaction() as tx:
            await ledger.close_hold(tx, request_id, "expired", at)
            # the call's worst case stops counting against its spend key and the merchant wallet
            await spend_limits.release(tx, request_id)
            await merchant_wallet.release(tx, request_id)
            changed = await tx.execute(
                "UPDATE requests SET status = 'error', error = $1, completed_at = $2 WHERE id = $3 AND status = 'pending'",
                ORPHAN_ERROR,
                at,
                request_id,
            )
            done += changed
    if done:
        log.warning("reconciled %d orphaned request(s)", done)
    return done


def _max_age_us(svc: BillingDeps) -> int:
    return int(svc.settings.limits.hold_lifetime_s * 1_000_000)


async def sweeper(svc: BillingDeps, interval_s: float) -> None:
    """Periodically reconcile expired holds until cancelled."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await reconcile(svc, all_pending=False)
        except Exception:  # a failed sweep is retried next interval; never kill the server
            log.exception("hold sweeper failed")

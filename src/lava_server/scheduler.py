"""The renewal scheduler: one durable, replica-safe loop for cycle ends and auto top-ups.

Every replica runs the loop; a lease row in ``scheduler_leases`` lets one of them work at a time
(the holder renews it each tick; a replica that dies leaves a lease that expires after
``LEASE_S``, after which another takes over). The lease only saves duplicate work: correctness
does not depend on it, since every step is exactly-once by itself (``billing/renewals.py``).
Customers attached to a test clock are left to their clock. ``LAVA_SCHEDULER=0`` disables the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web

from .billing import renewals
from .billing.offsession import ChargerFor, charger_for
from .checkout.offsession import processor_chargers
from .checkout.processors import ProcessorRegistry
from .clock import now_us
from .context import Services
from .store import Database

log = logging.getLogger("lava.scheduler")
LEASE_NAME = "renewals"
LEASE_S = 30.0
TICK_S = 5.0


async def acquire_lease(db: Database, holder: str, *, now: int, lease_us: int, name: str = LEASE_NAME) -> bool:
    """Take or renew the lease: True when ``holder`` holds it until ``now + lease_us``."""
    expires = now + lease_us
    row = await db.fetchone(
        "INSERT INTO scheduler_leases (name, holder, expires_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
        " WHERE scheduler_leases.holder = excluded.holder OR scheduler_leases.expires_at < $4"
        " RETURNING holder",
        name,
        holder,
        expires,
        now,
    )
    return row is not None and row["holder"] == holder


async def tick(svc: Services, holder: str, chargers: ChargerFor = charger_for) -> renewals.DueReport | None:
    """One pass: if this replica holds the lease, run all real-time due work (both modes)."""
    now = now_us()
    if not await acquire_lease(svc.db, holder, now=now, lease_us=int(LEASE_S * 1_000_000)):
        return None
    return await renewals.run_due(svc, chargers, svc.db, now=now, clock_id=None)


def setup(app: web.Application, svc: Services) -> None:
    """Run the loop for the application's lifetime (unless ``LAVA_SCHEDULER=0``)."""
    if not svc.settings.scheduler:
        return
    holder = f"{socket.gethostname()}:{os.getpid()}:{id(app)}"

    registry = ProcessorRegistry(svc.settings.checkout, svc.ids)
    chargers = processor_chargers(svc.db, registry)

    async def loop() -> None:
        while True:
            try:
                await tick(svc, holder, chargers)
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed pass is retried next tick; each step is exactly-once
                log.exception("scheduler pass failed")
            await asyncio.sleep(TICK_S)

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await registry.close()

    app.cleanup_ctx.append(lifetime)

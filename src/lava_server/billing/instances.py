"""Which process owns which pending request: boot ids, leases, take-over, and journal replay.

Every running server process (a *boot*) gets an id (``ins_…``) that ``BillingService.open``
stores on each pending request it opens, and a row in ``instances`` whose ``lease_until`` it
renews every :attr:`LeaseTimes.heartbeat_s`. Then:

- **At start-up** a process replays the settlement journals that dead processes left in its data
  directory (docs/deployment.md) and closes the rest of those boots' pending requests at once:
  a journal file whose lock can be taken proves its owner is gone.
- **While running**, every process closes the pending requests of any boot whose lease lapsed
  (crashed, killed, partitioned): hold released, request ``error``, nothing charged. That
  happens within :data:`TAKEOVER_BOUND_S` of the owner's last heartbeat, not at hold expiry.
- **After a database outage** the journal of this process is replayed as soon as a heartbeat
  succeeds. A process takes over its peers only after its own heartbeats have succeeded for a
  full lease, so the peers had the same chance to renew theirs (no take-over storm at recovery).

Clock skew between replicas adds to the bound: keep clocks synchronised (NTP).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from ..clock import now_us
from ..store import StoreError, StoreUnavailable
from . import ledger, merchant_wallet, spend_limits
from .journal import JOURNAL_DIR, Journal, JournalEntry, orphan_files, read_entries
from .plans import Reservation
from .service import BillingService

log = logging.getLogger("lava.billing")
INSTANCE = "ins"
TAKEOVER_ERROR = "the gateway process handling this call stopped; hold released, nothing charged"
FORGET_AFTER_US = 3_600_000_000  # a lapsed boot's row is deleted an hour later (once it owns nothing)


@dataclass(frozen=True)
class LeaseTimes:
    """How often a process renews its lease, and how long a lease lasts (seconds)."""

    heartbeat_s: float = 1.0
    lease_s: float = 5.0

    @property
    def takeover_bound_s(self) -> float:
        """The longest a dead process's pending request stays open after its last heartbeat."""
        return self.lease_s + 2 * self.heartbeat_s


TAKEOVER_BOUND_S = LeaseTimes().takeover_bound_s  # 7 s with the defaults (docs/deployment.md)


class InstanceRuntime:
    """This process's identity, lease, journal and the background loop that keeps them."""

    def __init__(self, billing: BillingService, times: LeaseTimes | None = None) -> None:
        self.billing = billing
        self.deps = billing.deps
        self.times = times or LeaseTimes()
        self.instance_id = self.deps.ids.new(INSTANCE)
        self.journal = Journal(Path(self.deps.settings.data_dir) / JOURNAL_DIR, self.instance_id)
        self._healthy_since: float | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the journal, attach it to billing, recover dead local boots, register, start the loop."""
        self.journal.open()
        self.billing.attach(self.instance_id, self.journal)
        try:
            await self.recover_local()
            await self._register()
        except StoreError as exc:
            log.warning("start-up recovery deferred, database unavailable: %s", exc)
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop, give the lease up (peers may take over at once) and close the journal."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        try:
            at = now_us()
            await self.deps.db.execute(
                "UPDATE instances SET lease_until = $1, stopped_at = $1 WHERE id = $2", at, self.instance_id
            )
        except StoreError:
            pass
        self.journal.close()

    # -- the loop -----------------------------------------------------------------
    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.times.heartbeat_s)
            await self.tick()

    async def tick(self) -> None:
        """One round: renew the lease, replay the journal, take over lapsed peers. Never raises."""
        try:
            await self._heartbeat()
            if self._healthy_since is None:
                self._healthy_since = time.monotonic()
                log.info("database reachable; lease renewed")
            if self.journal.outstanding:
                await self.replay_own()
            if time.monotonic() - self._healthy_since >= self.times.lease_s + self.times.heartbeat_s:
                await self.recover_local()
                await self.take_over()
        except StoreError as exc:
            if self._healthy_since is not None:
                log.warning("database unavailable; lease not renewed: %s", str(exc)[:200])
            self._healthy_since = None
        except Exception:  # a failed round is retried next heartbeat; never kill the server
            log.exception("instance heartbeat failed")

    async def _register(self) -> None:
        at = now_us()
        await self.deps.db.execute(
            "INSERT INTO instances (id, host, pid, started_at, heartbeat_at, lease_until) VALUES ($1, $2, $3, $4, $4, $5)",
            self.instance_id,
            socket.gethostname()[:255],
            os.getpid(),
            at,
            at + int(self.times.lease_s * 1_000_000),
        )
        self._healthy_since = time.monotonic()

    async def _heartbeat(self) -> None:
        at = now_us()
        changed = await self.deps.db.execute(
            "UPDATE instances SET heartbeat_at = $1, lease_until = $2 WHERE id = $3",
            at,
            at + int(self.times.lease_s * 1_000_000),
            self.instance_id,
        )
        if changed == 0:  # registration failed at start-up (database was down): register now
            await self._register()

    # -- recovery -----------------------------------------------------------------
    async def replay_own(self) -> int:
        """Replay this process's outstanding journal entries; stops at the first outage."""
        done = 0
        for entry in self.journal.entries():
            await replay_entry(self.billing, entry)
            self.journal.mark_done(entry.request_id)
            done += 1
        if done:
            log.warning("replayed %d journalled finish(es) after the database came back", done)
        return done

    async def recover_local(self) -> int:
        """Replay dead local boots' journals, then close their other pending requests."""
        return await recover_dead_local(self.billing, self.journal.directory, self.journal.path)

    async def take_over(self) -> int:
        """Close the pending requests of every other boot whose lease lapsed; forget old boots."""
        at = now_us()
        lapsed = await self.deps.db.fetchall(
            "SELECT DISTINCT i.id FROM instances i JOIN requests r ON r.instance_id = i.id"
            " WHERE r.status = 'pending' AND i.lease_until < $1 AND i.id <> $2",
            at,
            self.instance_id,
        )
        closed = 0
        for row in lapsed:
            closed += await close_pending(self.billing, str(row["id"]))
        if closed:
            log.warning("took over %d pending request(s) of %d lapsed process(es)", closed, len(lapsed))
        await self.deps.db.execute(
            "DELETE FROM instances WHERE lease_until < $1"
            " AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.instance_id = instances.id AND r.status = 'pending')",
            at - FORGET_AFTER_US,
        )
        return closed


async def replay_entry(billing: BillingService, entry: JournalEntry) -> None:
    """Run a journalled finish again (idempotent: a finish that already landed is a no-op).

    Raises ``StoreError`` while the database still refuses (the entry stays for the next try); a
    settlement that fails for another reason fails the call instead, as ``gateway.settle`` does."""
    res = Reservation(
        entry.plan, entry.record, billing.prices_at(entry.plan, entry.record.created_at), entry.record.hold_units
    )
    if entry.kind == "settle" and entry.outcome is not None:
        try:
            await billing.settle_now(res, entry.outcome)
        except StoreError:
            raise
        except Exception as exc:
            log.exception("replayed settlement of %s failed; failing the call instead", res.record.id)
            await billing.fail_now(res, f"settlement failed: {type(exc).__name__}", entry.outcome)
    else:
        await billing.fail_now(res, entry.error or "gateway failure", entry.outcome)


async def recover_dead_local(billing: BillingService, directory: Path | None = None, own: Path | None = None) -> int:
    """Replay the journals dead processes left in ``directory`` (default: the data dir's) and
    close the rest of those boots' pending requests; returns how many were closed.

    Safe beside live processes: their files are locked and skipped. ``lava serve --workers``
    runs this in its preparation child, before any worker starts."""
    directory = directory or Path(billing.deps.settings.data_dir) / JOURNAL_DIR
    closed = 0
    for path in orphan_files(directory, own):
        entries = read_entries(path)
        for entry in entries:
            await replay_entry(billing, entry)
        boot = path.stem
        n = await close_pending(billing, boot)
        await billing.deps.db.execute(
            "UPDATE instances SET lease_until = $1, stopped_at = COALESCE(stopped_at, $1) WHERE id = $2",
            now_us(),
            boot,
        )
        path.unlink(missing_ok=True)
        log.warning("recovered dead process %s: %d journalled finish(es) replayed, %d closed", boot, len(entries), n)
        closed += n
    return closed


async def close_pending(billing: BillingService, instance_id: str) -> int:
    """Release the hold and fail every request still ``pending`` under ``instance_id``."""
    db = billing.deps.db
    rows = await db.fetchall(
        "SELECT id FROM requests WHERE status = 'pending' AND instance_id = $1 ORDER BY id", instance_id
    )
    done = 0
    for row in rows:
        at = now_us()
        async with db.transaction() as tx:
            await ledger.close_hold(tx, row["id"], "released", at)
            # the call's worst case stops counting against its spend key and the merchant wallet
            await spend_limits.release(tx, row["id"])
            await merchant_wallet.release(tx, row["id"])
            done += await tx.execute(
                "UPDATE requests SET status = 'error', error = $1, completed_at = $2, timestamp = $2"
                " WHERE id = $3 AND status = 'pending'",
                TAKEOVER_ERROR,
                at,
                row["id"],
            )
    return done


__all__ = [
    "TAKEOVER_BOUND_S",
    "TAKEOVER_ERROR",
    "InstanceRuntime",
    "LeaseTimes",
    "StoreUnavailable",
    "close_pending",
    "recover_dead_local",
]

"""Webhook deliveries and attempts: claiming due deliveries under a lease, and their history.

A delivery is one event for one endpoint. Workers on any number of replicas claim due
deliveries with one conditional UPDATE that sets ``lease_owner``/``lease_until``; a row whose
lease is live is invisible to every other worker, and a re-check of the lease in the UPDATE's
own WHERE makes two concurrent claims of one row impossible (PostgreSQL re-evaluates it on the
locked row; SQLite has one writer). A crashed worker's lease simply runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ..ids import Mode
from .base import Executor, Row
from .paging import fetch_page

Outcome = Literal["delivered", "failed"]


@dataclass(frozen=True)
class Claimed:
    """A delivery this worker holds the lease on, with what it needs to send it."""

    event_id: str
    endpoint_id: str
    attempts: int  # attempts made before this one
    max_attempts: int
    merchant_id: str
    mode: Mode
    type: str
    customer_id: str
    detail: str | None
    payload: str | None
    created_at: int


async def claim(ex: Executor, *, worker: str, now: int, lease_us: int, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries of live endpoints to ``worker``."""
    rows = await ex.fetchall(
        "UPDATE webhook_deliveries SET lease_owner = $1, lease_until = $2"
        " WHERE (event_id, endpoint_id) IN ("
        "  SELECT d.event_id, d.endpoint_id FROM webhook_deliveries d"
        "  JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        "  WHERE d.status = 'pending' AND d.next_attempt_at <= $3"
        "  AND (d.lease_until IS NULL OR d.lease_until < $3)"
        "  AND e.deleted_at IS NULL AND e.disabled_at IS NULL"
        "  ORDER BY d.next_attempt_at LIMIT $4)"
        " AND status = 'pending' AND (lease_until IS NULL OR lease_until < $3)"
        " RETURNING event_id, endpoint_id, attempts, max_attempts",
        worker,
        now + lease_us,
        now,
        limit,
    )
    claimed: list[Claimed] = []
    for row in rows:
        ev = await ex.fetchone(
            "SELECT merchant_id, mode, type, customer_id, detail, payload, created_at FROM webhook_events"
            " WHERE id = $1",
            row["event_id"],
        )
        assert ev is not None, "a delivery always has its event"
        claimed.append(
            Claimed(
                event_id=row["event_id"],
                endpoint_id=row["endpoint_id"],
                attempts=int(row["attempts"]),
                max_attempts=int(row["max_attempts"]),
                merchant_id=ev["merchant_id"],
                mode=ev["mode"],
                type=ev["type"],
                customer_id=ev["customer_id"],
                detail=ev["detail"],
                payload=ev["payload"],
                created_at=int(ev["created_at"]),
            )
        )
    return claimed


async def freeze_payload(ex: Executor, event_id: str, payload: str) -> str:
    """Store the event's rendered ``data`` once; returns whichever rendering won (retries and
    other endpoints then send the same data)."""
    await ex.execute("UPDATE webhook_events SET payload = $1 WHERE id = $2 AND payload IS NULL", payload, event_id)
    stored = await ex.fetchval("SELECT payload FROM webhook_events WHERE id = $1", event_id)
    return str(stored)


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP attempt: ``status_code`` None when no response came (``error`` says why)."""

    id: str
    event_id: str
    endpoint_id: str
    attempt: int
    worker: str
    started_at: int
    latency_ms: int
    outcome: Outcome
    status_code: int | None
    error: str | None
    response_excerpt: str | None


async def finish_attempt(tx: Executor, rec: AttemptRecord, *, next_attempt_at: int | None, max_attempts: int) -> bool:
    """Record the attempt and move the delivery on: delivered, due again at ``next_attempt_at``,
    or failed when attempts are used up (``next_attempt_at`` None). Returns False, recording
    nothing, when this worker no longer holds the lease."""
    if rec.outcome == "delivered":
        status, due = "delivered", rec.started_at
    elif next_attempt_at is None or rec.attempt >= max_attempts:
        status, due = "failed", rec.started_at
    else:
        status, due = "pending", next_attempt_at
    changed = await tx.execute(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, lease_owner = NULL,"
        " lease_until = NULL, delivered_at = CASE WHEN $1 = 'delivered' THEN CAST($4 AS BIGINT) ELSE delivered_at END"
        " WHERE event_id = $5 AND endpoint_id = $6 AND lease_owner = $7 AND status = 'pending'",
        status,
        rec.attempt,
        due,
        rec.started_at,
        rec.event_id,
        rec.endpoint_id,
        rec.worker,
    )
    if changed != 1:
        return False
    await tx.execute(
        "INSERT INTO webhook_attempts (id, event_id, endpoint_id, attempt, worker, started_at, latency_ms, outcome,"
        " status_code, error, response_excerpt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        rec.id,
        rec.event_id,
        rec.endpoint_id,
        rec.attempt,
        rec.worker,
        rec.started_at,
        rec.latency_ms,
        rec.outcome,
        rec.status_code,
        rec.error,
        rec.response_excerpt,
    )
    return True


def _attempt(row: Row) -> AttemptRecord:
    return AttemptRecord(
        id=row["id"],
        event_id=row["event_id"],
        endpoint_id=row["endpoint_id"],
        attempt=int(row["attempt"]),
        worker=row["worker"],
        started_at=int(row["started_at"]),
        latency_ms=int(row["latency_ms"]),
        outcome=row["outcome"],
        status_code=None if row["status_code"] is None else int(row["status_code"]),
        error=row["error"],
        response_excerpt=row["response_excerpt"],
    )


async def list_attempts(
    ex: Executor,
    merchant_id: str,
    mode: Mode,
    *,
    endpoint_id: str | None,
    event_id: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[AttemptRecord], bool]:
    """A merchant's attempts, newest first, optionally for one endpoint and/or one event."""
    where = ["e.merchant_id = $1", "e.mode = $2"]
    args: list[Any] = [merchant_id, mode]
    if endpoint_id is not None:
        args.append(endpoint_id)
        where.append(f"a.endpoint_id = ${len(args)}")
    if event_id is not None:
        args.append(event_id)
        where.append(f"a.event_id = ${len(args)}")
    rows, more = await fetch_page(
        ex,
        select=(
            "SELECT a.id, a.event_id, a.endpoint_id, a.attempt, a.worker, a.started_at, a.latency_ms, a.outcome,"
            " a.status_code, a.error, a.response_excerpt FROM webhook_attempts a"
            " JOIN webhook_endpoints e ON e.id = a.endpoint_id"
        ),
        where=where,
        args=args,
        cursor=cursor,
        limit=limit,
        id_column="a.id",
    )
    return [_attempt(r) for r in rows], more


async def event_owner(ex: Executor, event_id: str) -> tuple[str, Mode] | None:
    row = await ex.fetchone("SELECT merchant_id, mode FROM webhook_events WHERE id = $1", event_id)
    return None if row is None else (row["merchant_id"], row["mode"])


async def schedule_redelivery(tx: Executor, event_id: str, *, at: int) -> int:
    """Send ``event_id`` once more, now, to every live endpoint of its merchant (whatever its
    deliveries' state, except one being attempted right now: that attempt stands). Returns how
    many deliveries were scheduled."""
    return await tx.execute(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, max_attempts = attempts + 1,"
        " lease_owner = NULL, lease_until = NULL WHERE event_id = $2"
        " AND (lease_until IS NULL OR lease_until < $1) AND endpoint_id IN"
        " (SELECT id FROM webhook_endpoints WHERE deleted_at IS NULL AND disabled_at IS NULL)",
        at,
        event_id,
    )


async def prune(tx: Executor, *, before: int, limit: int) -> int:
    """Delete up to ``limit`` events created before ``before`` (µs) with nothing pending, with
    their deliveries and attempts. Returns how many events went."""
    rows = await tx.fetchall(
        "SELECT w.id FROM webhook_events w WHERE w.created_at < $1 AND NOT EXISTS"
        " (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = w.id AND d.status = 'pending') LIMIT $2",
        before,
        limit,
    )
    ids = [r["id"] for r in rows]
    if not ids:
        return 0
    marks = ", ".join(f"${i + 1}" for i in range(len(ids)))
    await tx.execute(f"DELETE FROM webhook_attempts WHERE event_id IN ({marks})", *ids)
    await tx.execute(f"DELETE FROM webhook_deliveries WHERE event_id IN ({marks})", *ids)
    return await tx.execute(f"DELETE FROM webhook_events WHERE id IN ({marks})", *ids)

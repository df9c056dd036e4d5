"""The webhook outbox: events written in the same transaction as the change that caused them.

Billing and accounts call :meth:`Outbox.add` (or :meth:`Outbox.wallet_changed`) with their own
transaction, so an event exists exactly when its change committed. Each event gets one
``webhook_deliveries`` row per live endpoint of its merchant and mode; a merchant without
endpoints costs one no-op statement and keeps no events. The payload is rendered later, when a
worker first claims a delivery (``lava_server.events``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson

from ..clock import now_us
from ..ids import IdFactory, Mode
from ..money import to_wire
from .base import Executor

EVENT = "evt"

EventType = Literal[
    "customer.created",
    "customer.wallet.balance.updated",
    "customer.deleted",
    "checkout.session.completed",
    "customer.credits.low",
    "customer.credits.exhausted",
    # plans and subscriptions (issue 10)
    "subscription.created",
    "subscription.updated",
    "subscription.renewed",
    "subscription.renewal_failed",
    "subscription.cancelled",
    "customer.credits.topped_up",
    "customer.credits.top_up_failed",
    "spend_key.limit_reached",  # its subject (customer_id column) is the spend key's id
]
EVENT_TYPES: tuple[EventType, ...] = get_args(EventType)

_LIVE_ENDPOINT = "e.deleted_at IS NULL AND e.disabled_at IS NULL"


@dataclass(frozen=True)
class Event:
    """One thing that happened to a customer (a connection) of a merchant.

    ``detail`` is merged into the delivered ``data`` next to the customer (JSON-serialisable;
    money as wire strings). ``coalesce`` marks usage-driven events: one per customer per window.
    """

    type: EventType
    merchant_id: str
    mode: Mode
    customer_id: str
    detail: dict[str, Any] | None = None
    coalesce: bool = False


@dataclass(frozen=True)
class OutboxPolicy:
    """What the outbox needs from settings: the retry count, the coalescing window (µs) and the
    ``customer.credits.low`` threshold (units of 10⁻¹⁰ USD)."""

    max_attempts: int = 7
    coalesce_us: int = 30_000_000
    credits_low_units: int = 1_0000000000


class Outbox:
    """Writes events and their deliveries inside a caller's transaction."""

    def __init__(self, ids: IdFactory, policy: OutboxPolicy) -> None:
        self._ids = ids
        self.policy = policy

    async def add(self, tx: Executor, event: Event) -> str | None:
        """Record ``event`` for delivery to every live endpoint of its merchant and mode.

        Returns the new ``evt_`` id, or None when nothing was recorded (no endpoint, or a
        coalesced event already waits for this customer)."""
        assert event.type in EVENT_TYPES, event.type
        at = now_us()
        event_id = self._ids.new(EVENT, event.mode)
        coalesce_key = f"{event.type}:{event.customer_id}" if event.coalesce else None
        args: list[Any] = [
            event_id,
            event.merchant_id,
            event.mode,
            event.type,
            event.customer_id,
            orjson.dumps(event.detail).decode() if event.detail else None,
            coalesce_key,
            at,
        ]
        guard = ""
        if coalesce_key is not None:
            args.append(at - self.policy.coalesce_us)
            guard = (
                " AND NOT EXISTS (SELECT 1 FROM webhook_events w WHERE w.coalesce_key = CAST($7 AS TEXT)"
                " AND w.payload IS NULL AND w.created_at > CAST($9 AS BIGINT))"
            )
        inserted = await tx.execute(
            "INSERT INTO webhook_events"
            " (id, merchant_id, mode, type, customer_id, detail, coalesce_key, payload, created_at)"
            " SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT), CAST($4 AS TEXT), CAST($5 AS TEXT),"
            " CAST($6 AS TEXT), CAST($7 AS TEXT), NULL, CAST($8 AS BIGINT)"
            " WHERE EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.merchant_id = CAST($2 AS TEXT)"
            f" AND e.mode = CAST($3 AS TEXT) AND {_LIVE_ENDPOINT}){guard}",
            *args,
        )
        if inserted == 0:
            return None
        due = at + (self.policy.coalesce_us if event.coalesce else 0)
        await add_deliveries(tx, event_id, event.merchant_id, event.mode, self.policy.max_attempts, due, at)
        return event_id

    def crossings(self, merchant_id: str, mode: Mode, customer_id: str, before: int, after: int) -> list[Event]:
        """``customer.credits.low`` when spendable credit went from ≥ the threshold to below it,
        ``customer.credits.exhausted`` when it went from > 0 to ≤ 0 (units). Once per crossing: a
        change that starts below the threshold (or at ≤ 0) emits nothing, so the next event
        needs a rise above it first."""
        low = self.policy.credits_low_units
        crossing = {"balance": to_wire(after), "threshold": to_wire(low)}
        made: list[Event] = []
        if before >= low > after:
            made.append(Event("customer.credits.low", merchant_id, mode, customer_id, detail={"credits": crossing}))
        if before > 0 >= after:
            made.append(
                Event("customer.credits.exhausted", merchant_id, mode, customer_id, detail={"credits": crossing})
            )
        return made

    async def credits_changed(
        self, tx: Executor, merchant_id: str, mode: Mode, customer_id: str, before: int, after: int
    ) -> list[str]:
        """A plan customer's total spendable credit (cycle + bundle + prepaid) moved by a charge:
        its crossing events (:meth:`crossings`), in the charge's transaction."""
        made: list[str] = []
        for event in self.crossings(merchant_id, mode, customer_id, before, after):
            event_id = await self.add(tx, event)
            if event_id is not None:
                made.append(event_id)
        return made

    async def wallet_changed(
        self, tx: Executor, wallet_id: str, before: int, after: int, *, usage: bool, crossings: bool = True
    ) -> list[str]:
        """A wallet's balance moved from ``before`` to ``after`` (units): every live customer on
        it gets ``customer.wallet.balance.updated`` (coalesced when ``usage``), plus (with
        ``crossings``) ``customer.credits.low`` / ``customer.credits.exhausted`` on the prepaid
        balance (:meth:`crossings`). A plan customer's charge passes ``crossings=False`` and
        reports its total through :meth:`credits_changed`."""
        if before == after:
            return []
        rows = await tx.fetchall(
            "SELECT c.id, c.merchant_id, c.mode FROM connections c"
            " WHERE c.wallet_id = $1 AND c.deleted_at IS NULL AND EXISTS (SELECT 1 FROM webhook_endpoints e"
            f" WHERE e.merchant_id = c.merchant_id AND e.mode = c.mode AND {_LIVE_ENDPOINT})",
            wallet_id,
        )
        made: list[str] = []
        for row in rows:
            events = [
                Event("customer.wallet.balance.updated", row["merchant_id"], row["mode"], row["id"], coalesce=usage)
            ]
            if crossings:
                events += self.crossings(row["merchant_id"], row["mode"], row["id"], before, after)
            for event in events:
                event_id = await self.add(tx, event)
                if event_id is not None:
                    made.append(event_id)
        return made


async def add_deliveries(
    tx: Executor, event_id: str, merchant_id: str, mode: Mode, max_attempts: int, due: int, at: int
) -> int:
    """One pending delivery of ``event_id`` per live endpoint that has none yet; returns how many."""
    return await tx.execute(
        "INSERT INTO webhook_deliveries"
        " (event_id, endpoint_id, status, attempts, max_attempts, next_attempt_at, created_at)"
        " SELECT CAST($1 AS TEXT), e.id, 'pending', 0, CAST($2 AS INTEGER), CAST($3 AS BIGINT), CAST($4 AS BIGINT)"
        " FROM webhook_endpoints e WHERE e.merchant_id = $5 AND e.mode = $6"
        f" AND {_LIVE_ENDPOINT} AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d"
        " WHERE d.event_id = CAST($1 AS TEXT) AND d.endpoint_id = e.id)",
        event_id,
        max_attempts,
        due,
        at,
        merchant_id,
        mode,
    )

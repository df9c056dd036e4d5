"""An event's ``data``: the customer it is about (a RestCustomer, lava-api-current §3.1), plus
the event's own detail and the customer's wallet balance.

Rendered when a worker first claims one of the event's deliveries, then frozen on the event
row: every endpoint and every retry sends the same data. Usage-driven balance events wait out
their coalescing window first, so they carry the latest balance.
"""

from __future__ import annotations

from typing import Any

import orjson

from ..clock import to_iso
from ..money import to_wire
from ..store import Executor
from ..store.connections import ConnectionRecord, get_connection
from ..store.webhook_deliveries import Claimed


def rest_customer(rec: ConnectionRecord) -> dict[str, Any]:
    """A connection as the current API's ``RestCustomer`` (also the body of GET /v1/customers/…).
    Contact values are ``""`` when unknown; ``subscription`` is null (callers with plans fill it)."""
    w = rec.wallet
    return {
        "customer_id": rec.id,
        "reference_id": rec.reference_id,
        "contact": {
            "phone": w.phone or "",
            "email": w.email or "",
            "first_name": w.first_name or "",
            "last_name": w.last_name or "",
        },
        "subscription": None,
        "metadata": orjson.loads(rec.metadata) if rec.metadata else None,  # set through /v1/customers
        "created_at": to_iso(rec.created_at),
    }


def customer(rec: ConnectionRecord) -> dict[str, Any]:
    """:func:`rest_customer` plus ``wallet.balance`` (available: balance − held), as events carry it."""
    return {**rest_customer(rec), "wallet": {"balance": to_wire(rec.balance - rec.held)}}


async def render_data(ex: Executor, claimed: Claimed) -> str:
    """The JSON text of ``data`` for this claimed delivery's event."""
    if claimed.type.startswith("spend_key."):  # about a spend key, not a customer: its detail only
        return claimed.detail or "{}"
    rec = await get_connection(ex, claimed.merchant_id, claimed.mode, claimed.customer_id)
    # A missing customer cannot happen for events we write; render what we know.
    data = {"customer_id": claimed.customer_id, "subscription": None} if rec is None else customer(rec)
    if claimed.detail:
        data.update(orjson.loads(claimed.detail))
    return orjson.dumps(data).decode()

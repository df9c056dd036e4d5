"""``RestConnection`` and its wallet (the ``Connection`` schema in the server's ``/openapi.json``)."""

from __future__ import annotations

from decimal import Decimal

from ._base import LavaModel, Timestamp

__all__ = ["Connection", "Wallet"]


class Wallet(LavaModel):
    balance: Decimal
    """USD, parsed exactly from the 10-decimal wire string."""
    phone: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    autopay_enabled: bool | None = None


class Connection(LavaModel):
    connection_id: str
    connection_secret: str | None = None
    reference_id: str | None = None
    wallet: Wallet
    next_usage_reset: Timestamp | None = None
    previous_usage_reset: Timestamp | None = None
    created_at: Timestamp
    status: str | None = None
    """``ok``, ``limited``, ``disabled`` or ``deleted`` where the server reports it."""

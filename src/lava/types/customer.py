"""``RestCustomer`` (Node SDK 11.2.0's type): a customer *is* a connection (same ``con_`` id)."""

from __future__ import annotations

from typing import Any, Literal

from ._base import LavaModel, Timestamp

__all__ = ["Customer", "CustomerContact", "CustomerSubscription", "SubscriptionStatus"]

SubscriptionStatus = Literal["active", "cancelled"]


class CustomerContact(LavaModel):
    """Contact fields; ``""`` when unknown (the server never sends null here)."""

    phone: str = ""
    email: str = ""
    first_name: str = ""
    last_name: str = ""


class CustomerSubscription(LavaModel):
    """The summary on a customer; :meth:`Customers.get_subscription` has the full object."""

    subscription_id: str
    plan_id: str
    name: str
    """The plan's name."""
    status: SubscriptionStatus


class Customer(LavaModel):
    customer_id: str
    """``con_…``: the same id as the 2025 API's connection."""
    reference_id: str | None = None
    contact: CustomerContact
    subscription: CustomerSubscription | None = None
    metadata: dict[str, Any] | None = None
    created_at: Timestamp

"""``RestSubscriptionBase`` / ``RestSubscription`` (Node SDK 11.2.0's types). Money is ``Decimal`` USD."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from ._base import LavaModel, Timestamp
from .customer import SubscriptionStatus
from .plan import BillingInterval, RolloverType

__all__ = [
    "PendingChange",
    "Subscription",
    "SubscriptionCredits",
    "SubscriptionCustomer",
    "SubscriptionPlan",
]


class SubscriptionPlan(LavaModel):
    """The plan snapshot in force this cycle."""

    name: str
    period_amount: Decimal
    included_credit: Decimal
    billing_interval: BillingInterval
    rollover_type: RolloverType
    bundle_rollover_type: RolloverType


class SubscriptionCredits(LavaModel):
    total_remaining: Decimal
    """cycle + bundle (not the legacy prepaid balance); negative while the customer is in debt."""
    cycle_remaining: Decimal
    bundle_remaining: Decimal


class PendingChange(LavaModel):
    """A change that takes effect at ``effective_at`` (the cycle end)."""

    type: Literal["cancellation", "downgrade"]
    effective_at: Timestamp | None = None
    plan_id: str | None = None
    name: str | None = None
    period_amount: Decimal | None = None
    included_credit: Decimal | None = None


class SubscriptionCustomer(LavaModel):
    phone: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class Subscription(LavaModel):
    """``RestSubscriptionBase``; the list endpoint adds ``customer_id`` and ``customer``."""

    subscription_id: str
    plan_id: str
    status: SubscriptionStatus
    auto_top_up_bundle_id: str | None = None
    started_at: Timestamp
    cancelled_at: Timestamp | None = None
    cycle_start_at: Timestamp | None = None
    cycle_end_at: Timestamp | None = None
    plan: SubscriptionPlan
    credits: SubscriptionCredits
    pending_change: PendingChange | None = None
    customer_id: str | None = None
    """Set in ``subscriptions.list()`` results."""
    customer: SubscriptionCustomer | None = None
    """Set in ``subscriptions.list()`` results."""

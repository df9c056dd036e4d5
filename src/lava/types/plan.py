"""``RestPlan`` and ``RestCreditBundle`` (Node SDK 11.2.0's types). Money is ``Decimal`` USD."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field

from ._base import LavaModel, Timestamp

__all__ = ["BillingInterval", "CreditBundle", "Plan", "PlanCreditBundle", "PlanLinkedMeter", "RolloverType"]

BillingInterval = Literal["day", "week", "month", "year"]
RolloverType = Literal["full", "none"]
"""``full``: unused credits carry over to the next cycle; ``none``: they are forfeited."""


class PlanLinkedMeter(LavaModel):
    meter_id: str
    name: str


class PlanCreditBundle(LavaModel):
    credit_bundle_id: str
    name: str
    cost: Decimal
    """What the customer pays for the bundle."""
    credit_amount: Decimal
    """The credits it adds."""


class Plan(LavaModel):
    plan_id: str
    merchant_id: str
    name: str
    period_amount: Decimal
    """Charged every ``billing_interval``; 0 for a free plan."""
    included_credit: Decimal
    billing_interval: BillingInterval
    rollover_type: RolloverType
    bundle_rollover_type: RolloverType
    default_auto_top_up_bundle_id: str | None = None
    linked_meters: list[PlanLinkedMeter] = Field(default_factory=list)
    """Empty: every meter draws on this plan's credits."""
    credit_bundles: list[PlanCreditBundle] = Field(default_factory=list)
    created_at: Timestamp


class CreditBundle(LavaModel):
    credit_bundle_id: str
    plan_id: str
    name: str
    cost: Decimal
    credit_amount: Decimal
    created_at: Timestamp

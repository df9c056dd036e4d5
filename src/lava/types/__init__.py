"""Pydantic v2 models of the Lava API's response bodies.

Every model keeps unknown fields (``extra="allow"``), money is ``decimal.Decimal``
parsed from the wire's decimal strings, and timestamps are timezone-aware.
"""

from ._base import LavaModel, Timestamp
from .checkout_session import CheckoutMode, CheckoutSession
from .connection import Connection, Wallet
from .customer import Customer, CustomerContact, CustomerSubscription, SubscriptionStatus
from .keys import (
    AuthCredentials,
    CreatedSecretKey,
    CreatedSpendKey,
    LimitCycle,
    RateLimit,
    RequestLimit,
    RequestShape,
    SecretKey,
    SpendKey,
    SpendKeyStatus,
    SpendLimit,
)
from .meter import Meter, MeterTier, RateType, TierType
from .model import Model, ModelList
from .plan import BillingInterval, CreditBundle, Plan, PlanCreditBundle, PlanLinkedMeter, RolloverType
from .quote import Quote
from .request import Charge, Fee, FeeBreakdownItem, FeeTier, ModelUsage, Request, ServiceCharge
from .shared import Deleted, DeleteResult, WebhookEvent
from .subscription import PendingChange, Subscription, SubscriptionCredits, SubscriptionCustomer, SubscriptionPlan
from .usage import Usage, UsageItem, UsageTotals
from .webhook import CreatedWebhook, Webhook

__all__ = [
    "AuthCredentials",
    "BillingInterval",
    "Charge",
    "CheckoutMode",
    "CheckoutSession",
    "Connection",
    "CreatedSecretKey",
    "CreatedSpendKey",
    "CreatedWebhook",
    "CreditBundle",
    "Customer",
    "CustomerContact",
    "CustomerSubscription",
    "DeleteResult",
    "Deleted",
    "Fee",
    "FeeBreakdownItem",
    "FeeTier",
    "LavaModel",
    "LimitCycle",
    "Meter",
    "MeterTier",
    "Model",
    "ModelList",
    "ModelUsage",
    "PendingChange",
    "Plan",
    "PlanCreditBundle",
    "PlanLinkedMeter",
    "Quote",
    "RateLimit",
    "RateType",
    "Request",
    "RequestLimit",
    "RequestShape",
    "RolloverType",
    "SecretKey",
    "ServiceCharge",
    "SpendKey",
    "SpendKeyStatus",
    "SpendLimit",
    "Subscription",
    "SubscriptionCredits",
    "SubscriptionCustomer",
    "SubscriptionPlan",
    "SubscriptionStatus",
    "TierType",
    "Timestamp",
    "Usage",
    "UsageItem",
    "UsageTotals",
    "Wallet",
    "Webhook",
    "WebhookEvent",
]

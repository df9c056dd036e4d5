"""Pydantic v2 models of the Lava API's response bodies.

Every model keeps unknown fields (``extra="allow"``), money is ``decimal.Decimal``
parsed from the wire's decimal strings, and timestamps are timezone-aware.
"""

from ._base import LavaModel, Timestamp
from .checkout_session import CheckoutSession
from .connection import Connection, Wallet
from .quote import Quote
from .request import Fee, FeeBreakdownItem, FeeTier, ModelUsage, Request, ServiceCharge
from .shared import DeleteResult, WebhookEvent
from .usage import Usage, UsageItem, UsageTotals

__all__ = [
    "CheckoutSession",
    "Connection",
    "DeleteResult",
    "Fee",
    "FeeBreakdownItem",
    "FeeTier",
    "LavaModel",
    "ModelUsage",
    "Quote",
    "Request",
    "ServiceCharge",
    "Timestamp",
    "Usage",
    "UsageItem",
    "UsageTotals",
    "Wallet",
    "WebhookEvent",
]

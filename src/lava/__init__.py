"""Python SDK for Lava usage-based billing.

::

    from lava import Lava

    lava = Lava("aks_test_...")
    session = lava.checkout_sessions.create(checkout_mode="onboarding", origin_url="https://app.example")
    token = lava.generate_forward_token(connection_secret="cons_...", product_secret="ps_...")
"""

from . import forward, pagination, types, webhooks
from ._client import AsyncLava, Lava
from ._config import API_VERSIONS, DEFAULT_API_VERSION
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    InternalServerError,
    LavaError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
    WebhookVerificationError,
)
from .forward import base_url_for, decode_forward_token, forward_url, generate_forward_token
from .pagination import AsyncPage, SyncPage
from .types import (
    CheckoutSession,
    Connection,
    DeleteResult,
    Fee,
    FeeBreakdownItem,
    FeeTier,
    ModelUsage,
    Request,
    ServiceCharge,
    Usage,
    UsageItem,
    UsageTotals,
    Wallet,
    WebhookEvent,
)

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncLava",
    "AsyncPage",
    "AuthenticationError",
    "BadRequestError",
    "CheckoutSession",
    "ConflictError",
    "Connection",
    "DeleteResult",
    "Fee",
    "FeeBreakdownItem",
    "FeeTier",
    "InsufficientBalanceError",
    "InternalServerError",
    "Lava",
    "LavaError",
    "ModelUsage",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "Request",
    "ServiceCharge",
    "SyncPage",
    "UnprocessableEntityError",
    "Usage",
    "UsageItem",
    "UsageTotals",
    "Wallet",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "base_url_for",
    "decode_forward_token",
    "forward",
    "forward_url",
    "generate_forward_token",
    "pagination",
    "types",
    "webhooks",
]

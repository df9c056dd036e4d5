"""Python SDK for Lava usage-based billing.

::

    from lava import Lava

    lava = Lava("aks_test_...")                       # the current API (no version header)
    customer = lava.customers.create(reference_id="user_123")
    token = lava.generate_forward_token(customer_id=customer.customer_id, meter_slug="chat")
    answer = lava.gateway("https://api.openai.com/v1/chat/completions", body={...},
                          customer_id=customer.customer_id, meter_slug="chat")

    legacy = Lava("aks_test_...", api_version="2025-04-28.v1")   # the 2025 API, unchanged
    token = legacy.generate_forward_token(connection_secret="cons_...", product_secret="ps_...")
"""

from . import auth, forward, gateway, pagination, types, webhooks
from ._async_client import AsyncLava
from ._client import Lava
from ._config import API_VERSIONS, DEFAULT_API_VERSION
from ._params import NOT_GIVEN, NotGiven
from ._sse import ServerSentEvent
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
from .forward import base_url_for, decode_forward_token, forward_url, generate_forward_token, rewrite_url
from .gateway import AsyncGatewayStream, GatewayResponse, GatewayStream, LavaHeaders
from .pagination import AsyncPage, SyncPage
from .types import (
    AuthCredentials,
    Charge,
    CheckoutSession,
    Connection,
    CreatedSecretKey,
    CreatedSpendKey,
    CreatedWebhook,
    CreditBundle,
    Customer,
    Deleted,
    DeleteResult,
    Fee,
    FeeBreakdownItem,
    FeeTier,
    Meter,
    Model,
    ModelList,
    ModelUsage,
    Plan,
    Request,
    SecretKey,
    ServiceCharge,
    SpendKey,
    Subscription,
    Usage,
    UsageItem,
    UsageTotals,
    Wallet,
    Webhook,
    WebhookEvent,
)

__all__ = [
    "API_VERSIONS",
    "DEFAULT_API_VERSION",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncGatewayStream",
    "AsyncLava",
    "AsyncPage",
    "AuthCredentials",
    "AuthenticationError",
    "BadRequestError",
    "Charge",
    "CheckoutSession",
    "ConflictError",
    "Connection",
    "CreatedSecretKey",
    "CreatedSpendKey",
    "CreatedWebhook",
    "CreditBundle",
    "Customer",
    "DeleteResult",
    "Deleted",
    "Fee",
    "FeeBreakdownItem",
    "FeeTier",
    "GatewayResponse",
    "GatewayStream",
    "InsufficientBalanceError",
    "InternalServerError",
    "Lava",
    "LavaError",
    "LavaHeaders",
    "Meter",
    "Model",
    "ModelList",
    "ModelUsage",
    "NotFoundError",
    "NotGiven",
    "PermissionDeniedError",
    "Plan",
    "RateLimitError",
    "Request",
    "SecretKey",
    "ServerSentEvent",
    "ServiceCharge",
    "SpendKey",
    "Subscription",
    "SyncPage",
    "UnprocessableEntityError",
    "Usage",
    "UsageItem",
    "UsageTotals",
    "Wallet",
    "Webhook",
    "WebhookEvent",
    "WebhookVerificationError",
    "__version__",
    "auth",
    "base_url_for",
    "decode_forward_token",
    "forward",
    "forward_url",
    "gateway",
    "generate_forward_token",
    "pagination",
    "rewrite_url",
    "types",
    "webhooks",
]

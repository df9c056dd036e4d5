"""Resource namespaces: a sync class and an async class per API resource."""

from .checkout_sessions import AsyncCheckoutSessions, CheckoutSessions
from .connections import AsyncConnections, Connections
from .customers import AsyncCustomers, Customers
from .meters import AsyncMeters, Meters
from .plans import AsyncCreditBundles, AsyncPlans, CreditBundles, Plans
from .requests import AsyncRequests, Requests
from .secret_keys import AsyncModels, AsyncSecretKeys, Models, SecretKeys
from .spend_keys import AsyncSpendKeys, SpendKeys
from .subscriptions import AsyncSubscriptions, Subscriptions
from .usage import AsyncUsageResource, UsageResource
from .webhooks import AsyncWebhooks, Webhooks

__all__ = [
    "AsyncCheckoutSessions",
    "AsyncConnections",
    "AsyncCreditBundles",
    "AsyncCustomers",
    "AsyncMeters",
    "AsyncModels",
    "AsyncPlans",
    "AsyncRequests",
    "AsyncSecretKeys",
    "AsyncSpendKeys",
    "AsyncSubscriptions",
    "AsyncUsageResource",
    "AsyncWebhooks",
    "CheckoutSessions",
    "Connections",
    "CreditBundles",
    "Customers",
    "Meters",
    "Models",
    "Plans",
    "Requests",
    "SecretKeys",
    "SpendKeys",
    "Subscriptions",
    "UsageResource",
    "Webhooks",
]

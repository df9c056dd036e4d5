"""Resource namespaces: a sync class and an async class per API resource."""

from .checkout_sessions import AsyncCheckoutSessions, CheckoutSessions
from .connections import AsyncConnections, Connections
from .requests import AsyncRequests, Requests
from .usage import AsyncUsageResource, UsageResource

__all__ = [
    "AsyncCheckoutSessions",
    "AsyncConnections",
    "AsyncRequests",
    "AsyncUsageResource",
    "CheckoutSessions",
    "Connections",
    "Requests",
    "UsageResource",
]

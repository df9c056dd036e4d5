"""``AsyncLava``: the asyncio entry point of the SDK, the twin of :class:`lava.Lava` (``_client.py``,
whose docstring says which API version either client sends).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, overload

import httpx

from . import auth
from . import gateway as _gw
from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncAPIClient
from ._common import LavaCommon, quote_body
from ._config import resolve_config
from .forward import GatewayFormat
from .resources import (
    AsyncCheckoutSessions,
    AsyncConnections,
    AsyncCreditBundles,
    AsyncCustomers,
    AsyncMeters,
    AsyncModels,
    AsyncPlans,
    AsyncRequests,
    AsyncSecretKeys,
    AsyncSpendKeys,
    AsyncSubscriptions,
    AsyncUsageResource,
    AsyncWebhooks,
)
from .types import Quote

__all__ = ["AsyncLava"]


class AsyncLava(LavaCommon):
    """Asynchronous client; the same surface as :class:`Lava` with ``await``.

    ``sleep`` replaces ``asyncio.sleep`` between retries.
    """

    checkout_sessions: AsyncCheckoutSessions
    checkout: AsyncCheckoutSessions
    connections: AsyncConnections
    customers: AsyncCustomers
    meters: AsyncMeters
    plans: AsyncPlans
    subscriptions: AsyncSubscriptions
    credit_bundles: AsyncCreditBundles
    requests: AsyncRequests
    usage: AsyncUsageResource
    secret_keys: AsyncSecretKeys
    spend_keys: AsyncSpendKeys
    webhooks: AsyncWebhooks
    models: AsyncModels

    exchange_auth_code = staticmethod(auth.exchange_auth_code_async)
    """``await AsyncLava.exchange_auth_code(code, base_url=...)`` (see :mod:`lava.auth`)."""

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        api_version: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(resolve_config(secret_key, base_url, api_version))
        self._transport = t = AsyncAPIClient(
            self._config, timeout=timeout, max_retries=max_retries, http_client=http_client, sleep=sleep
        )
        self.checkout_sessions = self.checkout = AsyncCheckoutSessions(t)
        self.connections = AsyncConnections(t)
        self.customers = AsyncCustomers(t)
        self.meters = AsyncMeters(t)
        self.plans = AsyncPlans(t)
        self.subscriptions = AsyncSubscriptions(t)
        self.credit_bundles = AsyncCreditBundles(t)
        self.requests = AsyncRequests(t)
        self.usage = AsyncUsageResource(t)
        self.secret_keys = AsyncSecretKeys(t)
        self.spend_keys = AsyncSpendKeys(t)
        self.webhooks = AsyncWebhooks(t)
        self.models = AsyncModels(t)

    @overload
    async def gateway(
        self,
        url: str,
        *,
        body: Any = ...,
        method: str = ...,
        headers: Mapping[str, str] | None = ...,
        customer_id: str | None = ...,
        meter_slug: str | None = ...,
        provider_key: str | None = ...,
        disable_billing: bool | None = ...,
        format: GatewayFormat | None = ...,
        stream: Literal[False] = ...,
    ) -> _gw.GatewayResponse: ...

    @overload
    async def gateway(
        self,
        url: str,
        *,
        body: Any = ...,
        method: str = ...,
        headers: Mapping[str, str] | None = ...,
        customer_id: str | None = ...,
        meter_slug: str | None = ...,
        provider_key: str | None = ...,
        disable_billing: bool | None = ...,
        format: GatewayFormat | None = ...,
        stream: Literal[True],
    ) -> _gw.AsyncGatewayStream: ...

    async def gateway(
        self,
        url: str,
        *,
        body: Any = None,
        method: str = "POST",
        headers: Mapping[str, str] | None = None,
        customer_id: str | None = None,
        meter_slug: str | None = None,
        provider_key: str | None = None,
        disable_billing: bool | None = None,
        format: GatewayFormat | None = None,
        stream: bool = False,
    ) -> _gw.GatewayResponse | _gw.AsyncGatewayStream:
        """See :meth:`Lava.gateway`; ``stream=True`` returns an :class:`~lava.gateway.AsyncGatewayStream`."""
        target, token = self._gateway_target(url, format, customer_id, meter_slug, provider_key, disable_billing)
        http = self._transport.http
        request = _gw.build_request(http, method, target, token, body, headers, self._transport.timeout)
        return await _gw.AsyncGatewayStream.open(http, request) if stream else await _gw.send_async(http, request)

    async def quote(
        self,
        *,
        url: str,
        body: Mapping[str, Any] | None = None,
        method: str = "POST",
        connection_secret: str | None = None,
        product_secret: str | None = None,
        customer_id: str | None = None,
        meter_slug: str | None = None,
        disable_billing: bool | None = None,
        provider_key: str | None = None,
    ) -> Quote:
        """The hold the gateway would place for this call (``POST /v1/quote``, a server extension).

        Name the payer as a token would: the 2025 secrets, or ``customer_id`` + ``meter_slug``
        (``meter_slug`` alone, or nothing, for the merchant's own calls)."""
        return Quote.model_validate(
            await self._transport.request(
                "POST",
                "quote",
                body=quote_body(
                    url,
                    body,
                    method,
                    connection_secret=connection_secret,
                    product_secret=product_secret,
                    customer_id=customer_id,
                    meter_slug=meter_slug,
                    disable_billing=disable_billing,
                    provider_key=provider_key,
                ),
            )
        )

    @property
    def max_retries(self) -> int:
        return self._transport.max_retries

    @property
    def timeout(self) -> httpx.Timeout:
        return self._transport.timeout

    @property
    def is_closed(self) -> bool:
        return self._transport.is_closed

    async def aclose(self) -> None:
        """Close the underlying ``httpx.AsyncClient`` (also one passed as ``http_client``)."""
        await self._transport.aclose()

    async def close(self) -> None:
        """Alias of :meth:`aclose`."""
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

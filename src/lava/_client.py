"""``Lava``: the entry point of the SDK (``AsyncLava``, its asyncio twin, is in ``_async_client.py``).

Which API the client speaks (recorded in docs/decisions.md): without ``api_version`` it sends
no ``X-Lava-API-Version`` header, as Node SDK 8.1.0 and later do, and the server answers in the
merchant's default profile (``compat``: both vocabularies, or ``current``). With a legacy
``api_version`` it sends that header and the server answers in the 2025 shapes. Every
resource is available either way (nothing the 2025 surface had is removed or deprecated), and
the models read both vocabularies (see :class:`lava.types.Request`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, overload

import httpx

from . import auth
from . import gateway as _gw
from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, SyncAPIClient
from ._common import LavaCommon, quote_body
from ._config import resolve_config
from .forward import GatewayFormat
from .resources import (
    CheckoutSessions,
    Connections,
    CreditBundles,
    Customers,
    Meters,
    Models,
    Plans,
    Requests,
    SecretKeys,
    SpendKeys,
    Subscriptions,
    UsageResource,
    Webhooks,
)
from .types import Quote

__all__ = ["Lava"]


class Lava(LavaCommon):
    """Synchronous client.

    ``secret_key`` falls back to ``LAVA_SECRET_KEY``; ``base_url`` to ``LAVA_BASE_URL``,
    then to the sandbox API for ``aks_test_`` keys and the live API otherwise.
    ``api_version`` (one of :data:`lava.API_VERSIONS`) selects the 2025 API; without it no
    version header is sent (the current API). ``timeout`` (seconds or an ``httpx.Timeout``)
    applies to every request, also through a custom ``http_client``, which the client closes
    with itself. ``max_retries`` bounds retries of connection errors, timeouts, 408, 429 and
    5xx on REST calls; ``sleep`` replaces ``time.sleep`` between them.
    """

    checkout_sessions: CheckoutSessions
    checkout: CheckoutSessions
    connections: Connections
    customers: Customers
    meters: Meters
    plans: Plans
    subscriptions: Subscriptions
    credit_bundles: CreditBundles
    requests: Requests
    usage: UsageResource
    secret_keys: SecretKeys
    spend_keys: SpendKeys
    webhooks: Webhooks
    models: Models

    exchange_auth_code = staticmethod(auth.exchange_auth_code)
    """``Lava.exchange_auth_code(code, base_url=...)``: CLI login, no secret key needed (see :mod:`lava.auth`)."""

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        api_version: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(resolve_config(secret_key, base_url, api_version))
        self._transport = t = SyncAPIClient(
            self._config, timeout=timeout, max_retries=max_retries, http_client=http_client, sleep=sleep
        )
        self.checkout_sessions = self.checkout = CheckoutSessions(t)
        self.connections = Connections(t)
        self.customers = Customers(t)
        self.meters = Meters(t)
        self.plans = Plans(t)
        self.subscriptions = Subscriptions(t)
        self.credit_bundles = CreditBundles(t)
        self.requests = Requests(t)
        self.usage = UsageResource(t)
        self.secret_keys = SecretKeys(t)
        self.spend_keys = SpendKeys(t)
        self.webhooks = Webhooks(t)
        self.models = Models(t)

    @overload
    def gateway(
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
    def gateway(
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
    ) -> _gw.GatewayStream: ...

    def gateway(
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
    ) -> _gw.GatewayResponse | _gw.GatewayStream:
        """Call ``url`` (a provider endpoint) through the gateway; see :mod:`lava.gateway`.

        ``customer_id`` + ``meter_slug`` charge a customer, ``meter_slug`` alone meters only,
        neither bills the merchant. ``format`` sends the call to ``/v1/rewrite/{format}/…``: the
        body and answer are in ``format``'s dialect whatever the provider. ``stream=True``
        returns a :class:`~lava.gateway.GatewayStream` (ask the provider to stream in ``body``).
        """
        target, token = self._gateway_target(url, format, customer_id, meter_slug, provider_key, disable_billing)
        http = self._transport.http
        request = _gw.build_request(http, method, target, token, body, headers, self._transport.timeout)
        return _gw.GatewayStream.open(http, request) if stream else _gw.send(http, request)

    def quote(
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
            self._transport.request(
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

    def close(self) -> None:
        """Close the underlying ``httpx.Client`` (also one passed as ``http_client``)."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

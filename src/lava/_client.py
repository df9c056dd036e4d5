"""``Lava`` and ``AsyncLava``: the entry points of the SDK."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from . import forward
from ._base import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT, AsyncAPIClient, SyncAPIClient
from ._config import DEFAULT_API_VERSION, ClientConfig, resolve_config
from .resources import (
    AsyncCheckoutSessions,
    AsyncConnections,
    AsyncRequests,
    AsyncUsageResource,
    CheckoutSessions,
    Connections,
    Requests,
    UsageResource,
)
from .types import Quote
from .webhooks import Webhooks

__all__ = ["AsyncLava", "Lava"]


def _quote_body(
    url: str,
    body: Mapping[str, Any] | None,
    method: str,
    connection_secret: str | None,
    product_secret: str | None,
    provider_key: str | None,
) -> dict[str, Any]:
    return {
        "url": url,
        "body": dict(body) if body is not None else None,
        "method": method,
        "connection_secret": connection_secret,
        "product_secret": product_secret,
        "provider_key": provider_key,
    }


class _LavaCommon:
    """What does not touch the network: configuration, forward tokens, provider URLs."""

    webhooks: Webhooks = Webhooks()
    """Webhook signature helpers (``verify``, ``construct_event``, ``sign``)."""

    def __init__(self, config: ClientConfig) -> None:
        self._config = config
        self.providers: Mapping[str, str] = forward.provider_urls(config.base_url)
        """Provider slug → ``{base_url}forward?u=<provider API base>``."""

    @property
    def secret_key(self) -> str:
        return self._config.secret_key

    @property
    def base_url(self) -> str:
        """The API root, ending with ``/`` (e.g. ``https://api.lavapayments.com/v1/``)."""
        return self._config.base_url

    @property
    def api_version(self) -> str:
        return self._config.api_version

    # Node SDK convenience URLs: append the endpoint path, e.g. openai_url + "/chat/completions".
    @property
    def openai_url(self) -> str:
        return self.providers["openai"]

    @property
    def anthropic_url(self) -> str:
        return self.providers["anthropic"]

    @property
    def mistral_url(self) -> str:
        return self.providers["mistral"]

    @property
    def deepseek_url(self) -> str:
        return self.providers["deepseek"]

    @property
    def xai_url(self) -> str:
        return self.providers["xai"]

    @property
    def google_url(self) -> str:
        return self.providers["google"]

    @property
    def google_openai_compatible_url(self) -> str:
        return self.providers["google_openai_compatible"]

    def forward_url(self, target_url: str) -> str:
        """``{base_url}forward?u=<target_url, URL-encoded>`` for any provider endpoint."""
        return forward.forward_url(self._config.base_url, target_url)

    def base_url_for(self, provider: str) -> str:
        """A ``base_url`` for the official ``openai`` / ``anthropic`` / ``google-genai`` SDKs.

        See :func:`lava.forward.base_url_for` for the exact shapes.
        """
        return forward.base_url_for(self._config.base_url, provider)

    def generate_forward_token(
        self,
        *,
        connection_secret: str | None,
        product_secret: str | None,
        provider_key: str | None = None,
    ) -> str:
        """The ``Authorization: Bearer`` token for forward calls (byte-identical to the Node SDK)."""
        return forward.generate_forward_token(
            secret_key=self._config.secret_key,
            connection_secret=connection_secret,
            product_secret=product_secret,
            provider_key=provider_key,
        )

    @staticmethod
    def decode_forward_token(token: str) -> dict[str, Any]:
        return forward.decode_forward_token(token)

    def __repr__(self) -> str:
        # never the secret key
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_version={self.api_version!r})"


class Lava(_LavaCommon):
    """Synchronous client.

    ``secret_key`` falls back to ``LAVA_SECRET_KEY``; ``base_url`` to ``LAVA_BASE_URL``,
    then to the sandbox API for ``aks_test_`` keys and the live API otherwise.
    ``timeout`` (seconds or an ``httpx.Timeout``) applies to every request, also
    through a custom ``http_client``, which the client closes with itself.
    ``max_retries`` bounds retries of connection errors, timeouts, 408, 429 and 5xx;
    ``sleep`` replaces ``time.sleep`` between them (tests, custom schedulers).
    """

    checkout_sessions: CheckoutSessions
    checkout: CheckoutSessions
    connections: Connections
    requests: Requests
    usage: UsageResource

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        super().__init__(resolve_config(secret_key, base_url, api_version))
        self._transport = SyncAPIClient(
            self._config, timeout=timeout, max_retries=max_retries, http_client=http_client, sleep=sleep
        )
        self.checkout_sessions = CheckoutSessions(self._transport)
        self.checkout = self.checkout_sessions
        self.connections = Connections(self._transport)
        self.requests = Requests(self._transport)
        self.usage = UsageResource(self._transport)

    def quote(
        self,
        *,
        url: str,
        body: Mapping[str, Any] | None = None,
        method: str = "POST",
        connection_secret: str | None,
        product_secret: str | None = None,
        provider_key: str | None = None,
    ) -> Quote:
        """The hold the gateway would place for this call (``POST /v1/quote``, a server extension)."""
        return Quote.model_validate(
            self._transport.request(
                "POST", "quote", body=_quote_body(url, body, method, connection_secret, product_secret, provider_key)
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


class AsyncLava(_LavaCommon):
    """Asynchronous client; the same surface as :class:`Lava` with ``await``.

    ``sleep`` replaces ``asyncio.sleep`` between retries.
    """

    checkout_sessions: AsyncCheckoutSessions
    checkout: AsyncCheckoutSessions
    connections: AsyncConnections
    requests: AsyncRequests
    usage: AsyncUsageResource

    def __init__(
        self,
        secret_key: str | None = None,
        *,
        api_version: str = DEFAULT_API_VERSION,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(resolve_config(secret_key, base_url, api_version))
        self._transport = AsyncAPIClient(
            self._config, timeout=timeout, max_retries=max_retries, http_client=http_client, sleep=sleep
        )
        self.checkout_sessions = AsyncCheckoutSessions(self._transport)
        self.checkout = self.checkout_sessions
        self.connections = AsyncConnections(self._transport)
        self.requests = AsyncRequests(self._transport)
        self.usage = AsyncUsageResource(self._transport)

    async def quote(
        self,
        *,
        url: str,
        body: Mapping[str, Any] | None = None,
        method: str = "POST",
        connection_secret: str | None,
        product_secret: str | None = None,
        provider_key: str | None = None,
    ) -> Quote:
        """The hold the gateway would place for this call (``POST /v1/quote``, a server extension)."""
        return Quote.model_validate(
            await self._transport.request(
                "POST", "quote", body=_quote_body(url, body, method, connection_secret, product_secret, provider_key)
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

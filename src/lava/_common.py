"""What ``Lava`` and ``AsyncLava`` share without touching the network: configuration,
provider and gateway URLs, forward tokens."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _tokens, forward
from ._config import ClientConfig, Generation
from ._params import NOT_GIVEN, NotGiven
from .forward import GatewayFormat

__all__ = ["LavaCommon", "quote_body"]


class LavaCommon:
    """Configuration, provider URLs and forward tokens (no I/O)."""

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
    def api_version(self) -> str | None:
        """The ``X-Lava-API-Version`` sent, or ``None`` (no header: the current API)."""
        return self._config.api_version

    @property
    def generation(self) -> Generation:
        """``2025`` with a legacy ``api_version``, else ``current``."""
        return self._config.generation

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

    def rewrite_url(self, format: GatewayFormat, provider_url: str) -> str:
        """A ``base_url`` for an official SDK speaking ``format``, reaching another provider through
        ``/v1/rewrite`` (e.g. ``OpenAI(base_url=lava.rewrite_url("openai", "https://api.anthropic.com/v1/messages"))``).

        See :func:`lava.forward.rewrite_url`.
        """
        return forward.rewrite_url(self._config.base_url, format, provider_url)

    def generate_forward_token(
        self,
        *,
        customer_id: str | NotGiven | None = NOT_GIVEN,
        meter_slug: str | NotGiven | None = NOT_GIVEN,
        provider_key: str | None = None,
        disable_billing: bool | None = None,
        connection_secret: str | NotGiven | None = NOT_GIVEN,
        product_secret: str | NotGiven | None = NOT_GIVEN,
    ) -> str:
        """The ``Authorization: Bearer`` token for gateway calls, byte-identical to Node 11.2.0.

        ``generate_forward_token()`` (merchant pays), ``(meter_slug=...)`` (meter-only),
        ``(customer_id=..., meter_slug=...)`` (customer charged; ``disable_billing=True``
        tracks only), or the 2025 ``(connection_secret=..., product_secret=...)``; each may
        add ``provider_key``. See :func:`lava.forward.generate_forward_token`.
        """
        return _tokens.generate_forward_token(
            secret_key=self._config.secret_key,
            customer_id=customer_id,
            meter_slug=meter_slug,
            provider_key=provider_key,
            disable_billing=disable_billing,
            connection_secret=connection_secret,
            product_secret=product_secret,
        )

    def _gateway_target(
        self,
        url: str,
        format: GatewayFormat | None,
        customer_id: str | None,
        meter_slug: str | None,
        provider_key: str | None,
        disable_billing: bool | None,
    ) -> tuple[str, str]:
        """(gateway URL, token) exactly as Node's ``gateway()`` picks them; raises before any I/O."""
        fields = _tokens.gateway_token_fields(customer_id, meter_slug, provider_key, disable_billing)
        token = _tokens.generate_forward_token(secret_key=self._config.secret_key, **fields)
        return forward.gateway_url(self._config.base_url, url, format), token

    @staticmethod
    def decode_forward_token(token: str) -> dict[str, Any]:
        return _tokens.decode_forward_token(token)

    def __repr__(self) -> str:
        # never the secret key
        return f"{type(self).__name__}(base_url={self.base_url!r}, api_version={self.api_version!r})"


def quote_body(url: str, body: Mapping[str, Any] | None, method: str, **payer: str | bool | None) -> dict[str, Any]:
    """The call and the token's fields but the secret key (sent as Bearer); 2025 or current form."""
    legacy = payer["connection_secret"] is not None or payer["product_secret"] is not None
    current = payer["customer_id"] is not None or payer["meter_slug"] is not None
    if legacy and current:
        raise ValueError("connection_secret/product_secret (2025) cannot be mixed with customer_id/meter_slug")
    return {"url": url, "body": dict(body) if body is not None else None, "method": method, **payer}

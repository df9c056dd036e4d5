"""Forward tokens (docs/gateway.md "Token"; docs/current-api.md "Token forms"): where they are carried, how they decode,
what they resolve to.

A token is a bare ``aks_`` secret key, or base64 (standard or URL-safe) of a JSON object in one of
two forms:

* legacy (2025): ``{secret_key, connection_secret, product_secret, provider_key?}``;
* current (8.x–11.x): ``{secret_key, customer_id | connection_id?, meter_slug?, disable_billing?,
  provider_key?}``. ``customer_id`` without ``meter_slug`` is refused.

A JSON object that names ``connection_secret`` or ``product_secret`` (even as null) is the legacy
form. Resolution (``ForwardAuthenticator``) is authentication, implemented in
``auth/forward_tokens.py``: cached for a few seconds per token, and every revocation bumps the
stored auth epoch, which every replica checks before trusting its cache (``store/auth_epoch.py``).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import orjson

from ..billing.product_config import ProductConfig
from ..errors import ApiError
from ..ids import SECRET_KEY, is_spend_key, secret_mode
from ..store.merchants import MerchantKey

MAX_TOKEN_LENGTH = 4096
PROVIDER_KEY_RE = re.compile(r"[\x21-\x7e]{1,1024}")
CARRIER_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "xi-api-key")


TokenForm = Literal["merchant", "meter", "customer", "customer_untracked", "legacy", "legacy_metering"]
LEGACY_FIELDS = ("connection_secret", "product_secret")
CURRENT_FIELDS = ("customer_id", "connection_id", "meter_slug")


@dataclass(frozen=True)
class ForwardToken:
    secret_key: str
    connection_secret: str | None = None
    product_secret: str | None = None
    provider_key: str | None = None
    customer: str | None = None  # customer_id ≡ connection_id: a con_ id or a reference_id
    meter_slug: str | None = None  # a slug, or a prd_ id
    disable_billing: bool = False
    legacy: bool = True  # the 2025 form (connection_secret / product_secret)

    @property
    def form(self) -> TokenForm:
        """Who pays, as docs/current-api.md "Token forms" tabulates it."""
        if self.legacy:
            return "legacy" if self.connection_secret is not None else "legacy_metering"
        if self.customer is not None:
            return "customer_untracked" if self.disable_billing else "customer"
        return "meter" if self.meter_slug is not None else "merchant"


@dataclass(frozen=True)
class ForwardAuth:
    merchant: MerchantKey
    connection_id: str | None
    wallet_id: str | None
    connection_created_at: int | None
    product_id: str | None
    product: ProductConfig | None
    provider_key: str | None  # BYOK ("unmanaged") when set
    form: TokenForm = "legacy"
    spend_key_id: str | None = None  # a spend key (docs/spend-keys.md): the merchant pays, within the key's limits

    @property
    def metering_only(self) -> bool:
        return self.connection_id is None


def _invalid(message: str) -> ApiError:
    return ApiError(401, "invalid_forward_token", message)


def decode_token(token: str) -> ForwardToken:
    if len(token) > MAX_TOKEN_LENGTH:
        raise _invalid(f"forward token is longer than {MAX_TOKEN_LENGTH} characters")
    if secret_mode(token, SECRET_KEY) is not None:
        return ForwardToken(token, legacy=False)  # a bare secret key: the merchant pays (form `merchant`)
    if len(token) > MAX_TOKEN_LENGTH:
        raise _invalid(f"forward token is longer than {MAX_TOKEN_LENGTH} characters")
    try:
        raw = base64.b64decode(
            token + "=" * (-len(token) % 4), altchars=b"-_" if ("-" in token or "_" in token) else None, validate=True
        )
        data = orjson.loads(raw)
    except (binascii.Error, ValueError, orjson.JSONDecodeError) as exc:
        raise _invalid("forward token is not base64-encoded JSON (generate it with generate_forward_token)") from exc
    if not isinstance(data, dict):
        raise _invalid("forward token must encode a JSON object")
    return parse_token_object(data)


def parse_token_object(data: Mapping[str, Any]) -> ForwardToken:
    def field(name: str) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > 1024:
            raise _invalid(f"forward token field {name} must be a non-empty string or null")
        return value

    provider_key = field("provider_key")
    if provider_key is not None and not PROVIDER_KEY_RE.fullmatch(provider_key):
        raise _invalid("forward token field provider_key must be printable ASCII without spaces")
    secret_key = field("secret_key")
    if secret_key is None:
        raise _invalid("forward token has no secret_key")
    legacy = any(name in data for name in LEGACY_FIELDS)
    if not legacy:
        return _current_token(data, secret_key, provider_key, field)
    if any(data.get(name) is not None for name in CURRENT_FIELDS) or data.get("disable_billing") is not None:
        raise _invalid(
            "a token cannot mix connection_secret/product_secret with customer_id, connection_id or meter_slug"
        )
    token = ForwardToken(secret_key, field("connection_secret"), field("product_secret"), provider_key)
    if token.connection_secret is None and token.product_secret is not None:
        raise _invalid("forward token has a product_secret but no connection_secret")
    if token.connection_secret is None and token.provider_key is None:
        raise _invalid("a metering-only token (null connection_secret) needs a provider_key")
    return token


def _current_token(
    data: Mapping[str, Any], secret_key: str, provider_key: str | None, field: Callable[[str], str | None]
) -> ForwardToken:
    customer_id, connection_id = field("customer_id"), field("connection_id")
    if customer_id is not None and connection_id is not None and customer_id != connection_id:
        raise _invalid("customer_id and connection_id name different customers")
    customer = customer_id or connection_id
    meter_slug = field("meter_slug")
    disable = data.get("disable_billing")
    if disable is not None and not isinstance(disable, bool):
        raise _invalid("forward token field disable_billing must be a boolean or null")
    if customer is not None and meter_slug is None:
        raise _invalid("customer_id requires meter_slug: give both for customer billing, or neither")
    return ForwardToken(
        secret_key,
        provider_key=provider_key,
        customer=customer,
        meter_slug=meter_slug,
        disable_billing=bool(disable) and customer is not None,  # meaningful only with customer and meter
        legacy=False,
    )


def looks_like_token(value: str) -> bool:
    """Cheap check before decoding: Lava tokens are base64 of '{"secret_key":', or a bare secret key."""
    return value.startswith("eyJ") or secret_mode(value, SECRET_KEY) is not None or is_spend_key(value)


def extract_token(headers: Mapping[str, str], key_param: str | None) -> tuple[str, str]:
    """(token, carrier) — carrier is a header name or ``"?key"``. Order: Bearer, x-api-key,
    x-goog-api-key, ?key=, xi-api-key; the first value that looks like a Lava token wins."""
    candidates: list[tuple[str, str | None]] = []
    auth = headers.get("authorization")
    if auth is not None:
        scheme, _, bearer = auth.strip().partition(" ")
        candidates.append(("authorization", bearer.strip() if scheme.lower() == "bearer" else None))
    candidates += [("x-api-key", headers.get("x-api-key")), ("x-goog-api-key", headers.get("x-goog-api-key"))]
    candidates += [("?key", key_param), ("xi-api-key", headers.get("xi-api-key"))]
    for carrier, candidate in candidates:
        if candidate and looks_like_token(candidate):
            return candidate, carrier
    bearer_value = candidates[0][1] if candidates and candidates[0][0] == "authorization" else None
    if bearer_value:
        # Something was sent as the Bearer credential but it is not a Lava token: say so precisely
        # (decode_token raises invalid_forward_token) rather than claiming nothing was sent.
        return bearer_value, "authorization"
    raise ApiError(
        401,
        "missing_forward_token",
        "no forward token: send it as 'Authorization: Bearer <token>' (or x-api-key, x-goog-api-key, ?key=, xi-api-key)",
    )


class ForwardAuthenticator(Protocol):
    """What the gateway needs to authenticate a forward token (implemented in the auth layer by
    :class:`lava_server.auth.forward_tokens.ForwardTokenAuthenticator`).

    Both methods raise ``ApiError`` 401 (``invalid_forward_token``, ``authentication_failed``,
    ``invalid_connection_secret``, ``invalid_product_secret``, ``invalid_customer``,
    ``invalid_meter_slug``) or 403 (``connection_inactive``, ``customer_inactive``).
    """

    async def authenticate(self, token: str) -> ForwardAuth:
        """Decode and resolve a raw token (cached briefly)."""
        ...

    async def resolve(self, token: ForwardToken) -> ForwardAuth:
        """Resolve already-parsed token fields (uncached)."""
        ...

    def forget_all(self) -> None:
        """Drop every cached resolution (a secret or connection changed)."""
        ...

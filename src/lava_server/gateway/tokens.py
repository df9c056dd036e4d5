"""Forward tokens (spec §4.2): where they are carried, how they decode, what they resolve to.

A token is standard base64 of a JSON object ``{secret_key, connection_secret, product_secret,
provider_key?}``. Resolution is cached for a few seconds per token (no database read on the
hot path); deleting a connection drops the cache on this replica immediately.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..auth.cache import TtlCache
from ..auth.keyring import Keyring
from ..auth.merchant_keys import KeyAuthenticator
from ..billing.product_config import ProductConfig
from ..errors import ApiError
from ..ids import CONNECTION_SECRET, PRODUCT_SECRET, secret_mode
from ..store import Database
from ..store.connections import find_connection_by_secret
from ..store.merchants import MerchantKey, find_product_by_secret

MAX_TOKEN_LENGTH = 4096
PROVIDER_KEY_RE = re.compile(r"[\x21-\x7e]{1,1024}")
CARRIER_HEADERS = ("authorization", "x-api-key", "x-goog-api-key", "xi-api-key")


@dataclass(frozen=True)
class ForwardToken:
    secret_key: str
    connection_secret: str | None
    product_secret: str | None
    provider_key: str | None


@dataclass(frozen=True)
class ForwardAuth:
    merchant: MerchantKey
    connection_id: str | None
    wallet_id: str | None
    connection_created_at: int | None
    product_id: str | None
    product: ProductConfig | None
    provider_key: str | None  # BYOK ("unmanaged") when set

    @property
    def metering_only(self) -> bool:
        return self.connection_id is None


def _invalid(message: str) -> ApiError:
    return ApiError(401, "invalid_forward_token", message)


def decode_token(token: str) -> ForwardToken:
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
    token = ForwardToken(secret_key, field("connection_secret"), field("product_secret"), provider_key)
    if token.connection_secret is None and token.product_secret is not None:
        raise _invalid("forward token has a product_secret but no connection_secret")
    if token.connection_secret is None and token.provider_key is None:
        raise _invalid("a metering-only token (null connection_secret) needs a provider_key")
    return token


def looks_like_token(value: str) -> bool:
    """Cheap check before decoding: Lava tokens are base64 of '{"secret_key":'."""
    return value.startswith("eyJ")


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


class ForwardAuthenticator:
    def __init__(self, db: Database, keyring: Keyring, keys: KeyAuthenticator, ttl_s: float) -> None:
        self._db = db
        self._keyring = keyring
        self._keys = keys
        self._cache: TtlCache[str, ForwardAuth] = TtlCache(ttl_s, max_entries=50_000)

    def forget_all(self) -> None:
        self._cache.clear()

    async def authenticate(self, token: str) -> ForwardAuth:
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        resolved = await self._resolve(decode_token(token))
        self._cache.put(token, resolved)
        return resolved

    async def resolve(self, token: ForwardToken) -> ForwardAuth:
        """Resolve already-parsed token fields (uncached): used by ``/v1/quote`` with a secret key."""
        return await self._resolve(token)

    async def _resolve(self, token: ForwardToken) -> ForwardAuth:
        merchant = await self._keys.resolve(token.secret_key)
        if merchant is None:
            raise ApiError(401, "authentication_failed", "the forward token's secret_key is not valid")
        if token.connection_secret is None:
            return ForwardAuth(merchant, None, None, None, None, None, token.provider_key)
        if secret_mode(token.connection_secret, CONNECTION_SECRET) != merchant.mode:
            raise ApiError(401, "invalid_connection_secret", f"connection_secret is not a {merchant.mode}-mode secret")
        connection = await find_connection_by_secret(self._db, self._keyring.hash_secret(token.connection_secret))
        if connection is None or connection.merchant_id != merchant.merchant_id or connection.mode != merchant.mode:
            raise ApiError(
                401, "invalid_connection_secret", "connection_secret does not match a connection of this merchant"
            )
        if connection.deleted_at is not None:
            raise ApiError(403, "connection_inactive", "this connection has been deleted")
        product_id: str | None = None
        product: ProductConfig | None = None
        if token.product_secret is not None:
            if secret_mode(token.product_secret, PRODUCT_SECRET) != merchant.mode:
                raise ApiError(401, "invalid_product_secret", f"product_secret is not a {merchant.mode}-mode secret")
            found = await find_product_by_secret(self._db, self._keyring.hash_secret(token.product_secret))
            if found is None or found.merchant_id != merchant.merchant_id or found.mode != merchant.mode:
                raise ApiError(
                    401, "invalid_product_secret", "product_secret does not match a product of this merchant"
                )
            product_id, product = found.id, ProductConfig.from_json(found.config_json)
        return ForwardAuth(
            merchant,
            connection.id,
            connection.wallet_id,
            connection.created_at,
            product_id,
            product,
            token.provider_key,
        )

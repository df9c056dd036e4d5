"""Forward-token resolution: a decoded token's secrets → merchant, connection and product.

The token's format and carriers live in :mod:`lava_server.gateway.tokens` (the gateway reads
them); resolving the secrets against the store is authentication, so it lives here and the
gateway sees it only through the ``gateway.tokens.ForwardAuthenticator`` protocol. Resolutions
are cached for ``ttl_s`` per token; ``forget_all`` drops them on this replica, and every
revocation (key, customer, meter, tiers) bumps the stored auth epoch, which each replica reads
before trusting its cache, so nothing revoked is honoured after the revoking commit.

Both token generations resolve here (docs/current-api.md "Token forms"): the 2025 secrets, and the current
``customer_id`` (a ``con_`` id or a reference_id) + ``meter_slug`` (a slug or a ``prd_`` id).
"""

from __future__ import annotations

from ..billing.product_config import ProductConfig
from ..errors import ApiError
from ..gateway.tokens import ForwardAuth, ForwardToken, decode_token
from ..ids import CONNECTION_SECRET, PRODUCT_SECRET, is_spend_key, secret_mode
from ..store import Database
from ..store.auth_epoch import read_auth_epoch
from ..store.connections import find_connection_by_secret
from ..store.customers import find_customer
from ..store.merchants import MerchantKey, find_product_by_secret
from ..store.meters import find_meter
from .cache import TtlCache
from .keyring import Keyring
from .merchant_keys import KeyAuthenticator
from .spend_keys import SpendKeyAuthenticator


class ForwardTokenAuthenticator:
    """Resolves forward tokens (see the module docstring); implements ``gateway.tokens.ForwardAuthenticator``."""

    def __init__(self, db: Database, keyring: Keyring, keys: KeyAuthenticator, ttl_s: float) -> None:
        self._db = db
        self._keyring = keyring
        self._keys = keys
        self._spend_keys = SpendKeyAuthenticator(db, keyring)
        self._cache: TtlCache[str, ForwardAuth] = TtlCache(ttl_s, max_entries=50_000)
        self._epoch = -1

    def forget_all(self) -> None:
        self._cache.clear()

    async def authenticate(self, token: str) -> ForwardAuth:
        if is_spend_key(token):  # never cached: read fresh on every call (see auth/spend_keys.py)
            found = await self._spend_keys.authenticate(token)
            return ForwardAuth(found.merchant, None, None, None, None, None, None, "merchant", found.key.id)
        epoch = await read_auth_epoch(self._db)
        if epoch != self._epoch:  # something was revoked (maybe on another replica): trust nothing cached
            self._cache.clear()
            self._epoch = epoch
        cached = self._cache.get(token)
        if cached is not None:
            return cached
        resolved = await self._resolve(decode_token(token))
        if self._epoch == epoch:  # a revocation that raced this resolution must not be cached over
            self._cache.put(token, resolved)
        return resolved

    async def resolve(self, token: ForwardToken) -> ForwardAuth:
        """Resolve already-parsed token fields (uncached): used by ``/v1/quote`` with a secret key."""
        return await self._resolve(token)

    async def _resolve(self, token: ForwardToken) -> ForwardAuth:
        merchant = await self._keys.resolve(token.secret_key)
        if merchant is None:
            raise ApiError(401, "authentication_failed", "the forward token's secret_key is not valid")
        if not token.legacy:
            return await self._resolve_current(merchant, token)
        if token.connection_secret is None:
            return ForwardAuth(merchant, None, None, None, None, None, token.provider_key, token.form)
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
            if (
                found is None
                or found.merchant_id != merchant.merchant_id
                or found.mode != merchant.mode
                or found.deleted_at is not None
            ):
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
            token.form,
        )

    async def _resolve_current(self, merchant: MerchantKey, token: ForwardToken) -> ForwardAuth:
        """The current forms (docs/current-api.md "Token forms"): only ``customer`` debits the customer."""
        product_id: str | None = None
        product: ProductConfig | None = None
        if token.meter_slug is not None:
            meter = await find_meter(self._db, merchant.merchant_id, merchant.mode, token.meter_slug)
            if meter is None:
                raise ApiError(401, "invalid_meter_slug", f"no meter {token.meter_slug!r} for this secret key")
            product_id, product = meter.id, ProductConfig.from_json(meter.config_json)
        if token.customer is None:
            # Forms merchant and meter: nothing debited, the meter (if any) only recorded.
            return ForwardAuth(merchant, None, None, None, product_id, product, token.provider_key, token.form)
        customer = await find_customer(self._db, merchant.merchant_id, merchant.mode, token.customer)
        if customer is None:
            raise ApiError(401, "invalid_customer", f"no customer {token.customer!r} for this secret key")
        if customer.deleted_at is not None:
            raise ApiError(403, "customer_inactive", "this customer has been deleted")
        # Form customer_untracked (disable_billing): the customer is recorded, no wallet is named, so nothing is debited.
        wallet_id = None if token.disable_billing else customer.wallet_id
        return ForwardAuth(
            merchant,
            customer.id,
            wallet_id,
            customer.created_at,
            product_id,
            product,
            token.provider_key,
            token.form,
        )

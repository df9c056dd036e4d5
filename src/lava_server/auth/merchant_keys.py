"""Merchant authentication by secret key (``Authorization: Bearer aks_…``)."""

from __future__ import annotations

from ..errors import ApiError
from ..ids import SECRET_KEY, secret_mode
from ..store import Database
from ..store.auth_epoch import read_auth_epoch
from ..store.merchants import MerchantKey, find_key
from .cache import TtlCache
from .keyring import Keyring

MAX_SECRET_LENGTH = 200


class KeyAuthenticator:
    """Resolves secret keys to merchants; hits are cached for a few seconds, and dropped as soon as
    the stored auth epoch moves (any revocation, on any replica)."""

    def __init__(self, db: Database, keyring: Keyring, ttl_s: float) -> None:
        self._db = db
        self._keyring = keyring
        self._cache: TtlCache[str, MerchantKey] = TtlCache(ttl_s)
        self._epoch = -1

    async def resolve(self, secret_key: str) -> MerchantKey | None:
        if len(secret_key) > MAX_SECRET_LENGTH or secret_mode(secret_key, SECRET_KEY) is None:
            return None
        digest = self._keyring.hash_secret(secret_key)
        epoch = await read_auth_epoch(self._db)
        if epoch != self._epoch:  # a key was revoked (maybe on another replica): trust nothing cached
            self._cache.clear()
            self._epoch = epoch
        cached = self._cache.get(digest)
        if cached is not None:
            return cached
        found = await find_key(self._db, digest)
        if found is not None and self._epoch == epoch:  # not if a revocation raced this read
            self._cache.put(digest, found)
        return found

    async def authenticate(self, authorization: str | None) -> MerchantKey:
        if not authorization:
            raise ApiError(401, "authentication_failed", "missing Authorization header: use 'Bearer aks_…'")
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "authentication_failed", "Authorization must be 'Bearer <secret key>'")
        found = await self.resolve(token.strip())
        if found is None:
            raise ApiError(401, "authentication_failed", "invalid secret key")
        return found

    def forget_all(self) -> None:
        self._cache.clear()

"""``/secret_keys`` and ``/models`` (the current API)."""

from __future__ import annotations

from .._params import path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import CreatedSecretKey, Deleted, ModelList, SecretKey
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncModels", "AsyncSecretKeys", "Models", "SecretKeys"]


class SecretKeys(SyncAPIResource):
    def list(self, *, cursor: str | None = None, limit: int | None = None) -> SyncPage[SecretKey]:
        """The keys of the caller's mode, with hints only."""
        return self._page("secret_keys", SecretKey, {"cursor": cursor, "limit": limit})

    def create(self, *, name: str) -> CreatedSecretKey:
        """A new key in the caller's mode; ``secret_key`` is shown only here."""
        return CreatedSecretKey.model_validate(self._client.request("POST", "secret_keys", body={"name": name}))

    def delete(self, secret_key_id: str) -> Deleted:
        """Revoke at once. The last key (400 ``last_secret_key``) and a key younger than 15 s
        (409 ``secret_key_cooldown``) cannot be revoked."""
        return Deleted.model_validate(self._client.request("DELETE", f"secret_keys/{path_segment(secret_key_id)}"))


class AsyncSecretKeys(AsyncAPIResource):
    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> AsyncPage[SecretKey]:
        """The keys of the caller's mode, with hints only."""
        return await self._page("secret_keys", SecretKey, {"cursor": cursor, "limit": limit})

    async def create(self, *, name: str) -> CreatedSecretKey:
        """See :meth:`SecretKeys.create`."""
        raw = await self._client.request("POST", "secret_keys", body={"name": name})
        return CreatedSecretKey.model_validate(raw)

    async def delete(self, secret_key_id: str) -> Deleted:
        """See :meth:`SecretKeys.delete`."""
        raw = await self._client.request("DELETE", f"secret_keys/{path_segment(secret_key_id)}")
        return Deleted.model_validate(raw)


class Models(SyncAPIResource):
    def list(self) -> ModelList:
        """The models the gateway can route and price (filtered by a spend key's allow-lists)."""
        return ModelList.model_validate(self._client.request("GET", "models"))


class AsyncModels(AsyncAPIResource):
    async def list(self) -> ModelList:
        """See :meth:`Models.list`."""
        return ModelList.model_validate(await self._client.request("GET", "models"))

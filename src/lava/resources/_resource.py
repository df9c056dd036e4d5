"""Base classes of the resource namespaces (``lava.customers`` etc.) and their list helper."""

from __future__ import annotations

from typing import TypeVar

from .._base import AsyncAPIClient, Params, SyncAPIClient
from ..pagination import AsyncPage, SyncPage
from ..types import LavaModel

__all__ = ["AsyncAPIResource", "SyncAPIResource"]

T = TypeVar("T", bound=LavaModel)


class SyncAPIResource:
    __slots__ = ("_client",)

    def __init__(self, client: SyncAPIClient) -> None:
        self._client = client

    def _page(self, path: str, model: type[T], params: Params) -> SyncPage[T]:
        """GET a cursor list; ``params`` keeps Node's order (cursor, limit, then filters)."""

        def fetch(cursor: str | None) -> SyncPage[T]:
            raw = self._client.request("GET", path, params={**params, "cursor": cursor})
            return SyncPage(raw, model, fetch)

        first = params.get("cursor")
        return fetch(first if isinstance(first, str) else None)


class AsyncAPIResource:
    __slots__ = ("_client",)

    def __init__(self, client: AsyncAPIClient) -> None:
        self._client = client

    async def _page(self, path: str, model: type[T], params: Params) -> AsyncPage[T]:
        """GET a cursor list; ``params`` keeps Node's order (cursor, limit, then filters)."""

        async def fetch(cursor: str | None) -> AsyncPage[T]:
            raw = await self._client.request("GET", path, params={**params, "cursor": cursor})
            return AsyncPage(raw, model, fetch)

        first = params.get("cursor")
        return await fetch(first if isinstance(first, str) else None)

"""``/connections`` (``/openapi.json``)."""

from __future__ import annotations

from .._params import path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import Connection, DeleteResult
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncConnections", "Connections"]


class Connections(SyncAPIResource):
    def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> SyncPage[Connection]:
        """Newest first; ``reference_id`` is an exact match. Iterate the page to walk all of them."""

        def fetch(next_cursor: str | None) -> SyncPage[Connection]:
            params = {"cursor": next_cursor, "limit": limit, "reference_id": reference_id}
            raw = self._client.request("GET", "connections", params=params)
            return SyncPage(raw, Connection, fetch)

        return fetch(cursor)

    def retrieve(self, connection_id: str) -> Connection:
        raw = self._client.request("GET", f"connections/{path_segment(connection_id)}")
        return Connection.model_validate(raw)

    def delete(self, connection_id: str) -> DeleteResult:
        raw = self._client.request("DELETE", f"connections/{path_segment(connection_id)}")
        return DeleteResult.model_validate(raw)


class AsyncConnections(AsyncAPIResource):
    async def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> AsyncPage[Connection]:
        """Newest first; ``reference_id`` is an exact match. ``async for`` walks all of them."""

        async def fetch(next_cursor: str | None) -> AsyncPage[Connection]:
            params = {"cursor": next_cursor, "limit": limit, "reference_id": reference_id}
            raw = await self._client.request("GET", "connections", params=params)
            return AsyncPage(raw, Connection, fetch)

        return await fetch(cursor)

    async def retrieve(self, connection_id: str) -> Connection:
        raw = await self._client.request("GET", f"connections/{path_segment(connection_id)}")
        return Connection.model_validate(raw)

    async def delete(self, connection_id: str) -> DeleteResult:
        raw = await self._client.request("DELETE", f"connections/{path_segment(connection_id)}")
        return DeleteResult.model_validate(raw)

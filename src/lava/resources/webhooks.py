"""``/webhooks`` CRUD (docs/webhooks.md), plus the signature helpers of :mod:`lava.webhooks`."""

from __future__ import annotations

from .._params import path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import CreatedWebhook, Deleted, Webhook
from ..webhooks import Webhooks as _SignatureHelpers
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncWebhooks", "Webhooks"]


class Webhooks(SyncAPIResource, _SignatureHelpers):
    """``lava.webhooks``: endpoints (``list``/``create``/…) and ``construct_event``/``verify``."""

    __slots__ = ()

    def list(self, *, cursor: str | None = None, limit: int | None = None) -> SyncPage[Webhook]:
        return self._page("webhooks", Webhook, {"cursor": cursor, "limit": limit})

    def retrieve(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(self._client.request("GET", f"webhooks/{path_segment(webhook_id)}"))

    def create(self, *, name: str, url: str) -> CreatedWebhook:
        """Register an https endpoint (at most 3: 400 ``webhook_limit_reached``).
        ``webhook_secret`` is shown only here."""
        raw = self._client.request("POST", "webhooks", body={"name": name, "url": url})
        return CreatedWebhook.model_validate(raw)

    def update(self, webhook_id: str, *, name: str | None = None, url: str | None = None) -> Webhook:
        """Rename or move an endpoint; its secret is unchanged."""
        raw = self._client.request("PATCH", f"webhooks/{path_segment(webhook_id)}", body={"name": name, "url": url})
        return Webhook.model_validate(raw)

    def delete(self, webhook_id: str) -> Deleted:
        return Deleted.model_validate(self._client.request("DELETE", f"webhooks/{path_segment(webhook_id)}"))


class AsyncWebhooks(AsyncAPIResource, _SignatureHelpers):
    """``lava.webhooks`` of ``AsyncLava``: awaitable CRUD; the signature helpers stay synchronous."""

    __slots__ = ()

    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> AsyncPage[Webhook]:
        return await self._page("webhooks", Webhook, {"cursor": cursor, "limit": limit})

    async def retrieve(self, webhook_id: str) -> Webhook:
        return Webhook.model_validate(await self._client.request("GET", f"webhooks/{path_segment(webhook_id)}"))

    async def create(self, *, name: str, url: str) -> CreatedWebhook:
        """See :meth:`Webhooks.create`."""
        raw = await self._client.request("POST", "webhooks", body={"name": name, "url": url})
        return CreatedWebhook.model_validate(raw)

    async def update(self, webhook_id: str, *, name: str | None = None, url: str | None = None) -> Webhook:
        """See :meth:`Webhooks.update`."""
        raw = await self._client.request(
            "PATCH", f"webhooks/{path_segment(webhook_id)}", body={"name": name, "url": url}
        )
        return Webhook.model_validate(raw)

    async def delete(self, webhook_id: str) -> Deleted:
        return Deleted.model_validate(await self._client.request("DELETE", f"webhooks/{path_segment(webhook_id)}"))

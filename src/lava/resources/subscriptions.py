"""``/subscriptions`` (the current API). Paid plans are sold through checkout, not here."""

from __future__ import annotations

from typing import Any, Literal

from .._params import path_segment
from ..errors import LavaError
from ..pagination import AsyncPage, SyncPage
from ..types import DeleteResult, Subscription
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncSubscriptions", "StatusFilter", "Subscriptions"]

StatusFilter = Literal["active", "cancelled", "all"]


def _unwrap(raw: Any) -> Subscription:
    if not isinstance(raw, dict) or not isinstance(raw.get("subscription"), dict):
        raise LavaError("Expected {subscription: {...}} from POST subscriptions")
    return Subscription.model_validate(raw["subscription"])


def _list_params(
    cursor: str | None, limit: int | None, status: StatusFilter | None, customer_id: str | None
) -> dict[str, str | int | None]:
    return {"cursor": cursor, "limit": limit, "status": status, "customer_id": customer_id}


class Subscriptions(SyncAPIResource):
    def create(self, *, customer_id: str, plan_id: str) -> Subscription:
        """Put a customer on a **free** plan (a paid one raises 400 ``paid_plan_requires_checkout``).
        From a paid plan this becomes a pending downgrade, and the current subscription is returned."""
        raw = self._client.request("POST", "subscriptions", body={"customer_id": customer_id, "plan_id": plan_id})
        return _unwrap(raw)

    def list(
        self,
        *,
        status: StatusFilter | None = None,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> SyncPage[Subscription]:
        """``status`` defaults to ``active`` on the server."""
        return self._page("subscriptions", Subscription, _list_params(cursor, limit, status, customer_id))

    def update(self, subscription_id: str, *, auto_top_up_bundle_id: str | None) -> DeleteResult:
        """Set the bundle bought automatically when credits run out (``None`` disables it)."""
        raw = self._client.request(
            "PATCH",
            f"subscriptions/{path_segment(subscription_id)}",
            body={"auto_top_up_bundle_id": auto_top_up_bundle_id},
            keep_null=True,
        )
        return DeleteResult.model_validate(raw)

    def cancel(self, subscription_id: str) -> DeleteResult:
        """Cancel at the cycle end (shown as ``pending_change`` until then). Idempotent."""
        raw = self._client.request("DELETE", f"subscriptions/{path_segment(subscription_id)}")
        return DeleteResult.model_validate(raw)


class AsyncSubscriptions(AsyncAPIResource):
    async def create(self, *, customer_id: str, plan_id: str) -> Subscription:
        """See :meth:`Subscriptions.create`."""
        body = {"customer_id": customer_id, "plan_id": plan_id}
        return _unwrap(await self._client.request("POST", "subscriptions", body=body))

    async def list(
        self,
        *,
        status: StatusFilter | None = None,
        customer_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> AsyncPage[Subscription]:
        """``status`` defaults to ``active`` on the server."""
        return await self._page("subscriptions", Subscription, _list_params(cursor, limit, status, customer_id))

    async def update(self, subscription_id: str, *, auto_top_up_bundle_id: str | None) -> DeleteResult:
        """See :meth:`Subscriptions.update`."""
        raw = await self._client.request(
            "PATCH",
            f"subscriptions/{path_segment(subscription_id)}",
            body={"auto_top_up_bundle_id": auto_top_up_bundle_id},
            keep_null=True,
        )
        return DeleteResult.model_validate(raw)

    async def cancel(self, subscription_id: str) -> DeleteResult:
        """See :meth:`Subscriptions.cancel`."""
        raw = await self._client.request("DELETE", f"subscriptions/{path_segment(subscription_id)}")
        return DeleteResult.model_validate(raw)

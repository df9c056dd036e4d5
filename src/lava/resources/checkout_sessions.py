"""``/checkout_sessions`` (``/openapi.json``)."""

from __future__ import annotations

from typing import Literal

from .._params import path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import CheckoutSession
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncCheckoutSessions", "CheckoutMode", "CheckoutSessions"]

CheckoutMode = Literal["onboarding", "topup"]


class CheckoutSessions(SyncAPIResource):
    def create(
        self,
        *,
        checkout_mode: CheckoutMode,
        origin_url: str,
        reference_id: str | None = None,
        connection_id: str | None = None,
    ) -> CheckoutSession:
        """Start a checkout. ``topup`` needs ``connection_id``; ``origin_url`` is the page's origin."""
        raw = self._client.request(
            "POST",
            "checkout_sessions",
            body={
                "checkout_mode": checkout_mode,
                "origin_url": origin_url,
                "reference_id": reference_id,
                "connection_id": connection_id,
            },
        )
        return CheckoutSession.model_validate(raw)

    def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> SyncPage[CheckoutSession]:
        """Newest first; iterate the page to walk all of them."""

        def fetch(next_cursor: str | None) -> SyncPage[CheckoutSession]:
            params = {"cursor": next_cursor, "limit": limit, "reference_id": reference_id}
            raw = self._client.request("GET", "checkout_sessions", params=params)
            return SyncPage(raw, CheckoutSession, fetch)

        return fetch(cursor)

    def retrieve(self, checkout_session_id: str) -> CheckoutSession:
        raw = self._client.request("GET", f"checkout_sessions/{path_segment(checkout_session_id)}")
        return CheckoutSession.model_validate(raw)


class AsyncCheckoutSessions(AsyncAPIResource):
    async def create(
        self,
        *,
        checkout_mode: CheckoutMode,
        origin_url: str,
        reference_id: str | None = None,
        connection_id: str | None = None,
    ) -> CheckoutSession:
        """Start a checkout. ``topup`` needs ``connection_id``; ``origin_url`` is the page's origin."""
        raw = await self._client.request(
            "POST",
            "checkout_sessions",
            body={
                "checkout_mode": checkout_mode,
                "origin_url": origin_url,
                "reference_id": reference_id,
                "connection_id": connection_id,
            },
        )
        return CheckoutSession.model_validate(raw)

    async def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> AsyncPage[CheckoutSession]:
        """Newest first; ``async for`` over the page walks all of them."""

        async def fetch(next_cursor: str | None) -> AsyncPage[CheckoutSession]:
            params = {"cursor": next_cursor, "limit": limit, "reference_id": reference_id}
            raw = await self._client.request("GET", "checkout_sessions", params=params)
            return AsyncPage(raw, CheckoutSession, fetch)

        return await fetch(cursor)

    async def retrieve(self, checkout_session_id: str) -> CheckoutSession:
        raw = await self._client.request("GET", f"checkout_sessions/{path_segment(checkout_session_id)}")
        return CheckoutSession.model_validate(raw)

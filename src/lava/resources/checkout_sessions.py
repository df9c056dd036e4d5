"""``/checkout_sessions`` (both API generations)."""

from __future__ import annotations

from typing import Any

from .._params import path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import CheckoutMode, CheckoutSession
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncCheckoutSessions", "CheckoutMode", "CheckoutSessions"]


def _create_body(
    checkout_mode: CheckoutMode,
    origin_url: str,
    customer_id: str | None,
    plan_id: str | None,
    credit_bundle_id: str | None,
    reference_id: str | None,
    connection_id: str | None,
) -> dict[str, Any]:
    return {
        "checkout_mode": checkout_mode,
        "origin_url": origin_url,
        "customer_id": customer_id,
        "plan_id": plan_id,
        "credit_bundle_id": credit_bundle_id,
        "reference_id": reference_id,
        "connection_id": connection_id,
    }


class CheckoutSessions(SyncAPIResource):
    def create(
        self,
        *,
        checkout_mode: CheckoutMode,
        origin_url: str,
        customer_id: str | None = None,
        plan_id: str | None = None,
        credit_bundle_id: str | None = None,
        reference_id: str | None = None,
        connection_id: str | None = None,
    ) -> CheckoutSession:
        """Start a checkout; ``origin_url`` is the origin of the page that opens it.

        * ``subscription``: needs ``plan_id``; ``customer_id`` reuses an existing customer.
        * ``credit_bundle``: needs ``customer_id`` and ``credit_bundle_id`` (a bundle of its plan).
        * ``onboarding`` (2025 API): optional ``reference_id``; ``topup``: needs ``connection_id``.
        """
        body = _create_body(
            checkout_mode, origin_url, customer_id, plan_id, credit_bundle_id, reference_id, connection_id
        )
        return CheckoutSession.model_validate(self._client.request("POST", "checkout_sessions", body=body))

    def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> SyncPage[CheckoutSession]:
        """Newest first; iterate the page to walk all of them."""
        params = {"cursor": cursor, "limit": limit, "reference_id": reference_id}
        return self._page("checkout_sessions", CheckoutSession, params)

    def retrieve(self, checkout_session_id: str) -> CheckoutSession:
        raw = self._client.request("GET", f"checkout_sessions/{path_segment(checkout_session_id)}")
        return CheckoutSession.model_validate(raw)


class AsyncCheckoutSessions(AsyncAPIResource):
    async def create(
        self,
        *,
        checkout_mode: CheckoutMode,
        origin_url: str,
        customer_id: str | None = None,
        plan_id: str | None = None,
        credit_bundle_id: str | None = None,
        reference_id: str | None = None,
        connection_id: str | None = None,
    ) -> CheckoutSession:
        """See :meth:`CheckoutSessions.create`."""
        body = _create_body(
            checkout_mode, origin_url, customer_id, plan_id, credit_bundle_id, reference_id, connection_id
        )
        return CheckoutSession.model_validate(await self._client.request("POST", "checkout_sessions", body=body))

    async def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> AsyncPage[CheckoutSession]:
        """Newest first; ``async for`` over the page walks all of them."""
        params = {"cursor": cursor, "limit": limit, "reference_id": reference_id}
        return await self._page("checkout_sessions", CheckoutSession, params)

    async def retrieve(self, checkout_session_id: str) -> CheckoutSession:
        raw = await self._client.request("GET", f"checkout_sessions/{path_segment(checkout_session_id)}")
        return CheckoutSession.model_validate(raw)

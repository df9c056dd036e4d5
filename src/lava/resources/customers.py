"""``/customers`` (the current API). A customer is named by its ``con_`` id or its reference_id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .._params import NOT_GIVEN, NotGiven, given, path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import Customer, DeleteResult, Subscription
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncCustomers", "Customers"]


def _create_body(
    reference_id: str | None, name: str | None, email: str | None, phone: str | None, metadata: Mapping[str, Any] | None
) -> dict[str, Any]:
    return {
        "reference_id": reference_id,
        "email": email,
        "phone": phone,
        "name": name,
        "metadata": dict(metadata) if metadata is not None else None,
    }


def _update_body(**fields: Any) -> dict[str, Any]:
    metadata = fields.get("metadata")
    if isinstance(metadata, Mapping):
        fields["metadata"] = dict(metadata)
    return given(fields)


def _subscription(raw: Any) -> Subscription | None:
    value = raw.get("subscription") if isinstance(raw, dict) else None
    return None if value is None else Subscription.model_validate(value)


class Customers(SyncAPIResource):
    def create(
        self,
        *,
        reference_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Customer:
        """Create a customer (it joins the default free plan). An existing ``reference_id`` returns
        that customer unchanged. ``name`` splits at the first space into first and last name;
        ``phone`` is E.164."""
        body = _create_body(reference_id, name, email, phone, metadata)
        return Customer.model_validate(self._client.request("POST", "customers", body=body))

    def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> SyncPage[Customer]:
        """Newest first; iterate the page to walk all of them."""
        return self._page("customers", Customer, {"cursor": cursor, "limit": limit, "reference_id": reference_id})

    def retrieve(self, customer_id: str) -> Customer:
        """``customer_id``: the ``con_`` id or the reference_id."""
        return Customer.model_validate(self._client.request("GET", f"customers/{path_segment(customer_id)}"))

    def update(
        self,
        customer_id: str,
        *,
        name: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone: str | NotGiven | None = NOT_GIVEN,
        reference_id: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> Customer:
        """Change the fields given; ``None`` clears one. ``metadata`` is replaced, not merged.
        A reference_id in use raises ``ConflictError`` (409 ``reference_id_conflict``)."""
        body = _update_body(name=name, email=email, phone=phone, reference_id=reference_id, metadata=metadata)
        raw = self._client.request("PATCH", f"customers/{path_segment(customer_id)}", body=body, keep_null=True)
        return Customer.model_validate(raw)

    def get_subscription(self, customer_id: str) -> Subscription | None:
        """The customer's active subscription with its credits, or ``None``."""
        return _subscription(self._client.request("GET", f"customers/{path_segment(customer_id)}/subscription"))

    def delete(self, customer_id: str) -> DeleteResult:
        """Soft delete: the subscription ends at once; later calls for it get 403 ``customer_inactive``."""
        return DeleteResult.model_validate(self._client.request("DELETE", f"customers/{path_segment(customer_id)}"))


class AsyncCustomers(AsyncAPIResource):
    async def create(
        self,
        *,
        reference_id: str | None = None,
        name: str | None = None,
        email: str | None = None,
        phone: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Customer:
        """See :meth:`Customers.create`."""
        body = _create_body(reference_id, name, email, phone, metadata)
        return Customer.model_validate(await self._client.request("POST", "customers", body=body))

    async def list(
        self, *, cursor: str | None = None, limit: int | None = None, reference_id: str | None = None
    ) -> AsyncPage[Customer]:
        """Newest first; ``async for`` over the page walks all of them."""
        return await self._page("customers", Customer, {"cursor": cursor, "limit": limit, "reference_id": reference_id})

    async def retrieve(self, customer_id: str) -> Customer:
        """``customer_id``: the ``con_`` id or the reference_id."""
        raw = await self._client.request("GET", f"customers/{path_segment(customer_id)}")
        return Customer.model_validate(raw)

    async def update(
        self,
        customer_id: str,
        *,
        name: str | NotGiven | None = NOT_GIVEN,
        email: str | NotGiven | None = NOT_GIVEN,
        phone: str | NotGiven | None = NOT_GIVEN,
        reference_id: str | NotGiven | None = NOT_GIVEN,
        metadata: Mapping[str, Any] | NotGiven | None = NOT_GIVEN,
    ) -> Customer:
        """See :meth:`Customers.update`."""
        body = _update_body(name=name, email=email, phone=phone, reference_id=reference_id, metadata=metadata)
        raw = await self._client.request("PATCH", f"customers/{path_segment(customer_id)}", body=body, keep_null=True)
        return Customer.model_validate(raw)

    async def get_subscription(self, customer_id: str) -> Subscription | None:
        """The customer's active subscription with its credits, or ``None``."""
        return _subscription(await self._client.request("GET", f"customers/{path_segment(customer_id)}/subscription"))

    async def delete(self, customer_id: str) -> DeleteResult:
        """See :meth:`Customers.delete`."""
        raw = await self._client.request("DELETE", f"customers/{path_segment(customer_id)}")
        return DeleteResult.model_validate(raw)

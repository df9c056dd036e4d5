"""``/requests``: metered calls (both API generations)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .._params import encode_metadata_filters, path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import Request
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncRequests", "Requests"]

Seconds = int | float | Decimal


def _seconds(value: Seconds | None) -> int | float | None:
    # json cannot write a Decimal; float's shortest repr keeps up to 15 significant digits.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _create_body(
    request_id: str,
    payer: Mapping[str, str | None],
    metadata: Mapping[str, str] | None,
    units: Mapping[str, int | Seconds | None],
) -> dict[str, Any]:
    """``payer``: ``customer_id`` + ``meter_slug`` (current) or the two legacy secrets, never both."""
    customer = payer["customer_id"] is not None or payer["meter_slug"] is not None
    legacy = payer["connection_secret"] is not None or payer["product_secret"] is not None
    if customer == legacy:
        raise ValueError("Pass customer_id and meter_slug, or connection_secret and product_secret (not both)")
    names = ("customer_id", "meter_slug") if customer else ("connection_secret", "product_secret")
    if any(payer[name] is None for name in names):
        raise ValueError(f"{names[0]} and {names[1]} go together")
    body: dict[str, Any] = {"request_id": request_id}
    body |= {name: payer[name] for name in names}
    body["metadata"] = dict(metadata) if metadata is not None else None
    for name, value in units.items():
        body[name] = _seconds(value) if name.endswith("_seconds") else value
    return body


def _list_params(
    cursor: str | None,
    limit: int | None,
    filters: Mapping[str, str | None],
    metadata_filters: Mapping[str, str] | None,
) -> dict[str, str | int | None]:
    return {"cursor": cursor, "limit": limit, **filters, "metadata_filters": encode_metadata_filters(metadata_filters)}


class Requests(SyncAPIResource):
    def list(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        customer_id: str | None = None,
        meter_id: str | None = None,
        connection_id: str | None = None,
        product_id: str | None = None,
        metadata_filters: Mapping[str, str] | None = None,
    ) -> SyncPage[Request]:
        """Newest first. ``customer_id``/``meter_id`` are the current names of ``connection_id``/
        ``product_id``; pass one spelling. ``metadata_filters`` must all match (``{"user_id": "123"}``)."""
        filters = {"customer_id": customer_id, "meter_id": meter_id}
        filters |= {"connection_id": connection_id, "product_id": product_id}

        def fetch(next_cursor: str | None) -> SyncPage[Request]:
            params = _list_params(next_cursor, limit, filters, metadata_filters)
            return SyncPage(self._client.request("GET", "requests", params=params), Request, fetch)

        return fetch(cursor)

    def retrieve(self, request_id: str) -> Request:
        return Request.model_validate(self._client.request("GET", f"requests/{path_segment(request_id)}"))

    def create(
        self,
        *,
        request_id: str,
        customer_id: str | None = None,
        meter_slug: str | None = None,
        connection_secret: str | None = None,
        product_secret: str | None = None,
        metadata: Mapping[str, str] | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        input_characters: int | None = None,
        output_characters: int | None = None,
        input_seconds: Seconds | None = None,
        output_seconds: Seconds | None = None,
    ) -> Request:
        """Report usage that happened outside the gateway. Idempotent on ``request_id``.

        Bill a customer on a meter (``customer_id`` + ``meter_slug``), or a 2025 connection on a
        product (``connection_secret`` + ``product_secret``); mixing them raises ``ValueError``.
        """
        units = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_characters": input_characters,
            "output_characters": output_characters,
            "input_seconds": input_seconds,
            "output_seconds": output_seconds,
        }
        payer = {
            "customer_id": customer_id,
            "meter_slug": meter_slug,
            "connection_secret": connection_secret,
            "product_secret": product_secret,
        }
        body = _create_body(request_id, payer, metadata, units)
        return Request.model_validate(self._client.request("POST", "requests", body=body))


class AsyncRequests(AsyncAPIResource):
    async def list(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        customer_id: str | None = None,
        meter_id: str | None = None,
        connection_id: str | None = None,
        product_id: str | None = None,
        metadata_filters: Mapping[str, str] | None = None,
    ) -> AsyncPage[Request]:
        """See :meth:`Requests.list`."""
        filters = {"customer_id": customer_id, "meter_id": meter_id}
        filters |= {"connection_id": connection_id, "product_id": product_id}

        async def fetch(next_cursor: str | None) -> AsyncPage[Request]:
            params = _list_params(next_cursor, limit, filters, metadata_filters)
            return AsyncPage(await self._client.request("GET", "requests", params=params), Request, fetch)

        return await fetch(cursor)

    async def retrieve(self, request_id: str) -> Request:
        raw = await self._client.request("GET", f"requests/{path_segment(request_id)}")
        return Request.model_validate(raw)

    async def create(
        self,
        *,
        request_id: str,
        customer_id: str | None = None,
        meter_slug: str | None = None,
        connection_secret: str | None = None,
        product_secret: str | None = None,
        metadata: Mapping[str, str] | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        input_characters: int | None = None,
        output_characters: int | None = None,
        input_seconds: Seconds | None = None,
        output_seconds: Seconds | None = None,
    ) -> Request:
        """See :meth:`Requests.create`."""
        units = {
            "input_tokens": input_tokens,
            "output_tokens": output_tokens,
            "input_characters": input_characters,
            "output_characters": output_characters,
            "input_seconds": input_seconds,
            "output_seconds": output_seconds,
        }
        payer = {
            "customer_id": customer_id,
            "meter_slug": meter_slug,
            "connection_secret": connection_secret,
            "product_secret": product_secret,
        }
        body = _create_body(request_id, payer, metadata, units)
        return Request.model_validate(await self._client.request("POST", "requests", body=body))

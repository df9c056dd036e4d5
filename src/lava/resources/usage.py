"""``GET /usage``: daily rollups (``/openapi.json``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .._params import encode_metadata_filters, encode_timestamp
from ..types import Usage
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncUsageResource", "UsageResource"]


def _params(
    start: str | datetime,
    end: str | datetime | None,
    filters: Mapping[str, str | None],
    metadata_filters: Mapping[str, str] | None,
) -> dict[str, str | int | None]:
    return {
        "start": encode_timestamp(start),
        "end": encode_timestamp(end),
        **filters,
        "metadata_filters": encode_metadata_filters(metadata_filters),
    }


class UsageResource(SyncAPIResource):
    def retrieve(
        self,
        *,
        start: str | datetime,
        end: str | datetime | None = None,
        customer_id: str | None = None,
        meter_id: str | None = None,
        connection_id: str | None = None,
        product_id: str | None = None,
        metadata_filters: Mapping[str, str] | None = None,
    ) -> Usage:
        """Daily buckets from ``start`` to ``end`` (default: now), both inclusive.

        The UTC offset of ``start`` sets the timezone the days are cut in. A
        ``datetime`` must be timezone-aware. ``customer_id``/``meter_id`` are the current
        names of ``connection_id``/``product_id``; pass one spelling.
        """
        filters = {"customer_id": customer_id, "meter_id": meter_id}
        filters |= {"connection_id": connection_id, "product_id": product_id}
        params = _params(start, end, filters, metadata_filters)
        return Usage.model_validate(self._client.request("GET", "usage", params=params))


class AsyncUsageResource(AsyncAPIResource):
    async def retrieve(
        self,
        *,
        start: str | datetime,
        end: str | datetime | None = None,
        customer_id: str | None = None,
        meter_id: str | None = None,
        connection_id: str | None = None,
        product_id: str | None = None,
        metadata_filters: Mapping[str, str] | None = None,
    ) -> Usage:
        """Daily buckets from ``start`` to ``end`` (default: now), both inclusive.

        The UTC offset of ``start`` sets the timezone the days are cut in. A
        ``datetime`` must be timezone-aware. ``customer_id``/``meter_id`` are the current
        names of ``connection_id``/``product_id``; pass one spelling.
        """
        filters = {"customer_id": customer_id, "meter_id": meter_id}
        filters |= {"connection_id": connection_id, "product_id": product_id}
        params = _params(start, end, filters, metadata_filters)
        return Usage.model_validate(await self._client.request("GET", "usage", params=params))

"""``/meters`` (the current API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from .._params import Money, encode_money, path_segment
from ..pagination import AsyncPage, SyncPage
from ..types import Deleted, Meter, RateType, TierType
from ._resource import AsyncAPIResource, SyncAPIResource

__all__ = ["AsyncMeters", "Meters", "TierParam"]


class TierParam(TypedDict):
    """One tier: ``start`` in cumulative units (the first is 0), ``rate`` per unit of the tier type."""

    start: int | str
    rate: Money


def _tiers(tiers: Sequence[TierParam]) -> list[dict[str, str]]:
    # Node 11.2.0 types both as strings: {"start": "0", "rate": "5.00"}.
    return [{"start": str(int(tier["start"])), "rate": encode_money(tier["rate"])} for tier in tiers]


def _create_body(
    name: str, rate_type: RateType, tier_type: TierType, tiers: Sequence[TierParam], meter_slug: str | None
) -> dict[str, Any]:
    return {
        "name": name,
        "meter_slug": meter_slug,
        "rate_type": rate_type,
        "tier_type": tier_type,
        "tiers": _tiers(tiers),
    }


def _update_body(name: str | None, tiers: Sequence[TierParam] | None) -> dict[str, Any]:
    return {"name": name, "tiers": None if tiers is None else _tiers(tiers)}


class Meters(SyncAPIResource):
    def list(self, *, cursor: str | None = None, limit: int | None = None) -> SyncPage[Meter]:
        """Newest first; iterate the page to walk all of them."""
        return self._page("meters", Meter, {"cursor": cursor, "limit": limit})

    def retrieve(self, meter_id: str) -> Meter:
        return Meter.model_validate(self._client.request("GET", f"meters/{path_segment(meter_id)}"))

    def create(
        self,
        *,
        name: str,
        rate_type: RateType,
        tier_type: TierType,
        tiers: Sequence[TierParam],
        meter_slug: str | None = None,
    ) -> Meter:
        """Create a meter. Without ``meter_slug`` one is generated from the name; a taken slug raises
        ``ConflictError`` (409 ``meter_slug_taken``). Tiers: at least one, the first starting at 0,
        strictly ascending."""
        body = _create_body(name, rate_type, tier_type, tiers, meter_slug)
        return Meter.model_validate(self._client.request("POST", "meters", body=body))

    def update(self, meter_id: str, *, name: str | None = None, tiers: Sequence[TierParam] | None = None) -> Meter:
        """Rename, or replace the whole tier list. Rate type, tier type and slug are immutable."""
        raw = self._client.request("PATCH", f"meters/{path_segment(meter_id)}", body=_update_body(name, tiers))
        return Meter.model_validate(raw)

    def delete(self, meter_id: str) -> Deleted:
        """Soft delete: past requests keep their price; tokens naming the meter stop working."""
        return Deleted.model_validate(self._client.request("DELETE", f"meters/{path_segment(meter_id)}"))


class AsyncMeters(AsyncAPIResource):
    async def list(self, *, cursor: str | None = None, limit: int | None = None) -> AsyncPage[Meter]:
        """Newest first; ``async for`` over the page walks all of them."""
        return await self._page("meters", Meter, {"cursor": cursor, "limit": limit})

    async def retrieve(self, meter_id: str) -> Meter:
        return Meter.model_validate(await self._client.request("GET", f"meters/{path_segment(meter_id)}"))

    async def create(
        self,
        *,
        name: str,
        rate_type: RateType,
        tier_type: TierType,
        tiers: Sequence[TierParam],
        meter_slug: str | None = None,
    ) -> Meter:
        """See :meth:`Meters.create`."""
        body = _create_body(name, rate_type, tier_type, tiers, meter_slug)
        return Meter.model_validate(await self._client.request("POST", "meters", body=body))

    async def update(
        self, meter_id: str, *, name: str | None = None, tiers: Sequence[TierParam] | None = None
    ) -> Meter:
        """See :meth:`Meters.update`."""
        raw = await self._client.request("PATCH", f"meters/{path_segment(meter_id)}", body=_update_body(name, tiers))
        return Meter.model_validate(raw)

    async def delete(self, meter_id: str) -> Deleted:
        """See :meth:`Meters.delete`."""
        return Deleted.model_validate(await self._client.request("DELETE", f"meters/{path_segment(meter_id)}"))

"""GET /v1/usage: daily roll-ups of completed requests, zero-filled, in the offset of ``start``.

Shapes per profile (docs/current-api.md "Requests and usage"): ``total_cost`` = Σ cost and ``total_charge`` = Σ charge in the
current generation, the 2025 totals in the legacy one, both in ``compat``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiohttp import web

from ..clock import from_datetime, parse_iso
from ..errors import invalid_request
from ..store import requests as repo
from . import render_current
from .deps import merchant, services
from .filters import customer_and_meter
from .jsonio import json_response
from .params import metadata_filters_param
from .profiles import profile_of

routes = web.RouteTableDef()
MAX_DAYS = 400


def _parse(name: str, raw: str) -> datetime:
    try:
        return parse_iso(raw)
    except ValueError as exc:
        raise invalid_request(f"{name} must be an ISO 8601 timestamp with offset, e.g. 2025-01-01T00:00:00Z") from exc


def _iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


@routes.get("/v1/usage")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    connection_id, product_id = await customer_and_meter(svc, key, q)
    profile = profile_of(request, key)
    if not q.get("start"):
        raise invalid_request("start is required, e.g. start=2025-01-01T00:00:00Z")
    start = _parse("start", q["start"])
    tz = start.tzinfo
    assert tz is not None
    end = _parse("end", q["end"]).astimezone(tz) if q.get("end") else datetime.now(UTC).astimezone(tz)
    if end < start:
        raise invalid_request("end must not be before start")
    first_day, last_day = start.date(), end.date()
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise invalid_request(f"the range may cover at most {MAX_DAYS} days")
    offset = start.utcoffset() or timedelta(0)
    offset_us = int(offset.total_seconds()) * 1_000_000
    days = await repo.daily_usage(
        svc.db,
        key.merchant_id,
        key.mode,
        start_us=from_datetime(start),
        end_us=from_datetime(end),
        offset_us=offset_us,
        connection_id=connection_id,
        product_id=product_id,
        metadata=metadata_filters_param(q),
    )
    by_day = {d.day: d for d in days}
    epoch = datetime(1970, 1, 1).date()
    items = []
    day = first_day
    while day <= last_day:
        day_start = datetime(day.year, day.month, day.day, tzinfo=tz)
        day_end = day_start + timedelta(days=1) - timedelta(seconds=1)
        found = by_day.get((day - epoch).days)
        items.append(render_current.usage_item(found, day.isoformat(), _iso(day_start), _iso(day_end), profile))
        day += timedelta(days=1)
    return json_response({"items": items, "totals": render_current.usage_totals(days, profile)})

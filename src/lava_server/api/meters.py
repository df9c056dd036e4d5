"""/v1/meters (current API, docs/current-api.md "Meters"): a meter IS a product with a ``meter_slug``."""

from __future__ import annotations

from aiohttp import web

from ..accounts import meters as domain
from ..errors import not_found
from ..ids import PRODUCT
from ..store import meters as repo
from . import render, render_current
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param
from .profiles import profile_of

routes = web.RouteTableDef()


@routes.get("/v1/meters")
async def list_meters(request: web.Request) -> web.Response:
    """GET /v1/meters: live meters, newest first (L<RestMeter>, profile extras under compat)."""
    key = await merchant(request)
    svc = services(request)
    q = request.query
    records, more = await repo.list_meters(
        svc.db, key.merchant_id, key.mode, cursor=cursor_param(q, PRODUCT), limit=limit_param(q)
    )
    profile = profile_of(request, key)
    data = [render_current.meter(r, profile) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.post("/v1/meters")
async def create(request: web.Request) -> web.Response:
    """POST /v1/meters: 201 RestMeter; 409 meter_slug_taken, 400 on invalid tiers."""
    key = await merchant(request)
    record = await domain.create_meter(services(request), key, await read_optional_object(request))
    return json_response(render_current.meter(record, profile_of(request, key)), status=201)


@routes.get("/v1/meters/{meter_id}")
async def retrieve(request: web.Request) -> web.Response:
    """GET /v1/meters/{id}: 404 for another merchant's, mode's or a deleted meter."""
    key = await merchant(request)
    record = await repo.get_meter(services(request).db, key.merchant_id, key.mode, request.match_info["meter_id"])
    if record is None:
        raise not_found("meter")
    return json_response(render_current.meter(record, profile_of(request, key)))


@routes.patch("/v1/meters/{meter_id}")
async def update(request: web.Request) -> web.Response:
    """PATCH /v1/meters/{id}: name and whole tiers; 400 immutable_field for the rest."""
    key = await merchant(request)
    body = await read_optional_object(request)
    record = await domain.update_meter(services(request), key, request.match_info["meter_id"], body)
    return json_response(render_current.meter(record, profile_of(request, key)))


@routes.delete("/v1/meters/{meter_id}")
async def delete(request: web.Request) -> web.Response:
    """DELETE /v1/meters/{id}: soft delete, ``{"id", "deleted": true}``."""
    key = await merchant(request)
    meter_id = request.match_info["meter_id"]
    await domain.delete_meter(services(request), key, meter_id)
    return json_response({"id": meter_id, "deleted": True})

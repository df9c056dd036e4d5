"""GET /v1/requests, GET /v1/requests/{id}, POST /v1/requests (shapes per profile, docs/current-api.md "Profiles")."""

from __future__ import annotations

from aiohttp import web

from ..billing.manual import record_manual
from ..errors import not_found
from ..ids import REQUEST
from ..store import requests as repo
from . import render, render_current
from .deps import merchant, services
from .filters import customer_and_meter
from .jsonio import json_response, read_json_object
from .params import cursor_param, limit_param, metadata_filters_param
from .profiles import profile_of

routes = web.RouteTableDef()


@routes.post("/v1/requests")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_json_object(request, svc.settings.limits.max_api_body_bytes)
    result = await record_manual(svc.billing.deps, svc.billing, key, body)
    body_out = render_current.request(result.record, profile_of(request, key))
    return json_response(body_out, status=201 if result.created else 200)


@routes.get("/v1/requests")
async def list_requests(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    connection_id, product_id = await customer_and_meter(svc, key, q)
    records, more = await repo.list_requests(
        svc.db,
        key.merchant_id,
        key.mode,
        connection_id=connection_id,
        product_id=product_id,
        metadata=metadata_filters_param(q),
        cursor=cursor_param(q, REQUEST),
        limit=limit_param(q),
    )
    profile = profile_of(request, key)
    data = [render_current.request(r, profile) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.get("/v1/requests/{request_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    record = await repo.get_request(svc.db, key.merchant_id, key.mode, request.match_info["request_id"])
    if record is None:
        raise not_found("request")
    return json_response(render_current.request(record, profile_of(request, key)))

"""GET /v1/requests, GET /v1/requests/{id}."""

from __future__ import annotations

from aiohttp import web

from ..errors import not_found
from ..ids import CONNECTION, PRODUCT, REQUEST
from ..store import requests as repo
from . import render
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, id_param, limit_param, metadata_filters_param

routes = web.RouteTableDef()


@routes.get("/v1/requests")
async def list_requests(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    records, more = await repo.list_requests(
        svc.db,
        key.merchant_id,
        key.mode,
        connection_id=id_param(q.get("connection_id"), CONNECTION, "connection_id"),
        product_id=id_param(q.get("product_id"), PRODUCT, "product_id"),
        metadata=metadata_filters_param(q),
        cursor=cursor_param(q, REQUEST),
        limit=limit_param(q),
    )
    data = [render.request(r) for r in records]
    return json_response(render.list_body(data, more, records[-1].id if more and records else None))


@routes.get("/v1/requests/{request_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    record = await repo.get_request(svc.db, key.merchant_id, key.mode, request.match_info["request_id"])
    if record is None:
        raise not_found("request")
    return json_response(render.request(record))

"""GET /v1/requests, GET /v1/requests/{id}."""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from ..billing.manual import record_manual
from ..errors import invalid_request, not_found
from ..ids import CONNECTION, PRODUCT, REQUEST
from ..store import requests as repo
from . import render
from .deps import merchant, services
from .jsonio import json_response, read_json_object
from .params import cursor_param, id_param, limit_param, metadata_filters_param

routes = web.RouteTableDef()
UNSUPPORTED_FILTERS = ("meter_id", "customer_id")


def reject_unsupported_filters(query: Mapping[str, str]) -> None:
    """Later API generations filter by meters and customers; silently ignoring them would
    return unfiltered data, so they are refused."""
    for name in UNSUPPORTED_FILTERS:
        if name in query:
            raise invalid_request(f"{name} is not supported by API versions up to 2025-04-28.v1")


@routes.post("/v1/requests")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_json_object(request, svc.settings.limits.max_api_body_bytes)
    result = await record_manual(svc.billing.deps, svc.billing, key, body)
    return json_response(render.request(result.record), status=201 if result.created else 200)


@routes.get("/v1/requests")
async def list_requests(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    reject_unsupported_filters(q)
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

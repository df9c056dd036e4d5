"""``/v1/webhooks`` CRUD (lava-api-current §3.9), delivery attempts and redelivery.

- ``GET/POST /v1/webhooks``, ``GET/PATCH/DELETE /v1/webhooks/{id}``
- ``GET /v1/webhooks/{id}/attempts[?event_id]``: that endpoint's attempts, newest first
- ``GET /v1/events/{id}/attempts``: one event's attempts; ``POST /v1/events/{id}/redeliver``
"""

from __future__ import annotations

from aiohttp import web

from ..errors import not_found
from ..events.endpoints import render, render_attempt
from ..store import webhook_deliveries as deliveries
from ..store import webhook_endpoints as repo
from .deps import merchant, services
from .jsonio import json_response, read_json_object
from .params import cursor_param, limit_param, optional_str
from .render import page_body

routes = web.RouteTableDef()


async def _body(request: web.Request) -> dict[str, object]:
    """The JSON object body; no body at all counts as ``{}`` (the SDK sends none without data)."""
    if not request.body_exists:
        return {}
    return await read_json_object(request, services(request).settings.limits.max_api_body_bytes)


@routes.get("/v1/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    records, more = await repo.list_endpoints(
        svc.db, key.merchant_id, key.mode, cursor=cursor_param(request.query, "wh"), limit=limit_param(request.query)
    )
    return json_response(page_body([render(r) for r in records], more, records))


@routes.post("/v1/webhooks")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    return json_response(await svc.webhooks.create(key, await _body(request)), status=201)


@routes.get("/v1/webhooks/{webhook_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    return json_response(render(await services(request).webhooks.get(key, request.match_info["webhook_id"])))


@routes.patch("/v1/webhooks/{webhook_id}")
async def update(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    return json_response(await svc.webhooks.update(key, request.match_info["webhook_id"], await _body(request)))


@routes.delete("/v1/webhooks/{webhook_id}")
async def delete(request: web.Request) -> web.Response:
    key = await merchant(request)
    return json_response(await services(request).webhooks.delete(key, request.match_info["webhook_id"]))


async def _attempts(request: web.Request, *, endpoint_id: str | None, event_id: str | None) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    records, more = await deliveries.list_attempts(
        svc.db,
        key.merchant_id,
        key.mode,
        endpoint_id=endpoint_id,
        event_id=event_id,
        cursor=cursor_param(request.query, "wha"),
        limit=limit_param(request.query),
    )
    data = [render_attempt(r) for r in records]
    return json_response(page_body(data, more, records))


@routes.get("/v1/webhooks/{webhook_id}/attempts")
async def endpoint_attempts(request: web.Request) -> web.Response:
    key = await merchant(request)
    webhook = await services(request).webhooks.get(key, request.match_info["webhook_id"])
    return await _attempts(request, endpoint_id=webhook.id, event_id=optional_str(request.query, "event_id"))


@routes.get("/v1/events/{event_id}/attempts")
async def event_attempts(request: web.Request) -> web.Response:
    key = await merchant(request)
    event_id = request.match_info["event_id"]
    if await deliveries.event_owner(services(request).db, event_id) != (key.merchant_id, key.mode):
        raise not_found("event")
    return await _attempts(request, endpoint_id=None, event_id=event_id)


@routes.post("/v1/events/{event_id}/redeliver")
async def redeliver(request: web.Request) -> web.Response:
    key = await merchant(request)
    return json_response(await services(request).webhooks.redeliver(key, request.match_info["event_id"]))

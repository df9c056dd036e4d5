"""/v1/test_clocks (test mode only; beyond Lava, as Stripe has them): create, list, retrieve,
attach customers, advance. Advancing runs every renewal, rollover, expiry and top-up of the
clock's customers up to the new time before it answers."""

from __future__ import annotations

from aiohttp import web

from ..accounts import customers as customer_domain
from ..billing import test_clocks as domain
from ..billing.offsession import charger_for
from ..clock import from_datetime, now_us, parse_iso
from ..errors import invalid_request
from . import render, render_plans
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param

routes = web.RouteTableDef()


def _time(value: object, name: str) -> int:
    if not isinstance(value, str):
        raise invalid_request(f"{name} must be an ISO 8601 timestamp with an offset")
    try:
        return from_datetime(parse_iso(value))
    except ValueError as exc:
        raise invalid_request(f"{name}: {exc}") from None


@routes.post("/v1/test_clocks")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    frozen = now_us() if body.get("frozen_time") is None else _time(body["frozen_time"], "frozen_time")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise invalid_request("name must be a string of at most 255 characters")
    clock = await domain.create(svc.db, svc.ids, key, frozen_time=frozen, name=name, at=now_us())
    return json_response(render_plans.test_clock(clock), status=201)


@routes.get("/v1/test_clocks")
async def list_clocks(request: web.Request) -> web.Response:
    key = await merchant(request)
    q = request.query
    rows, more = await domain.list_clocks(
        services(request).db, key, cursor=cursor_param(q, domain.CLOCK), limit=limit_param(q)
    )
    data = [render_plans.test_clock(r) for r in rows]
    return json_response(render.list_body(data, more, str(rows[-1]["id"]) if more and rows else None))


@routes.get("/v1/test_clocks/{clock_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    clock = await domain.get(services(request).db, key, request.match_info["clock_id"])
    return json_response(render_plans.test_clock(clock))


@routes.post("/v1/test_clocks/{clock_id}/customers")
async def attach(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    ref = body.get("customer_id")
    if not isinstance(ref, str):
        raise invalid_request("customer_id is required")
    customer = await customer_domain.live_customer(svc, key, ref)
    await domain.attach(svc.db, key, request.match_info["clock_id"], customer.id)
    return json_response({"success": True})


@routes.post("/v1/test_clocks/{clock_id}/advance")
async def advance(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    to = _time(body.get("frozen_time"), "frozen_time")
    clock, report = await domain.advance(svc.db, svc, charger_for, key, request.match_info["clock_id"], to)
    return json_response({**render_plans.test_clock(clock), "ran": report.as_dict()})

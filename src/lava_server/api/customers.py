"""/v1/customers (current API, docs/current-api.md "Customers"): a customer IS a connection, same id, same wallet."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..accounts import customers as domain
from ..context import Services
from ..store import subscriptions as sub_repo
from ..store.connections import ConnectionRecord
from . import render, render_current, render_plans, subscriptions
from .bodies import read_optional_object
from .connections import connection_page
from .deps import merchant, services
from .jsonio import json_response
from .profiles import profile_of

routes = web.RouteTableDef()


async def _customer(svc: Services, rec: ConnectionRecord) -> dict[str, Any]:
    """A ``RestCustomer`` with its active subscription's summary (null when it has none)."""
    out = render_current.customer(rec)
    sub = await sub_repo.active_for(svc.db, rec.id)
    out["subscription"] = None if sub is None else render_plans.summary(sub)
    return out


@routes.get("/v1/customers")
async def list_customers(request: web.Request) -> web.Response:
    """GET /v1/customers[?reference_id]: live customers, newest first (L<RestCustomer>)."""
    svc, records, more = await connection_page(request)
    data = [await _customer(svc, r) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.post("/v1/customers")
async def create(request: web.Request) -> web.Response:
    """POST /v1/customers: 201 with a new customer, 200 with the existing one on a reference_id replay."""
    key = await merchant(request)
    svc = services(request)
    record, created = await domain.create_customer(svc, key, await read_optional_object(request))
    return json_response(await _customer(svc, record), status=201 if created else 200)


@routes.get("/v1/customers/{ref}")
async def retrieve(request: web.Request) -> web.Response:
    """GET /v1/customers/{ref}: by con_ id or reference_id; 404 when unknown or deleted."""
    key = await merchant(request)
    svc = services(request)
    record = await domain.live_customer(svc, key, request.match_info["ref"])
    return json_response(await _customer(svc, record))


@routes.patch("/v1/customers/{ref}")
async def update(request: web.Request) -> web.Response:
    """PATCH /v1/customers/{ref}: nullable fields, metadata replaced; 409 reference_id_conflict."""
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    record = await domain.update_customer(svc, key, request.match_info["ref"], body)
    return json_response(await _customer(svc, record))


@routes.delete("/v1/customers/{ref}")
async def delete(request: web.Request) -> web.Response:
    """DELETE /v1/customers/{ref}: soft delete, ``{"success": true}``."""
    key = await merchant(request)
    await domain.delete_customer(services(request), key, request.match_info["ref"])
    return json_response({"success": True})


@routes.get("/v1/customers/{ref}/subscription")
async def subscription(request: web.Request) -> web.Response:
    """``{"subscription": RestSubscriptionBase | null}`` (api/subscriptions.py renders it)."""
    key = await merchant(request)
    body = await subscriptions.current_view(services(request), key, request.match_info["ref"], profile_of(request, key))
    return json_response(body)

"""GET /v1/connections, GET/DELETE /v1/connections/{id}, GET /v1/connections/{id}/subscription (8.x)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..billing import ledger
from ..billing.subscriptions import owner_of
from ..clock import now_us
from ..context import Services
from ..errors import not_found
from ..ids import CONNECTION
from ..store import connections as repo
from ..store import subscriptions as sub_repo
from ..store.connections import ConnectionRecord
from ..store.outbox import Event
from . import render, render_plans, subscriptions
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param, optional_str
from .profiles import profile_of

routes = web.RouteTableDef()


async def _with_plan(svc: Services, rec: ConnectionRecord, body: dict[str, Any]) -> dict[str, Any]:
    """The 8.x plan fields: ``subscription`` (its summary) and ``has_lava_credit_balance`` (cycle +
    bundle credits > 0, or prepaid > 0)."""
    sub = await sub_repo.active_for(svc.db, rec.id)
    if sub is None:
        return body
    summary = render_plans.summary(sub)
    body["subscription"] = {**summary, "subscription_config_id": sub.plan_id}
    balances = await ledger.peek_credits(svc.db, owner_of(sub))
    body["has_lava_credit_balance"] = bool(body["has_lava_credit_balance"]) or balances.total > 0
    return body


async def connection_page(request: web.Request) -> tuple[Services, list[ConnectionRecord], bool]:
    """The page a connection or customer listing asks for (``?reference_id``, ``cursor``, ``limit``):
    the caller's live connections, newest first, with has_more. Raises 401/400 like its parts."""
    key = await merchant(request)
    svc = services(request)
    q = request.query
    records, more = await repo.list_connections(
        svc.db,
        key.merchant_id,
        key.mode,
        reference_id=optional_str(q, "reference_id"),
        cursor=cursor_param(q, CONNECTION),
        limit=limit_param(q),
    )
    return svc, records, more


@routes.get("/v1/connections")
async def list_connections(request: web.Request) -> web.Response:
    svc, records, more = await connection_page(request)
    data = [await _with_plan(svc, r, render.connection(r, svc.keyring)) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.get("/v1/connections/{connection_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    record = await repo.get_connection(svc.db, key.merchant_id, key.mode, request.match_info["connection_id"])
    if record is None:
        raise not_found("connection")
    return json_response(await _with_plan(svc, record, render.connection(record, svc.keyring)))


@routes.delete("/v1/connections/{connection_id}")
async def delete(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    connection_id = request.match_info["connection_id"]
    async with svc.db.transaction() as tx:
        before = await repo.get_connection(tx, key.merchant_id, key.mode, connection_id)
        found = await repo.soft_delete_connection(tx, key.merchant_id, key.mode, connection_id, now_us())
        if found and before is not None and before.deleted_at is None:
            await svc.outbox.add(tx, Event("customer.deleted", key.merchant_id, key.mode, connection_id))
    if not found:
        raise not_found("connection")
    svc.forward_auth_changed(connection_id)
    return json_response({"success": True})


@routes.get("/v1/connections/{connection_id}/subscription")
async def subscription(request: web.Request) -> web.Response:
    """The 8.x path of ``GET /v1/customers/{id}/subscription`` (api/subscriptions.py renders it)."""
    key = await merchant(request)
    svc = services(request)
    record = await repo.get_connection(svc.db, key.merchant_id, key.mode, request.match_info["connection_id"])
    if record is None or record.deleted_at is not None:
        raise not_found("connection")
    return json_response(await subscriptions.current_view(svc, key, record.id, profile_of(request, key)))

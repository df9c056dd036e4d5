"""/v1/subscriptions (docs/plans.md) and ``GET /v1/customers/{id}/subscription``.

``POST`` takes free plans only (paid plans go through checkout); ``DELETE`` cancels at the cycle
end (``pending_change``); ``PATCH`` sets ``auto_top_up_bundle_id``. ``credits`` are the exact
ledger balances of the customer's cycle and bundle credit accounts.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..accounts import customers as customer_domain
from ..billing import ledger
from ..billing import subscriptions as domain
from ..billing.subscriptions import SUBSCRIPTION
from ..context import Services
from ..errors import ApiError, invalid_request
from ..store import Executor
from ..store import connections as conn_repo
from ..store import plans as plan_repo
from ..store import subscriptions as repo
from ..store.merchants import MerchantKey
from ..store.subscriptions import SubscriptionRecord
from . import render, render_plans
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param, optional_str
from .profiles import Profile, profile_of

routes = web.RouteTableDef()
STATUSES = ("active", "cancelled", "all")


async def view(
    ex: Executor, rec: SubscriptionRecord, profile: Profile, *, with_customer: bool = False
) -> dict[str, Any]:
    """The wire subscription with its exact credits (and the customer, for lists)."""
    balances = await ledger.peek_credits(ex, domain.owner_of(rec))
    target = None
    if rec.pending_change and rec.pending_change.get("plan_id"):
        target = await plan_repo.get_plan_any(ex, rec.pending_change["plan_id"])
    customer = None
    if with_customer:
        customer = await conn_repo.get_connection(ex, rec.merchant_id, rec.mode, rec.connection_id)
    return render_plans.subscription(rec, balances, target, profile, customer)


async def current_view(svc: Services, key: MerchantKey, ref: str, profile: Profile) -> dict[str, Any]:
    """``{"subscription": RestSubscriptionBase | null}`` for a live customer (404 otherwise)."""
    customer = await customer_domain.live_customer(svc, key, ref)
    async with svc.db.transaction() as tx:
        sub = await repo.active_for(tx, customer.id)
        return {"subscription": None if sub is None else await view(tx, sub, profile)}


async def _own(svc: Services, key: MerchantKey, sub_id: str) -> SubscriptionRecord:
    found = await repo.get_for_merchant(svc.db, key.merchant_id, key.mode, sub_id)
    if found is None:
        raise ApiError(404, "not_found", "subscription not found")
    return found


@routes.post("/v1/subscriptions")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    customer_ref = body.get("customer_id") or body.get("connection_id")
    plan_id = body.get("plan_id") or body.get("subscription_config_id")
    if not isinstance(customer_ref, str) or not isinstance(plan_id, str):
        raise invalid_request("customer_id and plan_id are required")
    customer = await customer_domain.live_customer(svc, key, customer_ref)
    async with svc.db.transaction() as tx:
        plan = await plan_repo.get_plan(tx, key.merchant_id, key.mode, plan_id)
        if plan is None:
            raise ApiError(404, "not_found", "plan not found")
        sub = await domain.subscribe_free(svc, tx, connection_id=customer.id, wallet_id=customer.wallet_id, plan=plan)
        out = await view(tx, sub, profile_of(request, key))
    return json_response({"subscription": out}, status=201)


@routes.get("/v1/subscriptions")
async def list_subscriptions(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    status = q.get("status") or "active"
    if status not in STATUSES:
        raise invalid_request("status must be one of active, cancelled, all")
    customer_ref = optional_str(q, "customer_id") or optional_str(q, "connection_id")
    connection_id = None
    if customer_ref is not None:
        found = await customer_domain.live_customer(svc, key, customer_ref)
        connection_id = found.id
    records, more = await repo.list_for_merchant(
        svc.db,
        key.merchant_id,
        key.mode,
        status=status,
        connection_id=connection_id,
        cursor=cursor_param(q, SUBSCRIPTION),
        limit=limit_param(q),
    )
    profile = profile_of(request, key)
    data = [await view(svc.db, r, profile, with_customer=True) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.get("/v1/subscriptions/{sub_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    sub = await _own(svc, key, request.match_info["sub_id"])
    return json_response(await view(svc.db, sub, profile_of(request, key), with_customer=True))


@routes.patch("/v1/subscriptions/{sub_id}")
async def update(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    if "auto_top_up_bundle_id" not in body:
        raise invalid_request("auto_top_up_bundle_id is required (a bundle id, or null to disable)")
    sub = await _own(svc, key, request.match_info["sub_id"])
    if sub.status != "active":
        raise ApiError(409, "subscription_cancelled", "this subscription is cancelled")
    async with svc.db.transaction() as tx:
        await domain.set_auto_top_up(tx, sub, body["auto_top_up_bundle_id"])
    return json_response({"success": True})


@routes.delete("/v1/subscriptions/{sub_id}")
async def cancel(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    sub = await _own(svc, key, request.match_info["sub_id"])
    async with svc.db.transaction() as tx:
        await ledger.lock_balance(tx, ledger.wallet_account(sub.wallet_id))
        fresh = await repo.get(tx, sub.id)
        assert fresh is not None
        await domain.cancel(svc, tx, fresh)
    return json_response({"success": True})

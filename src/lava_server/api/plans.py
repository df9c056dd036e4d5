"""/v1/plans (alias /v1/subscription_configs), docs/plans.md: list, retrieve, create, update, delete."""

from __future__ import annotations

from aiohttp import web

from ..accounts import plans as domain
from ..accounts.plans import PLAN
from ..context import Services
from ..store import plans as repo
from ..store.merchants import MerchantKey
from ..store.plans import PlanRecord
from . import render, render_plans
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param
from .profiles import Profile, profile_of

routes = web.RouteTableDef()
PREFIXES = ("/v1/plans", "/v1/subscription_configs")


async def meter_names(svc: Services, key: MerchantKey, plans: list[PlanRecord]) -> dict[str, str]:
    """Names of the meters these plans link (deleted meters keep their name)."""
    names: dict[str, str] = {}
    for meter_id in {m for p in plans for m in p.meter_ids}:
        row = await svc.db.fetchone(
            "SELECT name FROM products WHERE id = $1 AND merchant_id = $2 AND mode = $3",
            meter_id,
            key.merchant_id,
            key.mode,
        )
        names[meter_id] = "" if row is None else str(row["name"] or "")
    return names


async def render_plan(svc: Services, key: MerchantKey, plan: PlanRecord, profile: Profile) -> dict[str, object]:
    return render_plans.plan(plan, await meter_names(svc, key, [plan]), profile)


async def list_plans(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    async with svc.db.transaction() as tx:
        await domain.ensure_default_plan(svc, tx, key.merchant_id, key.mode)
    q = request.query
    records, more = await repo.list_plans(
        svc.db, key.merchant_id, key.mode, cursor=cursor_param(q, PLAN), limit=limit_param(q)
    )
    profile = profile_of(request, key)
    names = await meter_names(svc, key, records)
    data = [render_plans.plan(r, names, profile) for r in records]
    return json_response(render.page_body(data, more, records))


async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    plan = await domain.create_plan(svc, key, await read_optional_object(request))
    return json_response(await render_plan(svc, key, plan, profile_of(request, key)), status=201)


async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    plan = await domain.live_plan(svc, key, request.match_info["plan_id"])
    return json_response(await render_plan(svc, key, plan, profile_of(request, key)))


async def update(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_optional_object(request)
    plan = await domain.update_plan(svc, key, request.match_info["plan_id"], body)
    return json_response(await render_plan(svc, key, plan, profile_of(request, key)))


async def delete(request: web.Request) -> web.Response:
    key = await merchant(request)
    plan_id = request.match_info["plan_id"]
    await domain.delete_plan(services(request), key, plan_id)
    return json_response({"id": plan_id, "deleted": True})


for _prefix in PREFIXES:
    routes.get(_prefix)(list_plans)
    routes.post(_prefix)(create)
    routes.get(_prefix + "/{plan_id}")(retrieve)
    routes.patch(_prefix + "/{plan_id}")(update)
    routes.delete(_prefix + "/{plan_id}")(delete)

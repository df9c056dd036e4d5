"""/v1/credit_bundles (docs/plans.md): list (``plan_id`` / ``subscription_config_id`` filter) and
retrieve. Bundles are created, edited and removed through their plan; removed ones give 404."""

from __future__ import annotations

from aiohttp import web

from ..accounts.plans import BUNDLE
from ..errors import ApiError
from ..store import plans as repo
from . import render, render_plans
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param, optional_str
from .profiles import profile_of

routes = web.RouteTableDef()


@routes.get("/v1/credit_bundles")
async def list_bundles(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    plan_id = optional_str(q, "plan_id") or optional_str(q, "subscription_config_id")
    records, more = await repo.list_bundles(
        svc.db,
        key.merchant_id,
        key.mode,
        plan_id=plan_id,
        cursor=cursor_param(q, BUNDLE),
        limit=limit_param(q),
    )
    profile = profile_of(request, key)
    data = [render_plans.bundle(r, profile) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.get("/v1/credit_bundles/{bundle_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    found = await repo.get_bundle(services(request).db, key.merchant_id, key.mode, request.match_info["bundle_id"])
    if found is None:
        raise ApiError(404, "not_found", "credit bundle not found")
    return json_response(render_plans.bundle(found, profile_of(request, key)))

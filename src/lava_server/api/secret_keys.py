"""/v1/secret_keys (current API, docs/current-api.md "Secret keys"): list, create (shown once), revoke."""

from __future__ import annotations

from aiohttp import web

from ..accounts import secret_keys as domain
from ..ids import KEY
from ..store import secret_keys as repo
from . import render, render_current
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param

routes = web.RouteTableDef()


@routes.get("/v1/secret_keys")
async def list_keys(request: web.Request) -> web.Response:
    """GET /v1/secret_keys: the caller's mode's live keys (hints only), newest first."""
    key = await merchant(request)
    q = request.query
    records, more = await repo.list_keys(
        services(request).db, key.merchant_id, key.mode, cursor=cursor_param(q, KEY), limit=limit_param(q)
    )
    data = [render_current.secret_key(r) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.post("/v1/secret_keys")
async def create(request: web.Request) -> web.Response:
    """POST /v1/secret_keys {name}: 201 RestSecretKey plus ``secret_key``, shown this once."""
    key = await merchant(request)
    body = await read_optional_object(request)
    record, secret = await domain.create_named_key(services(request), key, body.get("name"))
    return json_response({**render_current.secret_key(record), "secret_key": secret}, status=201)


@routes.delete("/v1/secret_keys/{key_id}")
async def delete(request: web.Request) -> web.Response:
    """DELETE /v1/secret_keys/{id}: revoke; 400 last_secret_key, 409 secret_key_cooldown."""
    key = await merchant(request)
    key_id = request.match_info["key_id"]
    await domain.revoke_key(services(request), key, key_id)
    return json_response({"id": key_id, "deleted": True})

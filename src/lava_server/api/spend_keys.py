"""/v1/spend_keys (docs/spend-keys.md): CRUD, revoke and rotate, managed with a secret key.

Create and rotate return the raw ``key`` once; afterwards only ``key_preview``. Revoked keys are
not listed and answer 404. Also: which models a spend key may see in ``GET /v1/models``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..accounts import spend_keys as domain
from ..auth.spend_keys import SpendKeyAuth, SpendKeyAuthenticator
from ..billing.spend_limits import counters
from ..clock import now_us, to_iso
from ..ids import is_spend_key
from ..money import to_wire
from ..store import spend_keys as repo
from ..store.spend_keys import SpendKeyRecord
from . import render
from .bodies import read_optional_object
from .deps import merchant, services
from .jsonio import json_response
from .params import cursor_param, limit_param

routes = web.RouteTableDef()


def spend_key(rec: SpendKeyRecord, at: int | None = None) -> dict[str, Any]:
    """RestSpendKey. ``wallet_id`` is the merchant's id: the key spends from the merchant's own
    ledger (docs/spend-keys.md), which has no separate wallet object."""
    s = rec.settings
    view = counters(rec, now_us() if at is None else at)
    return {
        "spend_key_id": rec.id,
        "key_preview": rec.key_preview,
        "name": s.name,
        "status": s.status,
        "request_shape": s.request_shape,
        "wallet_id": rec.merchant_id,
        "allowed_models": None if s.allowed_models is None else list(s.allowed_models),
        "allowed_providers": None if s.allowed_providers is None else list(s.allowed_providers),
        "spend_limit": None if s.spend_limit is None else {"amount": to_wire(s.spend_limit), "cycle": s.spend_cycle},
        "current_spend": to_wire(view.current_spend),
        "total_spend": to_wire(view.total_spend),
        "request_limit": None if s.request_limit is None else {"count": s.request_limit, "cycle": s.request_cycle},
        "current_requests": view.current_requests,
        "total_requests": view.total_requests,
        "rate_limit": None if s.rate_rpm is None else {"rpm": s.rate_rpm, "burst": s.rate_burst},
        "expires_at": None if s.expires_at is None else to_iso(s.expires_at),
        "last_used_at": None if rec.last_used_at is None else to_iso(rec.last_used_at),
        "created_at": to_iso(rec.created_at),
    }


@routes.get("/v1/spend_keys")
async def list_keys(request: web.Request) -> web.Response:
    """``GET /v1/spend_keys``: live keys, newest first, ``limit``/``cursor`` paging."""
    key = await merchant(request)
    q = request.query
    records, more = await repo.list_keys(
        services(request).db, key.merchant_id, key.mode, cursor=cursor_param(q, domain.SPEND_KEY), limit=limit_param(q)
    )
    data = [spend_key(r) for r in records]
    return json_response(render.page_body(data, more, records))


@routes.post("/v1/spend_keys")
async def create(request: web.Request) -> web.Response:
    """``POST /v1/spend_keys``: 201 with the raw ``key``, shown this once."""
    key = await merchant(request)
    body = await read_optional_object(request)
    record, raw = await domain.create_key(services(request), key, body)
    return json_response({**spend_key(record), "key": raw}, status=201)


@routes.get("/v1/spend_keys/{key_id}")
async def retrieve(request: web.Request) -> web.Response:
    """``GET /v1/spend_keys/{id}``: one key (preview only)."""
    key = await merchant(request)
    return json_response(spend_key(await domain.get_key(services(request), key, request.match_info["key_id"])))


@routes.put("/v1/spend_keys/{key_id}")
async def update(request: web.Request) -> web.Response:
    """``PUT /v1/spend_keys/{id}``: a partial update; ``null`` clears."""
    key = await merchant(request)
    body = await read_optional_object(request)
    record = await domain.update_key(services(request), key, request.match_info["key_id"], body)
    return json_response(spend_key(record))


@routes.delete("/v1/spend_keys/{key_id}")
async def revoke(request: web.Request) -> web.Response:
    """``DELETE /v1/spend_keys/{id}``: ``{success: true}``; the key fails at once."""
    key = await merchant(request)
    await domain.revoke_key(services(request), key, request.match_info["key_id"])
    return json_response({"success": True})


@routes.post("/v1/spend_keys/{key_id}/rotate")
async def rotate(request: web.Request) -> web.Response:
    """``POST /v1/spend_keys/{id}/rotate``: a new raw ``key``; settings and counters kept."""
    key = await merchant(request)
    record, raw = await domain.rotate_key(services(request), key, request.match_info["key_id"])
    return json_response({**spend_key(record), "key": raw})


async def bearer_spend_key(request: web.Request) -> SpendKeyAuth | None:
    """The usable spend key when the request's Bearer credential is one (401/403 if it is one but
    cannot be used), else None."""
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not is_spend_key(value):
        return None
    svc = services(request)
    return await SpendKeyAuthenticator(svc.db, svc.keyring).authenticate(value)


def visible_models(found: SpendKeyAuth, models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``models`` narrowed to the key's provider and model allow-lists (a model matches by its
    listed id, its bare id or ``provider/model``)."""
    s = found.key.settings

    def allowed(m: dict[str, Any]) -> bool:
        provider, model_id = m["owned_by"], m["id"]
        bare = model_id.split("/", 1)[1] if model_id.startswith(f"{provider}/") else model_id
        if s.allowed_providers is not None and provider not in s.allowed_providers:
            return False
        return s.allowed_models is None or bool({model_id, bare, f"{provider}/{bare}"} & set(s.allowed_models))

    return [m for m in models if allowed(m)]

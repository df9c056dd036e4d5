"""POST/GET /v1/checkout_sessions, GET /v1/checkout_sessions/{id}."""

from __future__ import annotations

from aiohttp import web

from ..checkout.purchase import load as load_purchase
from ..checkout.sessions import create_session
from ..context import Services
from ..errors import invalid_request, not_found
from ..ids import CHECKOUT_SESSION, CONNECTION, id_pattern
from ..store import checkout_sessions as repo
from ..store.checkout_sessions import CheckoutSessionRecord
from ..store.customers import find_customer
from ..store.merchants import MerchantKey
from . import render, render_current
from .deps import merchant, public_base, services
from .jsonio import json_response, read_json_object
from .params import cursor_param, id_param, limit_param, optional_str
from .profiles import Profile, profile_of


async def customer_ref(svc: Services, key: MerchantKey, body: dict[str, object]) -> str | None:
    """The customer's ``con_`` id; ``customer_id`` may also be a reference_id (404 when unknown)."""
    customer = customer_alias(body)
    if customer is None or not optional_str(body, "customer_id") or id_pattern(CONNECTION).match(customer):
        return customer
    found = await find_customer(svc.db, key.merchant_id, key.mode, customer)
    if found is None:
        raise not_found("customer")
    return found.id


def customer_alias(body: dict[str, object]) -> str | None:
    """``customer_id`` ≡ ``connection_id`` (docs/current-api.md "Vocabulary"); different values for both: 400."""
    customer, connection = optional_str(body, "customer_id"), optional_str(body, "connection_id")
    if customer is not None and connection is not None and customer != connection:
        raise invalid_request("customer_id and connection_id name different customers")
    return customer if customer is not None else connection


routes = web.RouteTableDef()


async def _with_purchase(
    svc: Services, record: CheckoutSessionRecord, out: dict[str, object], profile: Profile
) -> dict[str, object]:
    """``plan_id`` in subscription mode; ``compat`` adds ``subscription_config_id``/``credit_bundle_id``."""
    sold = await load_purchase(svc.db, record)
    if sold is None or profile == "2025":
        return out
    if sold.plan_id is not None:
        out["plan_id"] = sold.plan_id
    if profile == "compat":
        out["subscription_config_id"] = sold.plan_id
        out["credit_bundle_id"] = sold.credit_bundle_id
    return out


@routes.post("/v1/checkout_sessions")
async def create(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    body = await read_json_object(request, svc.settings.limits.max_api_body_bytes)
    checkout_mode = optional_str(body, "checkout_mode", 32) or ""
    origin_url = optional_str(body, "origin_url", 2048) or ""
    record, _secret = await create_session(
        svc,
        key,
        checkout_mode=checkout_mode,
        origin_url=origin_url,
        reference_id=optional_str(body, "reference_id"),
        connection_id=id_param(await customer_ref(svc, key, body), CONNECTION, "customer_id"),
        plan_id=optional_str(body, "plan_id") or optional_str(body, "subscription_config_id"),
        credit_bundle_id=optional_str(body, "credit_bundle_id"),
    )
    legacy = render.checkout_session(record, svc.keyring, public_base(request))
    out = render_current.checkout_session(record, legacy, profile_of(request, key))
    return json_response(await _with_purchase(svc, record, out, profile_of(request, key)), status=201)


@routes.get("/v1/checkout_sessions")
async def list_sessions(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    q = request.query
    records, more = await repo.list_checkout_sessions(
        svc.db,
        key.merchant_id,
        key.mode,
        reference_id=optional_str(q, "reference_id"),
        cursor=cursor_param(q, CHECKOUT_SESSION),
        limit=limit_param(q),
    )
    base = public_base(request)
    profile = profile_of(request, key)
    data = [
        await _with_purchase(
            svc, r, render_current.checkout_session(r, render.checkout_session(r, svc.keyring, base), profile), profile
        )
        for r in records
    ]
    return json_response(render.page_body(data, more, records))


@routes.get("/v1/checkout_sessions/{checkout_session_id}")
async def retrieve(request: web.Request) -> web.Response:
    key = await merchant(request)
    svc = services(request)
    session_id = request.match_info["checkout_session_id"]
    record = await repo.get_checkout_session(svc.db, key.merchant_id, key.mode, session_id)
    if record is None:
        raise not_found("checkout session")
    legacy = render.checkout_session(record, svc.keyring, public_base(request))
    profile = profile_of(request, key)
    return json_response(
        await _with_purchase(svc, record, render_current.checkout_session(record, legacy, profile), profile)
    )

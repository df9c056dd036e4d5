"""``POST /v1/quote``: the hold the gateway would place for a would-be forward call.

Authenticated like ``/v1/forward`` (a forward token), or with the merchant's secret key and the
token's fields in the body (``connection_secret``, ``product_secret``, ``provider_key``), which is
what the Python SDK's ``lava.quote()`` sends. Body:
``{"url": "https://api.openai.com/v1/chat/completions", "body": {…}, "method": "POST"}``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

import orjson
from aiohttp import web

from ..api.jsonio import read_json_object
from ..billing.ledger import Ledger
from ..billing.service import BillingService
from ..clock import now_us
from ..errors import invalid_request
from ..money import to_wire
from ..settings import Settings
from .dialects import select_dialect
from .outcome import build_plan
from .targets import resolve_target
from .tokens import ForwardAuthenticator, extract_token, parse_token_object


async def quote(
    request: web.Request, settings: Settings, auth_: ForwardAuthenticator, billing: BillingService, ledger: Ledger
) -> web.Response:
    payload = await read_json_object(request, settings.limits.max_body_bytes)
    url, body, method = payload.get("url"), payload.get("body"), payload.get("method", "POST")
    if not isinstance(url, str) or not url:
        raise invalid_request("url is required: the provider URL the call would go to")
    if body is not None and not isinstance(body, dict):
        raise invalid_request("body must be the JSON object the call would send")
    if not isinstance(method, str) or method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        raise invalid_request("method must be an HTTP method")
    target = resolve_target(
        "u=" + urlquote(url, safe=""), upstream_map=settings.upstream_map, extra_hosts=settings.extra_upstream_hosts
    )
    bearer = request.headers.get("Authorization", "").strip()
    if bearer[:7].lower() == "bearer " and bearer[7:].strip().startswith("aks_"):
        # The SDK's lava.quote(): secret key in the header, the token's other fields in the body.
        fields: dict[str, Any] = {n: payload.get(n) for n in ("connection_secret", "product_secret", "provider_key")}
        current: dict[str, Any] = {
            n: payload[n] for n in ("customer_id", "connection_id", "meter_slug", "disable_billing") if n in payload
        }
        if current and fields["connection_secret"] is None and fields["product_secret"] is None:
            fields = {
                "provider_key": fields["provider_key"],
                **current,
            }  # the current token form (docs/current-api.md "Token forms")
        auth = await auth_.resolve(parse_token_object({"secret_key": bearer[7:].strip(), **fields}))
    else:
        token, _ = extract_token(request.headers, None)
        auth = await auth_.authenticate(token)
    dialect = select_dialect(target.provider, method.upper(), target.path)
    plan = build_plan(target, auth, dialect, method, body)
    q = billing.quote(plan, now_us())
    available: int | None = None
    floor = plan.config.overdraft_floor_units if plan.config else 0
    if auth.wallet_id is not None:
        available = (await ledger.wallet_balance(auth.wallet_id)).available
    result: dict[str, Any] = {
        "hold": to_wire(q.hold_units),
        "provider": plan.provider,
        "model": plan.model,
        "prompt_tokens_estimate": q.input_tokens,
        "max_output_tokens": q.output_tokens,
        "worst_case": q.worst_case.to_wire(),
        "available_balance": None if available is None else to_wire(available),
        "sufficient": available is None or available + floor >= q.hold_units,
        "unit_prices": dict(q.prices.effective(q.input_tokens)) if q.prices else None,
    }
    return web.Response(body=orjson.dumps(result, default=str), content_type="application/json")

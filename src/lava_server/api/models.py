"""GET /v1/models (docs/current-api.md "Models"): the models the gateway can route and price, in the OpenAI list shape.

Source: the price catalogue (genai-prices) and the operator's price overrides, for every provider
that has a managed key configured (in the caller's mode when a secret key is given, else in any).
``owned_by`` is the provider slug; ``id`` is the model id, or ``provider/model`` when two
configured providers share one; ``created`` is 0 (the catalogue carries no dates).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aiohttp import web
from genai_prices import data_snapshot

from ..billing.pricing import parse_overrides
from ..gateway import stored_keys
from ..gateway.providers import PROVIDERS
from ..settings import Settings
from .deps import merchant, services
from .jsonio import json_response
from .spend_keys import bearer_spend_key, visible_models

routes = web.RouteTableDef()


def _override_models(settings: Settings) -> dict[str, set[str]]:
    """Catalogue provider id → model ids the operator priced (LAVA_PRICES_FILE)."""
    path = settings.prices_file
    out: dict[str, set[str]] = defaultdict(set)
    if path is None or not path.is_file():
        return out
    for key in parse_overrides(path.read_text(encoding="utf-8"), source=str(path)):
        provider_id, _, model = key.partition("/")
        out[provider_id].add(model)
    return out


def catalogue_models(configured: set[str], settings: Settings) -> list[dict[str, Any]]:
    """Model objects for the configured provider slugs, sorted by provider then id."""
    providers = {p.id: p for p in data_snapshot.get_snapshot().providers}
    overrides = _override_models(settings)
    pairs: list[tuple[str, str]] = []
    for provider in PROVIDERS:
        if provider.slug not in configured:
            continue
        pricing_id = provider.pricing_id or provider.slug
        models = set(overrides.get(pricing_id, set()))
        catalogue = providers.get(pricing_id)
        if catalogue is not None:
            models.update(m.id for m in catalogue.models)
        pairs += [(provider.slug, model) for model in models]
    owners: dict[str, int] = defaultdict(int)
    for _, model in pairs:
        owners[model] += 1
    return [
        {"id": model if owners[model] == 1 else f"{slug}/{model}", "object": "model", "created": 0, "owned_by": slug}
        for slug, model in sorted(pairs)
    ]


@routes.get("/v1/models")
async def list_models(request: web.Request) -> web.Response:
    """No authentication needed; with a secret key only that mode's configured providers count."""
    svc = services(request)
    spend_key = await bearer_spend_key(request)  # a spend key sees only what it may use (§3.12)
    who = spend_key.merchant if spend_key is not None else None
    if who is None and request.headers.get("Authorization"):
        who = await merchant(request)
    mode = who.mode if who is not None else None
    rows = await svc.db.fetchall("SELECT DISTINCT provider, mode FROM provider_keys")
    configured = {r["provider"] for r in rows if mode is None or r["mode"] == mode}
    if who is not None:  # and the providers this merchant stored a key for (spec 2.3 "Key choice")
        configured |= await stored_keys.providers(svc.db, who.merchant_id, who.mode)
    if svc.settings.demo_provider:
        configured.add("openai")
    data = catalogue_models(configured, svc.settings)
    if spend_key is not None:
        data = visible_models(spend_key, data)
    return json_response({"object": "list", "data": data})

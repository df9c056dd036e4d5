"""Meters (docs/current-api.md "Meters"): products created, edited and deleted through the current API.

A meter IS a product row with a ``meter_slug``. Its pricing is a :class:`ProductConfig` in which
the merchant bears the provider cost and the service charge (docs/current-api.md "Who pays"): the customer pays only
the meter's charge. Deleting a meter is soft, so past requests keep their recorded price.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ..billing.product_config import RATE_TYPES, TIER_TYPES, ProductConfig, RateType, Tier, TierType
from ..clock import now_us
from ..context import Services
from ..errors import ApiError, invalid_request
from ..ids import PRODUCT, PRODUCT_SECRET, new_secret
from ..money import parse_rate
from ..store import Executor
from ..store import meters as repo
from ..store.merchants import MerchantKey, ProductRecord, insert_product

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_NAME = 255
MAX_TIERS = 100
IMMUTABLE = ("rate_type", "tier_type", "meter_slug")


def slug_from_name(name: str) -> str:
    """``"GPT Tokens (EU)"`` → ``"gpt-tokens-eu"``; ``"meter"`` when nothing usable is left."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-_")[:64].strip("-_")
    return slug or "meter"


async def unique_slug(tx: Executor, key: MerchantKey, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``… the first one free among this merchant's live meters."""
    candidate, n = base, 1
    while await repo.slug_taken(tx, key.merchant_id, key.mode, candidate):
        n += 1
        suffix = f"-{n}"
        candidate = base[: 64 - len(suffix)] + suffix
    return candidate


def _name(body: Mapping[str, Any], required: bool) -> str | None:
    value = body.get("name")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise invalid_request(f"name must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def _choice(body: Mapping[str, Any], name: str, allowed: Sequence[str]) -> str:
    value = body.get(name)
    if value not in allowed:
        raise invalid_request(f"{name} must be one of {', '.join(allowed)}")
    return str(value)


def _start(value: Any) -> int:
    if isinstance(value, bool):
        raise invalid_request("tier start must be an integer")
    if isinstance(value, int):
        start = value
    elif isinstance(value, str) and value.strip().isdigit():
        start = int(value.strip())
    else:
        raise invalid_request("tier start must be a non-negative integer (a string or a number)")
    if start < 0:
        raise invalid_request("tier start must not be negative")
    return start


def _rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_request("tier rate must be a decimal string or a number")
    try:
        # A JSON number is read through its shortest repr, never through binary float arithmetic.
        return parse_rate(repr(value) if isinstance(value, float) else str(value))
    except ValueError as exc:
        raise invalid_request(f"tier rate: {exc}") from exc


def parse_tiers(raw: Any, tier_type: TierType) -> tuple[Tier, ...]:
    """``[{start, rate}]``: at least one, the first starting at 0, strictly ascending, rates ≥ 0."""
    if not isinstance(raw, list) or not raw or len(raw) > MAX_TIERS:
        raise invalid_request(f"tiers must be a list of 1..{MAX_TIERS} objects {{start, rate}}")
    tiers: list[Tier] = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid_request("each tier must be an object {start, rate}")
        tiers.append(Tier(_start(item.get("start")), _rate(item.get("rate")), tier_type))
    if tiers[0].start != 0:
        raise invalid_request("the first tier must start at 0")
    if any(b.start <= a.start for a, b in itertools.pairwise(tiers)):
        raise invalid_request("tier starts must be strictly ascending")
    return tuple(tiers)


def meter_config(rate_type: RateType, tiers: tuple[Tier, ...]) -> ProductConfig:
    """A meter's pricing: the merchant bears provider cost and service charge; units are input+output."""
    try:
        return ProductConfig(
            rate_type=rate_type,
            tiers=tiers,
            token_basis="input+output",  # noqa: S106 - a unit basis, not a secret
            base_cost_payer="merchant",
            service_charge_payer="merchant",
        )
    except ValueError as exc:
        raise invalid_request(str(exc)) from exc


async def create_meter(svc: Services, key: MerchantKey, body: Mapping[str, Any]) -> ProductRecord:
    """POST /v1/meters; 409 ``meter_slug_taken`` when the slug is used by a live meter."""
    name = _name(body, required=True)
    assert name is not None
    slug = body.get("meter_slug")
    if slug is not None and (not isinstance(slug, str) or not SLUG_RE.match(slug)):
        raise invalid_request("meter_slug must match [a-z0-9][a-z0-9_-]{0,63}")
    rate_type: RateType = _choice(body, "rate_type", RATE_TYPES)  # type: ignore[assignment]
    tier_type: TierType = _choice(body, "tier_type", TIER_TYPES)  # type: ignore[assignment]
    config = meter_config(rate_type, parse_tiers(body.get("tiers"), tier_type))
    async with svc.db.transaction() as tx:
        if slug is None:
            slug = await unique_slug(tx, key, slug_from_name(name))
        elif await repo.slug_taken(tx, key.merchant_id, key.mode, slug):
            raise ApiError(409, "meter_slug_taken", f"meter_slug {slug!r} is already used by another meter")
        record = ProductRecord(
            svc.ids.new(PRODUCT, key.mode), key.merchant_id, key.mode, name, config.to_json(), now_us(), slug
        )
        # Every product has a legacy secret; a meter's is never shown (legacy tokens use products).
        await insert_product(tx, record, svc.keyring.hash_secret(new_secret(PRODUCT_SECRET, key.mode)))
    return record


async def update_meter(svc: Services, key: MerchantKey, meter_id: str, body: Mapping[str, Any]) -> ProductRecord:
    """PATCH /v1/meters/{id}: ``name`` and/or a whole replacement of ``tiers``."""
    for field in IMMUTABLE:
        if field in body:
            raise ApiError(400, "immutable_field", f"{field} cannot be changed; create a new meter instead")
    name = _name(body, required=False)
    async with svc.db.transaction() as tx:
        meter = await repo.get_meter(tx, key.merchant_id, key.mode, meter_id)
        if meter is None:
            raise ApiError(404, "not_found", "meter not found")
        config_json: str | None = None
        if body.get("tiers") is not None:
            current = ProductConfig.from_json(meter.config_json)
            tiers = parse_tiers(body["tiers"], current.tiers[0].type)
            config = current.with_tiers(tiers)
            config_json = config.to_json()
        await repo.update_meter(tx, meter.id, name=name, config_json=config_json)
        updated = await repo.get_meter(tx, key.merchant_id, key.mode, meter.id)
    assert updated is not None
    svc.forward_auth_changed()
    return updated


async def delete_meter(svc: Services, key: MerchantKey, meter_id: str) -> None:
    """Soft delete; tokens naming the meter then get 401 ``invalid_meter_slug``."""
    async with svc.db.transaction() as tx:
        if not await repo.soft_delete_meter(tx, key.merchant_id, key.mode, meter_id, now_us()):
            raise ApiError(404, "not_found", "meter not found")
    svc.forward_auth_changed()

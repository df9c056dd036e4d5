"""Records → current-generation wire objects (Node SDK 9.0–11.2.0 types), per profile (docs/current-api.md "Profiles").

``render.py`` keeps the 2025 shapes; this module adds the current ones and the ``compat`` union.
Single-generation resources (customers, secret keys, models) always render their own shape.
"""

from __future__ import annotations

from typing import Any

from ..billing.fees import rate_to_wire
from ..billing.product_config import ProductConfig
from ..clock import to_iso
from ..events.payload import rest_customer
from ..money import to_wire
from ..store.checkout_sessions import CheckoutSessionRecord
from ..store.connections import ConnectionRecord
from ..store.merchants import ProductRecord
from ..store.requests import DailyUsage, RequestRecord
from ..store.secret_keys import SecretKeyRecord
from . import render
from .profiles import Profile, current_fields, legacy_fields

OMIT_WHEN_NULL = frozenset({"connection_id", "product_id", "model", "response_id", "timestamp"})
CURRENT_USAGE_KEYS = ("total_requests", "total_usage_tokens")
CURRENT_MODEL_USAGE = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "input_characters",
    "output_characters",
    "total_characters",
    "input_seconds",
    "output_seconds",
    "total_seconds",
    "input_cost",
    "output_cost",
    "total_cost",
)


def _charge(legacy: dict[str, Any]) -> dict[str, Any]:
    fee = legacy["fee"]
    return {"amount": fee["amount"], "rate_type": fee.get("rate_type", "fixed"), "breakdown": fee.get("breakdown", [])}


def request(rec: RequestRecord, profile: Profile) -> dict[str, Any]:
    """A ``RestRequest``: ``cost`` = model cost, ``charge`` = the meter charge (the 2025 ``fee``)."""
    legacy = render.request(rec)
    if rec.spend_key_id is not None:  # an extension, only when non-null (spec 2.4 "Payer")
        legacy["spend_key_id"] = rec.spend_key_id
    if profile == "2025":  # plus the 8.x field it lacked (8.0.0 sends a 2025 header)
        return legacy if rec.product_id is None else {**legacy, "meter_id": rec.product_id}
    extra: dict[str, Any] = {}
    if rec.connection_id is not None:
        extra["customer_id"] = rec.connection_id
    if rec.product_id is not None:
        extra["meter_id"] = rec.product_id
    extra["cost"] = to_wire(rec.base_cost)
    extra["charge"] = _charge(legacy)
    if profile == "compat":
        if rec.token_form not in (None, "legacy", "legacy_metering"):
            extra["token_form"] = rec.token_form  # our extension: who paid, per the forward token
        # Optional keys that are null are omitted: 8.x and current types declare them `?: string`.
        merged = {**legacy, **extra}
        return {k: v for k, v in merged.items() if not (v is None and k in OMIT_WHEN_NULL)}
    body: dict[str, Any] = {"request_id": rec.external_id or rec.id, "status": rec.status}
    body.update({k: extra[k] for k in ("customer_id", "meter_id") if k in extra})
    body["provider"] = rec.provider
    body["provider_key_type"] = rec.provider_key_type
    if rec.model is not None:
        body["model"] = rec.model
    body["endpoint"] = rec.endpoint
    if rec.response_id is not None:
        body["response_id"] = rec.response_id
    body["model_usage"] = {k: legacy["model_usage"][k] for k in CURRENT_MODEL_USAGE}
    body["cost"] = extra["cost"]
    body["charge"] = extra["charge"]
    body["metadata"] = legacy["metadata"]
    if rec.spend_key_id is not None:
        body["spend_key_id"] = rec.spend_key_id
    if rec.timestamp is not None:
        body["timestamp"] = to_iso(rec.timestamp)
    body["created_at"] = legacy["created_at"]
    return body


def _usage_current(day: DailyUsage | None) -> dict[str, Any]:
    return {
        "total_cost": to_wire(day.total_usage_cost if day else 0),
        "total_charge": to_wire(day.total_fee_amount if day else 0),
    }


def _usage_8x(day: DailyUsage | None) -> dict[str, Any]:
    gross = day.total_fee_amount if day else 0
    service = day.total_service_charge_amount if day else 0
    return {"total_gross_volume": to_wire(gross), "total_net_volume": to_wire(gross - service)}


def _shape(legacy: dict[str, Any], day: DailyUsage | None, profile: Profile, head: tuple[str, ...]) -> dict[str, Any]:
    out = dict(legacy) if legacy_fields(profile) else {k: legacy[k] for k in head}
    if current_fields(profile):
        out.update(_usage_current(day))
    if legacy_fields(profile):  # 8.x volumes: 8.0.0 sends a 2025 header, 8.1.0 none
        out.update(_usage_8x(day))
    return out


def usage_item(day: DailyUsage | None, date: str, start: str, end: str, profile: Profile) -> dict[str, Any]:
    """One day of ``GET /v1/usage``: ``total_cost`` = Σ cost, ``total_charge`` = Σ charge."""
    legacy = render.usage_item(day, date, start, end)
    return _shape(legacy, day, profile, ("date", "start", "end", *CURRENT_USAGE_KEYS))


def usage_totals(days: list[DailyUsage], profile: Profile) -> dict[str, Any]:
    """The ``totals`` of ``GET /v1/usage`` in the given profile (sums of the days)."""
    legacy = render.usage_totals(days)
    total = DailyUsage(
        day=0,
        total_requests=sum(d.total_requests for d in days),
        total_usage_tokens=sum(d.total_usage_tokens for d in days),
        total_usage_cost=sum(d.total_usage_cost for d in days),
        total_fee_amount=sum(d.total_fee_amount for d in days),
        total_service_charge_amount=sum(d.total_service_charge_amount for d in days),
        total_request_cost=sum(d.total_request_cost for d in days),
        total_wallet_cost=sum(d.total_wallet_cost for d in days),
        total_merchant_cost=sum(d.total_merchant_cost for d in days),
    )
    return _shape(legacy, total, profile, CURRENT_USAGE_KEYS)


def customer(rec: ConnectionRecord) -> dict[str, Any]:
    """A ``RestCustomer``: :func:`..events.payload.rest_customer` (one rendering for the API and for
    webhook events). ``subscription`` is null; callers with plans fill it."""
    return rest_customer(rec)


def meter(rec: ProductRecord, profile: Profile) -> dict[str, Any]:
    """A ``RestMeter`` (tier ``start`` a JSON integer); ``compat`` adds token basis and payers."""
    config = ProductConfig.from_json(rec.config_json)
    body: dict[str, Any] = {
        "meter_id": rec.id,
        "meter_slug": rec.meter_slug or rec.id.lower(),
        "name": rec.name or "",
        "rate_type": config.rate_type,
        "tiers": [{"start": t.start, "rate": rate_to_wire(t.rate), "type": t.type} for t in config.tiers],
        "created_at": to_iso(rec.created_at),
    }
    if legacy_fields(profile):
        body["token_basis"] = config.token_basis
        body["base_cost_payer"] = config.base_cost_payer
        body["service_charge_payer"] = config.service_charge_payer
    return body


def secret_key(rec: SecretKeyRecord) -> dict[str, Any]:
    """A ``RestSecretKey`` (the hint is the key's last 4 characters; the key itself is never kept)."""
    return {
        "secret_key_id": rec.id,
        "name": rec.name or "",
        "secret_key_hint": rec.hint,
        "created_at": to_iso(rec.created_at),
    }


def checkout_session(rec: CheckoutSessionRecord, legacy: dict[str, Any], profile: Profile) -> dict[str, Any]:
    """A ``RestCheckoutSession``: ``customer_id`` once known; ``compat`` keeps the 2025 fields."""
    if profile == "2025":
        return legacy
    current: dict[str, Any] = {
        k: legacy[k] for k in ("checkout_session_id", "checkout_session_token", "checkout_mode", "origin_url")
    }
    if rec.connection_id is not None:
        current["customer_id"] = rec.connection_id
    current["created_at"] = legacy["created_at"]
    if rec.completed_at is not None:
        current["completed_at"] = legacy["completed_at"]
    if profile == "compat":  # keeps the 2025 `completed_at: null` that existing clients read
        return {**legacy, **current}
    return current

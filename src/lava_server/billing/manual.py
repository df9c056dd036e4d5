"""``POST /v1/requests``: usage the merchant reports itself (docs/billing.md "Manual metering"), charged with no hold.

Two forms name who is charged: the 2025 ``connection_secret`` (+ ``product_secret``), and the
current ``customer_id`` + ``meter_slug`` (docs/current-api.md "Requests and usage").
The current form passes the gateway's entitlement (``entitlement.check``: 403
``customer_inactive``, 402 ``no_active_subscription``, 403 ``meter_not_on_plan``) and draws
cycle → bundle → prepaid, the rest as cycle debt (never refused for lack of credits). A customer
that never had a subscription (made before plans) and the 2025 form are charged by the 2025
rules: prepaid down to the floor, the merchant covering the rest; no credit account is touched.

There was no provider call, so there is no base cost; the product's fee applies to the
reported units. Idempotent on ``request_id`` for the same merchant and payload; the same
id with a different payload is a 409 ``idempotency_conflict``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from ..clock import now_us
from ..errors import ApiError, invalid_request
from ..ids import CONNECTION_SECRET, PRODUCT_SECRET, REQUEST, secret_mode
from ..store import UniqueViolation
from ..store.connections import ConnectionRecord, find_connection_by_secret
from ..store.customers import find_customer
from ..store.merchants import MerchantKey, find_product_by_secret
from ..store.meters import find_meter
from ..store.requests import RequestRecord, get_request, insert_request, update_request
from . import entitlement
from .deps import BillingDeps
from .fees import UnitCounts
from .product_config import ProductConfig
from .service import BillingService, ForwardPlan, Outcome, apply_charges, apply_usage

REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
UNIT_FIELDS = ("input_tokens", "output_tokens", "input_characters", "output_characters")
SECOND_FIELDS = ("input_seconds", "output_seconds")
MAX_UNITS = 10**12
CURRENT_FIELDS = ("customer_id", "connection_id", "meter_slug")


@dataclass(frozen=True)
class ManualResult:
    record: RequestRecord
    created: bool


def _units(body: dict[str, Any]) -> UnitCounts:
    values: dict[str, Any] = {}
    for name in UNIT_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not (0 <= value <= MAX_UNITS):
            raise invalid_request(f"{name} must be an integer between 0 and {MAX_UNITS}")
        values[name] = value
    for name in SECOND_FIELDS:
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise invalid_request(f"{name} must be a non-negative number")
        try:
            seconds = Decimal(str(value))
        except InvalidOperation as exc:
            raise invalid_request(f"{name} must be a non-negative number") from exc
        if (
            not seconds.is_finite()
            or seconds < 0
            or seconds > MAX_UNITS
            or seconds != seconds.quantize(Decimal("0.001"))
        ):
            raise invalid_request(f"{name} must be a non-negative number with at most 3 decimals")
        values[name] = seconds
    return UnitCounts(**values)


def _metadata(body: dict[str, Any]) -> dict[str, str]:
    from .plans import METADATA_KEY_RE as KEY_RE
    from .plans import METADATA_MAX_PAIRS as MAX_PAIRS
    from .plans import METADATA_MAX_VALUE as MAX_VALUE

    meta = body.get("metadata") or {}
    if not isinstance(meta, dict) or len(meta) > MAX_PAIRS:
        raise invalid_request(f"metadata must be an object of at most {MAX_PAIRS} string pairs")
    for key, value in meta.items():
        if not KEY_RE.match(key) or not isinstance(value, str) or not (1 <= len(value) <= MAX_VALUE):
            raise invalid_request("metadata keys are [A-Za-z0-9_]{1,255}; values are strings of 1..255 characters")
    return dict(meta)


async def record_manual(
    svc: BillingDeps, billing: BillingService, key: MerchantKey, body: dict[str, Any]
) -> ManualResult:
    request_id = body.get("request_id")
    if not isinstance(request_id, str) or not REQUEST_ID_RE.match(request_id):
        raise invalid_request("request_id is required: 1..128 characters of [A-Za-z0-9_-]")
    units = _units(body)
    metadata = _metadata(body)
    inactive = ("connection_inactive", "this connection has been deleted")
    token_form = "legacy"
    if any(body.get(name) is not None for name in CURRENT_FIELDS):
        connection, product_id, config = await _current_target(svc, key, body)
        inactive = ("customer_inactive", "this customer has been deleted")
        token_form = "customer"
    else:
        connection, product_id, config = await _legacy_target(svc, key, body)
    payload = {
        "c": connection.id,
        "p": product_id,
        "m": metadata,
        "u": [str(getattr(units, f)) for f in units.__slots__],
    }
    digest = hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()
    existing = await get_request(svc.db, key.merchant_id, key.mode, request_id)
    if existing is not None:
        return _replay(existing, digest)
    if connection.deleted_at is not None:
        raise ApiError(403, *inactive)
    plan = ForwardPlan(
        merchant=key,
        connection_id=connection.id,
        wallet_id=connection.wallet_id,
        product_id=product_id,
        product=config,
        provider="manual",
        pricing_id=None,
        managed=False,
        model=None,
        endpoint="POST /v1/requests",
        metadata=metadata,
        connection_created_at=connection.created_at,
        token_form=token_form,
    )
    at = now_us()
    rec = RequestRecord(
        id=svc.ids.new(REQUEST, key.mode),  # ours; the caller's id is scoped to its merchant and mode
        external_id=request_id,
        merchant_id=key.merchant_id,
        mode=key.mode,
        status="pending",
        provider="manual",
        provider_key_type="managed",
        endpoint=plan.endpoint,
        created_at=at,
        connection_id=connection.id,
        product_id=product_id,
        metadata=orjson.dumps(metadata).decode() if metadata else None,
        metadata_pairs=metadata,
        payload_hash=digest,
        overdraft_floor=config.overdraft_floor_units,
        token_form=token_form,
    )
    try:
        async with svc.db.transaction() as tx:
            if token_form == "customer" and not await entitlement.check(svc, tx, plan, join_default=False):
                # docs/plans.md "Manual metering": never subscribed (made before plans) → 2025 rules
                rec.token_form = "legacy"
            await insert_request(tx, rec)
            apply_usage(rec, Outcome(units, None, None, None), at)
            charges, _available = await billing.charge(tx, plan, rec, units, None, config, at)
            apply_charges(
                rec, charges, rec.units_before_milli, plan.service_charge_rate(svc.settings.service_charge_rate)
            )
            await update_request(tx, rec, only_if_status="pending")
    except UniqueViolation:
        existing = await get_request(svc.db, key.merchant_id, key.mode, request_id)
        if existing is None:  # unreachable: the unique index is per merchant and mode
            raise ApiError(409, "idempotency_conflict", "request_id is already in use") from None
        return _replay(existing, digest)
    return ManualResult(rec, created=True)


async def _legacy_target(
    svc: Any, key: MerchantKey, body: dict[str, Any]
) -> tuple[ConnectionRecord, str | None, ProductConfig]:
    """The 2025 form: ``connection_secret`` (+ ``product_secret``)."""
    con_secret, prod_secret = body.get("connection_secret"), body.get("product_secret")
    if not isinstance(con_secret, str) or secret_mode(con_secret, CONNECTION_SECRET) != key.mode:
        raise invalid_request(f"connection_secret must be a {key.mode}-mode connection secret")
    if prod_secret is not None and (
        not isinstance(prod_secret, str) or secret_mode(prod_secret, PRODUCT_SECRET) != key.mode
    ):
        raise invalid_request(f"product_secret must be a {key.mode}-mode product secret")
    connection = await find_connection_by_secret(svc.db, svc.keyring.hash_secret(con_secret))
    if connection is None or connection.merchant_id != key.merchant_id or connection.mode != key.mode:
        raise ApiError(404, "not_found", "connection not found")
    product_id, config = None, ProductConfig()
    if prod_secret is not None:
        product = await find_product_by_secret(svc.db, svc.keyring.hash_secret(prod_secret))
        if product is None or product.merchant_id != key.merchant_id or product.mode != key.mode:
            raise ApiError(404, "not_found", "product not found")
        product_id, config = product.id, ProductConfig.from_json(product.config_json)
    return connection, product_id, config


async def _current_target(
    svc: Any, key: MerchantKey, body: dict[str, Any]
) -> tuple[ConnectionRecord, str | None, ProductConfig]:
    """The current form: ``customer_id`` (≡ ``connection_id``; a con_ id or a reference_id) and
    ``meter_slug`` (a slug or a prd_ id). Unknown customer or meter: 404."""
    if body.get("connection_secret") is not None or body.get("product_secret") is not None:
        raise invalid_request("give customer_id + meter_slug or connection_secret + product_secret, not both")
    customer_id, connection_id = body.get("customer_id"), body.get("connection_id")
    if customer_id is not None and connection_id is not None and customer_id != connection_id:
        raise invalid_request("customer_id and connection_id name different customers")
    ref, slug = customer_id if customer_id is not None else connection_id, body.get("meter_slug")
    if not isinstance(ref, str) or not ref or len(ref) > 255:
        raise invalid_request("customer_id is required with meter_slug")
    if not isinstance(slug, str) or not slug or len(slug) > 255:
        raise invalid_request("meter_slug is required with customer_id")
    connection = await find_customer(svc.db, key.merchant_id, key.mode, ref)
    if connection is None:
        raise ApiError(404, "not_found", "customer not found")
    meter = await find_meter(svc.db, key.merchant_id, key.mode, slug)
    if meter is None:
        raise ApiError(404, "not_found", "meter not found")
    return connection, meter.id, ProductConfig.from_json(meter.config_json)


def _replay(existing: RequestRecord, digest: str) -> ManualResult:
    if existing.payload_hash != digest:
        raise ApiError(
            409, "idempotency_conflict", "request_id was already used with a different payload; use a new request_id"
        )
    return ManualResult(existing, created=False)

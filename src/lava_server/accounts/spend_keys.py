"""Spend keys as the merchant manages them (docs/spend-keys.md): create (raw key shown once,
stored as its keyring HMAC), read, partial update (``null`` clears), revoke, rotate.

Bodies are validated here into :class:`SpendKeySettings`; every error is 400 ``invalid_request``
with the offending field named. Another merchant's or mode's key, and a revoked key, are 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from ..auth.spend_keys import new_spend_key
from ..clock import from_datetime, now_us, parse_iso
from ..context import Services
from ..errors import ApiError, invalid_request
from ..money import MAX_UNITS, UNITS_PER_USD
from ..store import spend_keys as repo
from ..store.merchants import MerchantKey
from ..store.spend_keys import CYCLES, KEY_STATUSES, REQUEST_SHAPES, SpendKeyRecord, SpendKeySettings

SPEND_KEY = "sk"  # id prefix: sk_{mode}_<ulid>
MAX_NAME = 255
MAX_LIST = 200
MAX_COUNT = 1_000_000_000
FIELDS = (
    "name",
    "status",
    "request_shape",
    "allowed_models",
    "allowed_providers",
    "spend_limit",
    "request_limit",
    "rate_limit",
    "expires_at",
)


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise invalid_request(f"name must be a non-empty string of at most {MAX_NAME} characters")
    return value.strip()


def _choice(field: str, value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise invalid_request(f"{field} must be one of {', '.join(allowed)}")
    return value


def _names(field: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise invalid_request(f"{field} must be a list of at most {MAX_LIST} strings, or null")
    for item in value:
        if not isinstance(item, str) or not item or len(item) > 255:
            raise invalid_request(f"{field} entries must be non-empty strings")
    return tuple(dict.fromkeys(value))


def _int(field: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= MAX_COUNT:
        raise invalid_request(f"{field} must be an integer ≥ {minimum}")
    return value


def _amount(value: Any) -> int:
    """Money in (docs/spend-keys.md): a decimal string or JSON number, > 0 here, ≤ 10 fractional digits."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid_request("spend_limit.amount must be a decimal string or a number")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise invalid_request("spend_limit.amount must be a decimal string or a number") from None
    units = amount * UNITS_PER_USD
    if not amount.is_finite() or units != units.to_integral_value() or not 0 < units <= MAX_UNITS:
        raise invalid_request("spend_limit.amount must be > 0 with at most 10 fractional digits")
    return int(units)


def _object(field: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request(f"{field} must be an object or null")
    return value


def _apply(s: SpendKeySettings, body: Mapping[str, Any], at: int) -> SpendKeySettings:
    """``s`` with every field present in ``body`` replaced (``null`` clears an optional one)."""
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = _name(body["name"])
    if "status" in body:
        changes["status"] = _choice("status", body["status"], KEY_STATUSES)
    if "request_shape" in body:
        changes["request_shape"] = _choice("request_shape", body["request_shape"], REQUEST_SHAPES)
    for field in ("allowed_models", "allowed_providers"):
        if field in body:
            changes[field] = _names(field, body[field])
    if "spend_limit" in body:
        limit = body["spend_limit"]
        if limit is None:
            changes.update(spend_limit=None, spend_cycle=None)
        else:
            obj = _object("spend_limit", limit)
            changes.update(
                spend_limit=_amount(obj.get("amount")),
                spend_cycle=_choice("spend_limit.cycle", obj.get("cycle"), CYCLES),
            )
    if "request_limit" in body:
        limit = body["request_limit"]
        if limit is None:
            changes.update(request_limit=None, request_cycle=None)
        else:
            obj = _object("request_limit", limit)
            changes.update(
                request_limit=_int("request_limit.count", obj.get("count"), 1),
                request_cycle=_choice("request_limit.cycle", obj.get("cycle"), CYCLES),
            )
    if "rate_limit" in body:
        limit = body["rate_limit"]
        if limit is None:
            changes.update(rate_rpm=None, rate_burst=None)
        else:
            obj = _object("rate_limit", limit)
            burst = obj.get("burst")
            changes.update(
                rate_rpm=_int("rate_limit.rpm", obj.get("rpm"), 1),
                rate_burst=None if burst is None else _int("rate_limit.burst", burst, 1),
            )
    if "expires_at" in body:
        changes["expires_at"] = _expiry(body["expires_at"], at)
    return replace(s, **changes)


def _expiry(value: Any, at: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request("expires_at must be an ISO 8601 timestamp or null")
    try:
        expires = from_datetime(parse_iso(value))
    except ValueError as exc:
        raise invalid_request(f"expires_at: {exc}") from None
    if expires <= at:
        raise invalid_request("expires_at must be in the future")
    return expires


def settings_from_body(body: Mapping[str, Any], at: int) -> SpendKeySettings:
    """A new key's settings; ``name`` is required."""
    if "name" not in body:
        raise invalid_request("name is required")
    return _apply(SpendKeySettings(name=_name(body["name"])), body, at)


async def create_key(svc: Services, key: MerchantKey, body: Mapping[str, Any]) -> tuple[SpendKeyRecord, str]:
    """(record, raw key): the raw key exists only in this return value."""
    at = now_us()
    settings = settings_from_body(body, at)
    raw, preview = new_spend_key()
    key_id = svc.ids.new(SPEND_KEY, key.mode)
    async with svc.db.transaction() as tx:
        await repo.insert_key(
            tx, key_id, key.merchant_id, key.mode, svc.keyring.hash_secret(raw), preview, settings, at
        )
        record = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
    assert record is not None
    return record, raw


async def get_key(svc: Services, key: MerchantKey, key_id: str) -> SpendKeyRecord:
    """One live key of the caller's merchant and mode; 404 otherwise."""
    found = await repo.get_key(svc.db, key.merchant_id, key.mode, key_id)
    if found is None:
        raise ApiError(404, "not_found", "spend key not found")
    return found


async def update_key(svc: Services, key: MerchantKey, key_id: str, body: Mapping[str, Any]) -> SpendKeyRecord:
    """Partial update despite PUT (docs/spend-keys.md): only the fields present change."""
    unknown = set(body) - set(FIELDS)
    if unknown:
        raise invalid_request(f"unknown field(s): {', '.join(sorted(unknown))}")
    async with svc.db.transaction() as tx:
        found = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
        if found is None:
            raise ApiError(404, "not_found", "spend key not found")
        await repo.update_settings(tx, key_id, _apply(found.settings, body, now_us()))
        updated = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
    assert updated is not None
    return updated


async def revoke_key(svc: Services, key: MerchantKey, key_id: str) -> None:
    """The key dies at this commit, on every replica (keys are looked up on every use)."""
    async with svc.db.transaction() as tx:
        found = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
        if found is None or not await repo.revoke_key(tx, key_id, now_us()):
            raise ApiError(404, "not_found", "spend key not found")


async def rotate_key(svc: Services, key: MerchantKey, key_id: str) -> tuple[SpendKeyRecord, str]:
    """A new raw key for the same settings and counters; the old one fails from this commit."""
    raw, preview = new_spend_key()
    async with svc.db.transaction() as tx:
        found = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
        if found is None:
            raise ApiError(404, "not_found", "spend key not found")
        await repo.set_secret(tx, key_id, svc.keyring.hash_secret(raw), preview)
        updated = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
    assert updated is not None
    return updated, raw

"""Spend keys and their in-flight holds (migration 0013): SQL only, no policy.

Money is integer units (10⁻¹⁰ USD); times are microseconds since the epoch (UTC). Allow-lists are
JSON arrays of strings, NULL meaning "all". The limit logic lives in ``billing/spend_limits.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import orjson

from ..ids import Mode
from .auth_epoch import bump_auth_epoch
from .base import Executor, Row
from .paging import fetch_live_page

Cycle = Literal["daily", "weekly", "monthly", "total"]
CYCLES: tuple[Cycle, ...] = get_args(Cycle)
KeyStatus = Literal["active", "paused"]
KEY_STATUSES: tuple[KeyStatus, ...] = get_args(KeyStatus)
RequestShape = Literal["openai", "anthropic"]
REQUEST_SHAPES: tuple[RequestShape, ...] = get_args(RequestShape)
HoldStatus = Literal["held", "settled", "released"]


@dataclass(frozen=True)
class SpendKeySettings:
    """Everything a merchant sets on a key (create and PUT). Amounts in units; rpm/burst per minute."""

    name: str
    status: KeyStatus = "active"
    request_shape: RequestShape = "openai"
    allowed_models: tuple[str, ...] | None = None
    allowed_providers: tuple[str, ...] | None = None
    spend_limit: int | None = None
    spend_cycle: Cycle | None = None
    request_limit: int | None = None
    request_cycle: Cycle | None = None
    rate_rpm: int | None = None
    rate_burst: int | None = None
    expires_at: int | None = None


@dataclass(frozen=True)
class SpendKeyRecord:
    """One stored key with its settings and raw counters (not yet reset to the current cycle)."""

    id: str
    merchant_id: str
    mode: Mode
    key_preview: str
    settings: SpendKeySettings
    spend_cycle_start: int
    current_spend: int
    total_spend: int
    requests_cycle_start: int
    current_requests: int
    total_requests: int
    bucket_milli: int | None
    bucket_at: int | None
    spend_notified_cycle: int | None
    requests_notified_cycle: int | None
    last_used_at: int | None
    created_at: int
    revoked_at: int | None


_COLUMNS = (
    "id, merchant_id, mode, name, key_preview, status, request_shape, allowed_models, allowed_providers,"
    " spend_limit, spend_cycle, request_limit, request_cycle, rate_rpm, rate_burst, expires_at,"
    " spend_cycle_start, current_spend, total_spend, requests_cycle_start, current_requests, total_requests,"
    " bucket_milli, bucket_at, spend_notified_cycle, requests_notified_cycle, last_used_at, created_at, revoked_at"
)
_SELECT = f"SELECT {_COLUMNS} FROM spend_keys"


def _list(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(orjson.loads(value))


def _dump(value: tuple[str, ...] | None) -> str | None:
    return None if value is None else orjson.dumps(list(value)).decode()


def _opt(value: Any) -> int | None:
    return None if value is None else int(value)


def record_of(row: Row) -> SpendKeyRecord:
    """A ``spend_keys`` row (all of ``_COLUMNS``) as a record."""
    settings = SpendKeySettings(
        name=row["name"],
        status=row["status"],
        request_shape=row["request_shape"],
        allowed_models=_list(row["allowed_models"]),
        allowed_providers=_list(row["allowed_providers"]),
        spend_limit=_opt(row["spend_limit"]),
        spend_cycle=row["spend_cycle"],
        request_limit=_opt(row["request_limit"]),
        request_cycle=row["request_cycle"],
        rate_rpm=_opt(row["rate_rpm"]),
        rate_burst=_opt(row["rate_burst"]),
        expires_at=_opt(row["expires_at"]),
    )
    return SpendKeyRecord(
        id=row["id"],
        merchant_id=row["merchant_id"],
        mode=row["mode"],
        key_preview=row["key_preview"],
        settings=settings,
        spend_cycle_start=int(row["spend_cycle_start"]),
        current_spend=int(row["current_spend"]),
        total_spend=int(row["total_spend"]),
        requests_cycle_start=int(row["requests_cycle_start"]),
        current_requests=int(row["current_requests"]),
        total_requests=int(row["total_requests"]),
        bucket_milli=_opt(row["bucket_milli"]),
        bucket_at=_opt(row["bucket_at"]),
        spend_notified_cycle=_opt(row["spend_notified_cycle"]),
        requests_notified_cycle=_opt(row["requests_notified_cycle"]),
        last_used_at=_opt(row["last_used_at"]),
        created_at=int(row["created_at"]),
        revoked_at=_opt(row["revoked_at"]),
    )


def _settings_args(s: SpendKeySettings) -> list[Any]:
    return [
        s.name,
        s.status,
        s.request_shape,
        _dump(s.allowed_models),
        _dump(s.allowed_providers),
        s.spend_limit,
        s.spend_cycle,
        s.request_limit,
        s.request_cycle,
        s.rate_rpm,
        s.rate_burst,
        s.expires_at,
    ]


async def insert_key(
    tx: Executor, key_id: str, merchant_id: str, mode: Mode, key_hash: str, preview: str, s: SpendKeySettings, at: int
) -> None:
    """Store a new key: its secret only as ``key_hash``, counters at zero."""
    await tx.execute(
        "INSERT INTO spend_keys (id, merchant_id, mode, key_hash, key_preview, created_at, name, status,"
        " request_shape, allowed_models, allowed_providers, spend_limit, spend_cycle, request_limit,"
        " request_cycle, rate_rpm, rate_burst, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
        key_id,
        merchant_id,
        mode,
        key_hash,
        preview,
        at,
        *_settings_args(s),
    )


async def update_settings(tx: Executor, key_id: str, s: SpendKeySettings) -> None:
    """Replace a key's settings; its counters and rate bucket stay (a new rpm refills from there)."""
    await tx.execute(
        "UPDATE spend_keys SET name = $2, status = $3, request_shape = $4, allowed_models = $5,"
        " allowed_providers = $6, spend_limit = $7, spend_cycle = $8, request_limit = $9, request_cycle = $10,"
        " rate_rpm = $11, rate_burst = $12, expires_at = $13 WHERE id = $1",
        key_id,
        *_settings_args(s),
    )


async def get_key(ex: Executor, merchant_id: str, mode: Mode, key_id: str) -> SpendKeyRecord | None:
    """A live (unrevoked) key of this merchant and mode, else None."""
    row = await ex.fetchone(
        _SELECT + " WHERE id = $1 AND merchant_id = $2 AND mode = $3 AND revoked_at IS NULL", key_id, merchant_id, mode
    )
    return None if row is None else record_of(row)


async def find_by_hash(ex: Executor, key_hash: str) -> SpendKeyRecord | None:
    """The live key whose current secret hashes to ``key_hash`` (a rotated-away secret finds nothing)."""
    row = await ex.fetchone(_SELECT + " WHERE key_hash = $1 AND revoked_at IS NULL", key_hash)
    return None if row is None else record_of(row)


async def list_keys(
    ex: Executor, merchant_id: str, mode: Mode, *, cursor: str | None, limit: int
) -> tuple[list[SpendKeyRecord], bool]:
    """Live keys of one merchant and mode, newest first."""
    rows, more = await fetch_live_page(
        ex,
        select=_SELECT,
        merchant_id=merchant_id,
        mode=mode,
        ended_by="revoked_at",
        cursor=cursor,
        limit=limit,
    )
    return [record_of(r) for r in rows], more


async def revoke_key(tx: Executor, key_id: str, at: int) -> bool:
    """Revoke a key; its in-flight holds stay until their calls finish. False if already revoked."""
    changed = await tx.execute("UPDATE spend_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", at, key_id)
    if changed:
        await bump_auth_epoch(tx)
    return changed > 0


async def set_secret(tx: Executor, key_id: str, key_hash: str, preview: str) -> None:
    """Rotation: the new secret replaces the old one, which stops working at this commit."""
    await tx.execute("UPDATE spend_keys SET key_hash = $2, key_preview = $3 WHERE id = $1", key_id, key_hash, preview)
    await bump_auth_epoch(tx)


async def lock_for_use(tx: Executor, key_id: str, at: int) -> SpendKeyRecord | None:
    """Touch ``last_used_at`` and return the key, holding its row lock until ``tx`` ends (PostgreSQL;
    SQLite has a single writer). None when the key was revoked meanwhile."""
    row = await tx.fetchone(
        "UPDATE spend_keys SET last_used_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING " + _COLUMNS,
        key_id,
        at,
    )
    return None if row is None else record_of(row)


async def save_counters(tx: Executor, rec: SpendKeyRecord) -> None:
    """Write back a locked key's counters, rate bucket and notification marks."""
    await tx.execute(
        "UPDATE spend_keys SET spend_cycle_start = $2, current_spend = $3, total_spend = $4,"
        " requests_cycle_start = $5, current_requests = $6, total_requests = $7, bucket_milli = $8,"
        " bucket_at = $9, spend_notified_cycle = $10, requests_notified_cycle = $11 WHERE id = $1",
        rec.id,
        rec.spend_cycle_start,
        rec.current_spend,
        rec.total_spend,
        rec.requests_cycle_start,
        rec.current_requests,
        rec.total_requests,
        rec.bucket_milli,
        rec.bucket_at,
        rec.spend_notified_cycle,
        rec.requests_notified_cycle,
    )


async def in_flight(tx: Executor, key_id: str, now: int) -> tuple[int, int]:
    """(units, calls) held by the key's unexpired in-flight calls."""
    row = await tx.fetchone(
        "SELECT COALESCE(SUM(amount), 0) AS units, COUNT(*) AS calls FROM spend_key_holds"
        " WHERE spend_key_id = $1 AND status = 'held' AND expires_at > $2",
        key_id,
        now,
    )
    assert row is not None
    return int(row["units"]), int(row["calls"])


async def insert_hold(tx: Executor, request_id: str, key_id: str, amount: int, at: int, expires_at: int) -> None:
    """An admitted call's worst case (units), counted until settled, released or ``expires_at``."""
    await tx.execute(
        "INSERT INTO spend_key_holds (request_id, spend_key_id, amount, status, created_at, expires_at)"
        " VALUES ($1, $2, $3, 'held', $4, $5)",
        request_id,
        key_id,
        amount,
        at,
        expires_at,
    )


async def close_hold(tx: Executor, request_id: str, status: HoldStatus) -> str | None:
    """Finish an open hold once; returns its key id, or None if there was none open."""
    row = await tx.fetchone(
        "UPDATE spend_key_holds SET status = $2 WHERE request_id = $1 AND status = 'held' RETURNING spend_key_id",
        request_id,
        status,
    )
    return None if row is None else str(row["spend_key_id"])


async def key_of_request(ex: Executor, request_id: str) -> str | None:
    """The spend key a request was made with, if any."""
    value = await ex.fetchval("SELECT spend_key_id FROM spend_key_holds WHERE request_id = $1", request_id)
    return None if value is None else str(value)

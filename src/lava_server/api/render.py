"""Domain records → wire objects (API versions 2025-03-27.v1 … 2025-04-28.v1; fields are the union)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

import orjson

from ..auth.keyring import Keyring
from ..billing.usage_period import usage_period
from ..checkout.sessions import session_token
from ..clock import now_us, to_iso
from ..money import to_wire
from ..store.checkout_sessions import CheckoutSessionRecord
from ..store.connections import ConnectionRecord
from ..store.requests import DailyUsage, RequestRecord


def list_body(data: list[dict[str, Any]], has_more: bool, next_cursor: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"data": data, "has_more": has_more}
    if next_cursor is not None:
        body["next_cursor"] = next_cursor
    return body


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def page_body(data: list[dict[str, Any]], has_more: bool, records: Sequence[_Identified]) -> dict[str, Any]:
    """:func:`list_body` for a page of ``records`` (rendered as ``data``): the next cursor is the
    last record's id when there are more pages, else absent."""
    return list_body(data, has_more, records[-1].id if has_more and records else None)


def connection(rec: ConnectionRecord, keyring: Keyring) -> dict[str, Any]:
    previous_reset, next_reset = usage_period(rec.created_at, now_us())
    body: dict[str, Any] = {
        "connection_id": rec.id,
        "connection_secret": keyring.decrypt(rec.secret_enc),
        "reference_id": rec.reference_id,
        "wallet": {
            "balance": to_wire(rec.balance - rec.held),
            "phone": rec.wallet.phone,
            "email": rec.wallet.email,
            "first_name": rec.wallet.first_name,
            "last_name": rec.wallet.last_name,
            "autopay_enabled": rec.wallet.autopay_enabled,
        },
        "next_usage_reset": to_iso(next_reset),
        "previous_usage_reset": to_iso(previous_reset),
        "created_at": to_iso(rec.created_at),
        "status": "deleted" if rec.deleted_at is not None else "ok",
        # 8.x connection fields (docs/current-api.md "One model"): credits are the prepaid balance until plans exist.
        "has_lava_credit_balance": rec.balance - rec.held > 0,
        "customer": {
            "phone": rec.wallet.phone or "",
            "email": rec.wallet.email or "",
            "first_name": rec.wallet.first_name or "",
            "last_name": rec.wallet.last_name or "",
        },
        "subscription": None,
    }
    if rec.deleted_at is not None:
        body["deleted_at"] = to_iso(rec.deleted_at)
    return body


def checkout_session(rec: CheckoutSessionRecord, keyring: Keyring, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "checkout_session_id": rec.id,
        "checkout_session_token": session_token(keyring.decrypt(rec.secret_enc), base),
        "checkout_mode": rec.checkout_mode,
        "origin_url": rec.origin_url,
        "connection_id": rec.connection_id,
        "reference_id": rec.reference_id,
        "created_at": to_iso(rec.created_at),
        "completed_at": None if rec.completed_at is None else to_iso(rec.completed_at),
        "expires_at": to_iso(rec.expires_at),
    }
    return body


def _seconds(ms: int) -> int | orjson.Fragment:
    # Counts are JSON numbers. Whole seconds render as integers; otherwise an exact decimal
    # number with millisecond precision, written from the integer milliseconds (no float).
    if ms % 1000 == 0:
        return ms // 1000
    return orjson.Fragment(format(Decimal(ms) / 1000, "f"))


def _zero_fee() -> dict[str, Any]:
    return {"amount": to_wire(0), "rate_type": "fixed", "token_basis": "input+output", "breakdown": []}


def request(rec: RequestRecord) -> dict[str, Any]:
    fee = orjson.loads(rec.fee_detail) if rec.fee_detail else _zero_fee()
    fee["amount"] = to_wire(rec.fee_amount)
    body: dict[str, Any] = {
        "request_id": rec.external_id or rec.id,
        "status": rec.status,
        "connection_id": rec.connection_id,
        "product_id": rec.product_id,
        "provider": rec.provider,
        "provider_key_type": rec.provider_key_type,
        "model": rec.model,
        "endpoint": rec.endpoint,
        "response_id": rec.response_id,
        "model_usage": {
            "input_tokens": rec.input_tokens,
            "output_tokens": rec.output_tokens,
            "total_tokens": rec.input_tokens + rec.output_tokens,
            "cached_input_tokens": rec.cached_input_tokens,
            "cache_write_tokens": rec.cache_write_tokens,
            "reasoning_tokens": rec.reasoning_tokens,
            "input_characters": rec.input_characters,
            "output_characters": rec.output_characters,
            "total_characters": rec.input_characters + rec.output_characters,
            "input_seconds": _seconds(rec.input_ms),
            "output_seconds": _seconds(rec.output_ms),
            "total_seconds": _seconds(rec.input_ms + rec.output_ms),
            "input_cost": to_wire(rec.input_cost),
            "output_cost": to_wire(rec.output_cost),
            "total_cost": to_wire(rec.base_cost),
            "payer": rec.base_cost_payer,
            "estimated": bool(rec.usage_estimated),
        },
        "fee": fee,
        "service_charge": {"amount": to_wire(rec.service_charge), "payer": rec.service_charge_payer},
        "total_request_cost": to_wire(rec.total_request_cost),
        "total_wallet_cost": to_wire(rec.total_wallet_cost),
        "total_merchant_cost": to_wire(rec.total_merchant_cost),
        "metadata": orjson.loads(rec.metadata) if rec.metadata else {},
        "timestamp": None if rec.timestamp is None else to_iso(rec.timestamp),
        "created_at": to_iso(rec.created_at),
    }
    if rec.provider_usage:
        body["provider_usage"] = orjson.loads(rec.provider_usage)
    if rec.pricing_detail:
        body["pricing"] = orjson.loads(rec.pricing_detail)
    if rec.error:
        body["error"] = rec.error
    if rec.client_format:  # /v1/rewrite calls: the client's format beside `provider`
        body["client_format"] = rec.client_format
    return body


_USAGE_FIELDS = (
    "total_usage_cost",
    "total_fee_amount",
    "total_service_charge_amount",
    "total_request_cost",
    "total_wallet_cost",
    "total_merchant_cost",
)


def usage_item(day: DailyUsage | None, date: str, start: str, end: str) -> dict[str, Any]:
    item: dict[str, Any] = {"date": date, "start": start, "end": end}
    item["total_requests"] = day.total_requests if day else 0
    item["total_usage_tokens"] = day.total_usage_tokens if day else 0
    for name in _USAGE_FIELDS:
        item[name] = to_wire(getattr(day, name) if day else 0)
    return item


def usage_totals(days: list[DailyUsage]) -> dict[str, Any]:
    totals: dict[str, Any] = {
        "total_requests": sum(d.total_requests for d in days),
        "total_usage_tokens": sum(d.total_usage_tokens for d in days),
    }
    for name in _USAGE_FIELDS:
        totals[name] = to_wire(sum(getattr(d, name) for d in days))
    return totals

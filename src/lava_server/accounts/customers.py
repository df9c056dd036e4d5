"""Customers (docs/current-api.md "Customers"): connections created, edited and deleted through the current API.

A customer IS a connection: the same row, the same ``con_`` id, the same wallet. Contact fields
live on the wallet; ``metadata`` is a JSON object on the connection row.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from ..clock import now_us
from ..context import Services
from ..errors import ApiError, invalid_request
from ..ids import WALLET
from ..store import connections as conn_repo
from ..store import customers as repo
from ..store.connections import ConnectionRecord
from ..store.merchants import MerchantKey
from ..store.outbox import Event
from .connections import create_connection

MAX_TEXT = 255
MAX_METADATA_BYTES = 16 * 1024
PHONE_RE = re.compile(r"^\+[1-9][0-9]{1,14}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
CONNECTION_PREFIX = "con_"


@dataclass(frozen=True)
class CustomerChange:
    """Validated fields of a create or update; ``None`` values clear (update) or stay unset (create)."""

    connection: dict[str, Any]  # reference_id, metadata (JSON text)
    wallet: dict[str, Any]  # email, phone, first_name, last_name


def _text(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_request(f"{name} must be a string or null")
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise invalid_request(f"{name} must be at most {MAX_TEXT} characters")
    return value or None


def parse_change(body: Mapping[str, Any], *, partial: bool) -> CustomerChange:
    """Validate customer fields (``name`` splits at the first space into first/last name).

    With ``partial`` only the keys present in ``body`` are returned (null clears them)."""
    connection: dict[str, Any] = {}
    wallet: dict[str, Any] = {}
    if not partial or "reference_id" in body:
        ref = _text(body, "reference_id")
        if ref is not None and ref.startswith(CONNECTION_PREFIX):
            raise invalid_request("reference_id may not start with con_ (that is the customer id's prefix)")
        connection["reference_id"] = ref
    if not partial or "metadata" in body:
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise invalid_request("metadata must be a JSON object or null")
        text = None if metadata is None else orjson.dumps(metadata).decode()
        if text is not None and len(text.encode()) > MAX_METADATA_BYTES:
            raise invalid_request(f"metadata must serialize to at most {MAX_METADATA_BYTES} bytes")
        connection["metadata"] = text
    if not partial or "name" in body:
        name = _text(body, "name")
        first, _, last = (name or "").partition(" ")
        wallet["first_name"] = first or None
        wallet["last_name"] = last.strip() or None
    if not partial or "email" in body:
        email = _text(body, "email")
        if email is not None and not EMAIL_RE.match(email):
            raise invalid_request("email is not a valid address")
        wallet["email"] = email
    if not partial or "phone" in body:
        phone = _text(body, "phone")
        if phone is not None and not PHONE_RE.match(phone):
            raise invalid_request("phone must be in E.164 form, e.g. +14155550123")
        wallet["phone"] = phone
    return CustomerChange(connection, wallet)


async def create_customer(svc: Services, key: MerchantKey, body: Mapping[str, Any]) -> tuple[ConnectionRecord, bool]:
    """(customer, created). An existing live customer with the same ``reference_id`` is returned
    unchanged with ``created`` False (idempotent create)."""
    change = parse_change(body, partial=False)
    reference_id = change.connection["reference_id"]
    async with svc.db.transaction() as tx:
        if reference_id is not None:
            existing = await repo.find_live_by_reference(tx, key.merchant_id, key.mode, reference_id)
            if existing is not None:
                return existing, False
        wallet = conn_repo.WalletRecord(
            svc.ids.new(WALLET, key.mode),
            key.mode,
            email=change.wallet["email"],
            phone=change.wallet["phone"],
            first_name=change.wallet["first_name"],
            last_name=change.wallet["last_name"],
        )
        await conn_repo.insert_wallet(tx, wallet, now_us())
        new = await create_connection(svc, key, reference_id=reference_id, wallet=wallet, tx=tx)
        found = await repo.find_customer(tx, key.merchant_id, key.mode, new.connection_id)
        assert found is not None
        if change.connection["metadata"] is not None:
            await repo.update_customer(tx, found, connection={"metadata": change.connection["metadata"]}, wallet={})
        record = await repo.find_customer(tx, key.merchant_id, key.mode, new.connection_id)
    assert record is not None
    return record, True


async def live_customer(svc: Services, key: MerchantKey, ref: str) -> ConnectionRecord:
    """A live customer by ``con_`` id or reference_id; 404 ``not_found`` otherwise (deleted included)."""
    found = await repo.find_customer(svc.db, key.merchant_id, key.mode, ref)
    if found is None or found.deleted_at is not None:
        raise ApiError(404, "not_found", "customer not found")
    return found


async def update_customer(svc: Services, key: MerchantKey, ref: str, body: Mapping[str, Any]) -> ConnectionRecord:
    """PATCH semantics: each field optional and nullable, ``metadata`` replaced, not merged."""
    change = parse_change(body, partial=True)
    async with svc.db.transaction() as tx:
        customer = await repo.find_customer(tx, key.merchant_id, key.mode, ref)
        if customer is None or customer.deleted_at is not None:
            raise ApiError(404, "not_found", "customer not found")
        new_ref = change.connection.get("reference_id")
        if new_ref is not None and new_ref != customer.reference_id:
            other = await repo.find_live_by_reference(tx, key.merchant_id, key.mode, new_ref)
            if other is not None and other.id != customer.id:
                raise ApiError(409, "reference_id_conflict", f"reference_id {new_ref!r} is used by another customer")
        await repo.update_customer(tx, customer, connection=change.connection, wallet=change.wallet)
        updated = await repo.find_customer(tx, key.merchant_id, key.mode, customer.id)
    assert updated is not None
    return updated


async def delete_customer(svc: Services, key: MerchantKey, ref: str) -> None:
    """Soft delete: gateway calls and POST /v1/requests then get 403 ``customer_inactive``.
    Emits ``customer.deleted`` in the same transaction (``customer.created`` comes with the connection)."""
    async with svc.db.transaction() as tx:
        customer = await repo.find_customer(tx, key.merchant_id, key.mode, ref)
        if customer is None or customer.deleted_at is not None:
            raise ApiError(404, "not_found", "customer not found")
        await conn_repo.soft_delete_connection(tx, key.merchant_id, key.mode, customer.id, now_us())
        await svc.outbox.add(tx, Event("customer.deleted", key.merchant_id, key.mode, customer.id))
    svc.forward_auth_changed(customer.id)

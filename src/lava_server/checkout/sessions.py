"""Create checkout sessions and their tokens (base64 JSON ``{secret, base}``)."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlsplit

from ..clock import now_us
from ..context import Services
from ..errors import ApiError, invalid_request
from ..ids import CHECKOUT_SECRET, CHECKOUT_SESSION, new_secret
from ..store import checkout_sessions as repo
from ..store.connections import get_connection
from ..store.merchants import MerchantKey
from . import purchase

CHECKOUT_MODES = ("onboarding", "topup", "subscription", "credit_bundle")
MAX_URL_LENGTH = 2048
MAX_REFERENCE_LENGTH = 255


def session_token(secret: str, base: str) -> str:
    """What ``@lavapayments/checkout`` decodes: ``base64(JSON.stringify({secret, base}))``."""
    assert base.endswith("/")
    payload = json.dumps({"secret": secret, "base": base}, separators=(",", ":"))
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")


def normalise_origin(origin_url: str) -> str:
    """``https://app.example.com/`` → ``https://app.example.com`` (what ``location.origin`` gives)."""
    if not isinstance(origin_url, str) or not origin_url or len(origin_url) > MAX_URL_LENGTH:
        raise invalid_request("origin_url must be an http(s) URL")
    parts = urlsplit(origin_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_request("origin_url must be an absolute http(s) URL, e.g. https://your-app.com/")
    if parts.username or parts.password:
        raise invalid_request("origin_url must not contain credentials")
    host = parts.hostname
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError as exc:
        raise invalid_request("origin_url has an invalid port") from exc
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


async def create_session(
    svc: Services,
    key: MerchantKey,
    *,
    checkout_mode: str,
    origin_url: str,
    reference_id: str | None,
    connection_id: str | None,
    plan_id: str | None = None,
    credit_bundle_id: str | None = None,
) -> tuple[repo.CheckoutSessionRecord, str]:
    """Returns the stored session and its plaintext secret. ``subscription`` sells ``plan_id`` (to
    ``connection_id`` when given), ``credit_bundle`` sells ``credit_bundle_id`` to ``connection_id``."""
    if checkout_mode not in CHECKOUT_MODES:
        raise invalid_request(f"checkout_mode must be one of {', '.join(CHECKOUT_MODES)}")
    normalise_origin(origin_url)
    if reference_id is not None and not (0 < len(reference_id) <= MAX_REFERENCE_LENGTH):
        raise invalid_request(f"reference_id must be 1..{MAX_REFERENCE_LENGTH} characters")
    if checkout_mode == "topup":
        if not connection_id:
            raise invalid_request("connection_id is required when checkout_mode is 'topup'")
        connection = await get_connection(svc.db, key.merchant_id, key.mode, connection_id)
        if connection is None:
            raise ApiError(404, "not_found", "connection not found")
        if connection.deleted_at is not None:
            raise ApiError(409, "connection_inactive", "connection has been deleted")
    elif checkout_mode in purchase.PURCHASE_MODES:
        sold = await purchase.validate(
            svc, key, checkout_mode, connection_id=connection_id, plan_id=plan_id, bundle_id=credit_bundle_id
        )
    elif connection_id is not None:
        raise invalid_request("connection_id is only allowed when checkout_mode is 'topup'")
    if checkout_mode not in purchase.PURCHASE_MODES and (plan_id is not None or credit_bundle_id is not None):
        raise invalid_request("plan_id and credit_bundle_id belong to the subscription and credit_bundle modes")
    at = now_us()
    secret = new_secret(CHECKOUT_SECRET, key.mode)
    record = repo.CheckoutSessionRecord(
        id=svc.ids.new(CHECKOUT_SESSION, key.mode),
        merchant_id=key.merchant_id,
        mode=key.mode,
        secret_enc=svc.keyring.encrypt(secret),
        checkout_mode=checkout_mode,
        origin_url=origin_url,
        reference_id=reference_id,
        connection_id=connection_id if checkout_mode != "onboarding" else None,
        created_at=at,
        expires_at=at + svc.settings.checkout_session_ttl_s * 1_000_000,
        completed_at=None,
    )
    async with svc.db.transaction() as tx:
        await repo.insert_checkout_session(tx, record, svc.keyring.hash_secret(secret))
        if checkout_mode in purchase.PURCHASE_MODES:
            await purchase.save(tx, record.id, sold)
    return record, secret

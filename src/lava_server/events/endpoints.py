"""Registering, changing and removing webhook endpoints (for the REST API and the CLI).

Errors are :class:`ApiError` with the codes of ``docs/errors.md``: 400 ``invalid_webhook_url``
for a URL the delivery rules refuse, 400 ``webhook_limit_reached`` past the per-merchant
maximum, 404 ``not_found`` for another merchant's or mode's endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..auth.keyring import Keyring
from ..clock import now_us, to_iso
from ..errors import ApiError, invalid_request, not_found
from ..ids import IdFactory
from ..store import Database
from ..store import webhook_deliveries as deliveries
from ..store import webhook_endpoints as repo
from ..store.merchants import MerchantKey
from ..store.outbox import add_deliveries
from ..store.webhook_deliveries import AttemptRecord
from ..store.webhook_endpoints import EndpointRecord
from . import signing
from .config import WebhookSettings
from .safety import UnsafeTarget, check_target

WEBHOOK = "wh"
MAX_ENDPOINTS = 3  # per merchant and mode (lava-api-current §3.9)
MAX_NAME = 255


def render(rec: EndpointRecord, secret: str | None = None) -> dict[str, Any]:
    """RestWebhook: ``{webhook_id, name, url, created_at}``; ``webhook_secret`` on create only,
    ``disabled_at`` only once the endpoint was disabled for failing."""
    body: dict[str, Any] = {
        "webhook_id": rec.id,
        "name": rec.name,
        "url": rec.url,
        "created_at": to_iso(rec.created_at),
    }
    if secret is not None:
        body["webhook_secret"] = secret
    if rec.disabled_at is not None:
        body["disabled_at"] = to_iso(rec.disabled_at)
    return body


def render_attempt(rec: AttemptRecord) -> dict[str, Any]:
    """One delivery attempt: outcome, HTTP status (null without a response), latency, excerpt."""
    return {
        "attempt_id": rec.id,
        "event_id": rec.event_id,
        "webhook_id": rec.endpoint_id,
        "attempt": rec.attempt,
        "outcome": rec.outcome,
        "status_code": rec.status_code,
        "latency_ms": rec.latency_ms,
        "error": rec.error,
        "response_excerpt": rec.response_excerpt,
        "worker": rec.worker,
        "created_at": to_iso(rec.started_at),
    }


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise invalid_request(f"name must be a non-empty string of at most {MAX_NAME} characters")
    return value


async def _url(value: Any, settings: WebhookSettings) -> str:
    if not isinstance(value, str):
        raise invalid_request("url must be a string")
    try:
        await check_target(value, settings.allowed_hosts, require_resolution=False)
    except UnsafeTarget as exc:
        raise ApiError(400, "invalid_webhook_url", str(exc)) from None
    return value


@dataclass(frozen=True)
class Webhooks:
    """Endpoint management for one server: the store, the keyring (secrets are encrypted, since
    signing needs them back) and the delivery settings."""

    db: Database
    keyring: Keyring
    ids: IdFactory
    settings: WebhookSettings

    async def create(self, key: MerchantKey, data: dict[str, Any]) -> dict[str, Any]:
        name = _name(data.get("name"))
        url = await _url(data.get("url"), self.settings)
        secret = signing.new_secret()
        at = now_us()
        rec = EndpointRecord(
            id=self.ids.new(WEBHOOK, key.mode),
            merchant_id=key.merchant_id,
            mode=key.mode,
            name=name,
            url=url,
            secret_enc=self.keyring.encrypt(secret),
            created_at=at,
            updated_at=at,
            failing_since=None,
            disabled_at=None,
        )
        async with self.db.transaction() as tx:
            await repo.lock_merchant(tx, key.merchant_id)
            if await repo.count_endpoints(tx, key.merchant_id, key.mode) >= MAX_ENDPOINTS:
                raise ApiError(
                    400, "webhook_limit_reached", f"a merchant may have at most {MAX_ENDPOINTS} webhooks per mode"
                )
            await repo.insert_endpoint(tx, rec)
        return render(rec, secret)

    async def get(self, key: MerchantKey, webhook_id: str) -> EndpointRecord:
        rec = await repo.get_endpoint(self.db, key.merchant_id, key.mode, webhook_id)
        if rec is None:
            raise not_found("webhook")
        return rec

    async def update(self, key: MerchantKey, webhook_id: str, data: dict[str, Any]) -> dict[str, Any]:
        rec = await self.get(key, webhook_id)
        name = _name(data["name"]) if data.get("name") is not None else rec.name
        url = await _url(data["url"], self.settings) if data.get("url") is not None else rec.url
        at = now_us()
        async with self.db.transaction() as tx:
            await repo.update_endpoint(tx, rec.id, name=name, url=url, at=at)
        return render(await self.get(key, webhook_id))

    async def delete(self, key: MerchantKey, webhook_id: str) -> dict[str, Any]:
        rec = await self.get(key, webhook_id)
        async with self.db.transaction() as tx:
            await repo.delete_endpoint(tx, rec.id, now_us())
        return {"id": rec.id, "deleted": True}

    async def redeliver(self, key: MerchantKey, event_id: str) -> dict[str, Any]:
        """Send one event again, now, to every live endpoint (those registered since included)."""
        owner = await deliveries.event_owner(self.db, event_id)
        if owner != (key.merchant_id, key.mode):
            raise not_found("event")
        at = now_us()
        async with self.db.transaction() as tx:
            await add_deliveries(tx, event_id, key.merchant_id, key.mode, 1, at, at)
            scheduled = await deliveries.schedule_redelivery(tx, event_id, at=at)
        return {"event_id": event_id, "scheduled": scheduled}

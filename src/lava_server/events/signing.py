"""The delivered body and its signature (lava-api-current §3.9).

Body: ``{"id": "evt_…", "event": <type>, "created_at": <ISO>, "occurred_at": <ISO>, "data": {…}}``,
compact JSON. ``id`` never changes across attempts (receivers deduplicate on it); ``created_at``
is when this attempt's body was made and signed, so receivers (our SDK's ``construct_event``)
reject stale replays with a tolerance while retries hours later still pass; ``occurred_at`` is
when the change happened.

Header: ``X-Webhook-Signature`` = lowercase hex HMAC-SHA256 of the **raw body**, keyed with the
endpoint's ``whsec_`` secret (as UTF-8 bytes).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any, Final

import orjson

from ..clock import to_iso

SIGNATURE_HEADER: Final = "X-Webhook-Signature"
EVENT_ID_HEADER: Final = "X-Webhook-Id"
SECRET_PREFIX: Final = "whsec_"


def new_secret() -> str:
    """A fresh endpoint secret: ``whsec_`` + 32 random bytes, URL-safe base64."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def sign(body: bytes, secret: str) -> str:
    """The ``X-Webhook-Signature`` value for ``body``."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def envelope(*, event_id: str, event_type: str, occurred_at_us: int, created_at_us: int, data: Any) -> bytes:
    """The exact bytes delivered (and signed) for one attempt."""
    return orjson.dumps(
        {
            "id": event_id,
            "event": event_type,
            "created_at": to_iso(created_at_us),
            "occurred_at": to_iso(occurred_at_us),
            "data": data,
        }
    )

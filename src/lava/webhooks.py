"""Webhook signatures: ``X-Lava-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]``.

The signature is the hex HMAC-SHA256, keyed with the endpoint's webhook secret, of
``"<t>.<raw body>"``. Verify against the *raw* request bytes, not re-serialised
JSON. Several ``v1`` entries may be present while a secret is being rotated; one
match is enough. Timestamps further than ``tolerance`` seconds from now (either
direction) are rejected, which bounds replays; deduplicate on the event ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Final

from pydantic import ValidationError

from .errors import WebhookVerificationError
from .types import WebhookEvent

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "WebhookVerificationError",
    "Webhooks",
    "compute_signature",
    "construct_event",
    "sign",
    "verify",
]

SIGNATURE_HEADER: Final = "X-Lava-Signature"
DEFAULT_TOLERANCE: Final = 300
_MAX_HEADER_LENGTH: Final = 8192


def _raw(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256(secret, ``f"{timestamp}.{payload}"``)."""
    message = str(int(timestamp)).encode("ascii") + b"." + _raw(payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The ``X-Lava-Signature`` header value for ``payload`` (for senders and tests)."""
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(payload, secret, t)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    if not isinstance(header, str) or not header.strip():
        raise WebhookVerificationError("Missing webhook signature header")
    if len(header) > _MAX_HEADER_LENGTH:
        raise WebhookVerificationError("Webhook signature header is too long")
    timestamps: list[str] = []
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookVerificationError("Malformed webhook signature header")
        if key == "t":
            timestamps.append(value.strip())
        elif key == "v1":
            signatures.append(value.strip())
        # other schemes (v0, ...) are ignored
    if len(timestamps) != 1 or not timestamps[0].isascii() or not timestamps[0].isdigit():
        raise WebhookVerificationError("Webhook signature header needs exactly one numeric t=")
    if not signatures:
        raise WebhookVerificationError("Webhook signature header has no v1= signature")
    return int(timestamps[0]), signatures


def verify(
    payload: bytes | str,
    signature_header: str,
    secret: str,
    *,
    tolerance: int | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise ``WebhookVerificationError`` unless the header signs ``payload`` with ``secret``.

    ``tolerance`` is in seconds (``None`` disables the timestamp check); ``now``
    overrides the clock.
    """
    if not secret:
        raise WebhookVerificationError("Empty webhook secret")
    timestamp, signatures = _parse_header(signature_header)
    expected = compute_signature(payload, secret, timestamp).encode("ascii")
    matched = False
    for candidate in signatures:
        # compare every entry, in constant time per entry
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace"))
    if not matched:
        raise WebhookVerificationError("No webhook signature matches the payload")
    if tolerance is not None:
        current = time.time() if now is None else now
        if abs(current - timestamp) > tolerance:
            raise WebhookVerificationError(
                f"Webhook timestamp is outside the tolerance of {tolerance}s (replayed or clock skew)"
            )


def construct_event(
    payload: bytes | str,
    signature_header: str,
    secret: str,
    tolerance: int | None = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> WebhookEvent:
    """Verify, then parse the body into a ``WebhookEvent``."""
    verify(payload, signature_header, secret, tolerance=tolerance, now=now)
    try:
        return WebhookEvent.model_validate(json.loads(_raw(payload)))
    except (ValueError, ValidationError) as exc:
        raise WebhookVerificationError(f"Webhook body is not a valid event: {exc}") from exc


class Webhooks:
    """``lava.webhooks``: the module functions, reachable from a client too."""

    __slots__ = ()

    SIGNATURE_HEADER: Final = SIGNATURE_HEADER

    def verify(
        self,
        payload: bytes | str,
        signature_header: str,
        secret: str,
        *,
        tolerance: int | None = DEFAULT_TOLERANCE,
        now: float | None = None,
    ) -> None:
        verify(payload, signature_header, secret, tolerance=tolerance, now=now)

    def construct_event(
        self,
        payload: bytes | str,
        signature_header: str,
        secret: str,
        tolerance: int | None = DEFAULT_TOLERANCE,
        *,
        now: float | None = None,
    ) -> WebhookEvent:
        return construct_event(payload, signature_header, secret, tolerance, now=now)

    def sign(self, payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
        return sign(payload, secret, timestamp)

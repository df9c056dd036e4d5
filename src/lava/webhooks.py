"""Webhook signatures, in two schemes; :func:`verify` and :func:`construct_event` take either.

* **Current** (docs/webhooks.md): ``X-Webhook-Signature: <hex>``, the lowercase hex
  HMAC-SHA256 of the raw body keyed with the endpoint's ``webhook_secret``. The timestamp is
  the envelope's ``created_at``, inside the signed body. :func:`signature` computes it.
* **Earlier** (this SDK before the current API): ``X-Lava-Signature: t=<unix>,v1=<hex>[,v1=...]``,
  the hex HMAC-SHA256 of ``"<t>.<raw body>"``. Several ``v1`` entries may be present while a
  secret is rotated; one match is enough. :func:`sign` computes it.

Verify against the *raw* request bytes, not re-serialised JSON. Timestamps further than
``tolerance`` seconds from now (either direction) are rejected, which bounds replays;
deduplicate on the event ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from .errors import WebhookVerificationError
from .types import WebhookEvent

__all__ = [
    "DEFAULT_TOLERANCE",
    "LEGACY_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "WebhookVerificationError",
    "Webhooks",
    "compute_signature",
    "construct_event",
    "sign",
    "signature",
    "verify",
]

SIGNATURE_HEADER: Final = "X-Webhook-Signature"
"""The header the server signs deliveries in (docs/webhooks.md)."""
LEGACY_SIGNATURE_HEADER: Final = "X-Lava-Signature"
"""The header of the earlier ``t=…,v1=…`` scheme."""
DEFAULT_TOLERANCE: Final = 300
_MAX_HEADER_LENGTH: Final = 8192


def _raw(payload: bytes | str) -> bytes:
    return payload.encode("utf-8") if isinstance(payload, str) else bytes(payload)


def signature(payload: bytes | str, secret: str) -> str:
    """The ``X-Webhook-Signature`` value: lowercase hex HMAC-SHA256(secret, raw body)."""
    return hmac.new(secret.encode("utf-8"), _raw(payload), hashlib.sha256).hexdigest()


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    """Earlier scheme: hex HMAC-SHA256(secret, ``f"{timestamp}.{payload}"``)."""
    message = str(int(timestamp)).encode("ascii") + b"." + _raw(payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The earlier scheme's ``X-Lava-Signature`` value for ``payload`` (for senders and tests).

    Our server signs with :func:`signature` (``X-Webhook-Signature``).
    """
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(payload, secret, t)}"


@dataclass(frozen=True, slots=True)
class _BodySignature:
    """Current scheme: the header is the hex signature of the body alone."""

    signature: str


@dataclass(frozen=True, slots=True)
class _TimestampedSignatures:
    """Earlier scheme: ``t=<unix>`` and one or more ``v1=<hex>``."""

    timestamp: int
    signatures: list[str]


def _parse_header(header: str) -> _BodySignature | _TimestampedSignatures:
    if not isinstance(header, str) or not header.strip():
        raise WebhookVerificationError("Missing webhook signature header")
    if len(header) > _MAX_HEADER_LENGTH:
        raise WebhookVerificationError("Webhook signature header is too long")
    if "=" not in header:  # the current grammar is a bare hex digest; the earlier one is k=v pairs
        return _BodySignature(header.strip())
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
    return _TimestampedSignatures(int(timestamps[0]), signatures)


def _json(payload: bytes | str) -> Any:
    try:
        return json.loads(_raw(payload))
    except ValueError as exc:
        raise WebhookVerificationError(f"Webhook body is not JSON: {exc}") from exc


def _created_at(payload: bytes | str) -> float:
    """Unix seconds of the signed envelope's ``created_at``."""
    body = _json(payload)
    value = body.get("created_at") if isinstance(body, dict) else None
    if not isinstance(value, str):
        raise WebhookVerificationError(
            "Webhook event has no created_at to check the tolerance against (pass tolerance=None to skip the check)"
        )
    try:
        when = datetime.fromisoformat(value)
    except ValueError as exc:
        raise WebhookVerificationError(f"Webhook created_at is not ISO 8601: {value!r}") from exc
    if when.tzinfo is None:
        raise WebhookVerificationError(f"Webhook created_at has no UTC offset: {value!r}")
    return when.timestamp()


def verify(
    payload: bytes | str,
    signature_header: str,
    secret: str,
    *,
    tolerance: int | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise ``WebhookVerificationError`` unless the header signs ``payload`` with ``secret``.

    ``signature_header`` is the ``X-Webhook-Signature`` value (or an earlier
    ``X-Lava-Signature`` one). ``tolerance`` is in seconds (``None`` disables the timestamp
    check): the current scheme checks the envelope's signed ``created_at``, and rejects an
    event without one unless ``tolerance`` is ``None``. ``now`` overrides the clock.
    """
    if not secret:
        raise WebhookVerificationError("Empty webhook secret")
    parsed = _parse_header(signature_header)
    if isinstance(parsed, _BodySignature):
        expected = signature(payload, secret).encode("ascii")
        candidates = [parsed.signature]
    else:
        expected = compute_signature(payload, secret, parsed.timestamp).encode("ascii")
        candidates = parsed.signatures
    matched = False
    for candidate in candidates:
        # compare every entry, in constant time per entry
        matched |= hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace"))
    if not matched:
        raise WebhookVerificationError("No webhook signature matches the payload")
    if tolerance is None:
        return
    signed_at = parsed.timestamp if isinstance(parsed, _TimestampedSignatures) else _created_at(payload)
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance:
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
    """Verify (see :func:`verify`), then parse the body into a ``WebhookEvent``."""
    verify(payload, signature_header, secret, tolerance=tolerance, now=now)
    try:
        return WebhookEvent.model_validate(_json(payload))
    except ValidationError as exc:
        raise WebhookVerificationError(f"Webhook body is not a valid event: {exc}") from exc


class Webhooks:
    """The signature helpers as methods; ``lava.webhooks`` on a client has them too."""

    __slots__ = ()

    SIGNATURE_HEADER: Final = SIGNATURE_HEADER
    LEGACY_SIGNATURE_HEADER: Final = LEGACY_SIGNATURE_HEADER

    def verify(
        self,
        payload: bytes | str,
        signature_header: str,
        secret: str,
        *,
        tolerance: int | None = DEFAULT_TOLERANCE,
        now: float | None = None,
    ) -> None:
        """See :func:`lava.webhooks.verify`."""
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
        """See :func:`lava.webhooks.construct_event`."""
        return construct_event(payload, signature_header, secret, tolerance, now=now)

    def sign(self, payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
        """See :func:`lava.webhooks.sign` (the earlier scheme)."""
        return sign(payload, secret, timestamp)

    def signature(self, payload: bytes | str, secret: str) -> str:
        """See :func:`lava.webhooks.signature` (the current scheme)."""
        return signature(payload, secret)

"""Webhooks in the current scheme (docs/webhooks.md): ``X-Webhook-Signature`` = lowercase hex
HMAC-SHA256 of the raw body; the envelope ``{event, data, id, created_at}`` carries the timestamp."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from lava import Lava, WebhookVerificationError, webhooks

from ._current_shapes import CUSTOMER

SECRET = "whsec_current"
NOW = 1_796_027_400  # 2026-11-30T08:30:00Z
BODY = json.dumps(
    {
        "id": "evt_01K7",
        "event": "customer.created",
        "created_at": "2026-11-30T08:30:00Z",
        "occurred_at": "2026-11-30T08:29:59.250Z",
        "data": CUSTOMER,
    }
).encode()


def expected_signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_signature_is_the_hex_hmac_of_the_raw_body() -> None:
    assert webhooks.signature(BODY, SECRET) == expected_signature(BODY)
    assert webhooks.signature(BODY.decode(), SECRET) == expected_signature(BODY)
    assert webhooks.SIGNATURE_HEADER == "X-Webhook-Signature"


def test_construct_event_from_a_spec_delivery() -> None:
    event = webhooks.construct_event(BODY, expected_signature(BODY), SECRET, now=NOW + 120)
    assert event.type == event.event == "customer.created" and event.id == "evt_01K7"
    assert event.created_at is not None and event.created_at.timestamp() == NOW
    assert event.data["customer_id"] == CUSTOMER["customer_id"]
    assert event.occurred_at is not None and event.occurred_at.timestamp() == NOW - 0.75
    client = Lava("aks_test_x")
    assert client.webhooks.construct_event(BODY, " " + expected_signature(BODY).upper(), SECRET, now=NOW) == event


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (BODY.replace(b"customer.created", b"customer.deleted"), expected_signature(BODY)),  # tampered body
        (BODY, expected_signature(BODY, "whsec_other")),  # another endpoint's secret
        (BODY, expected_signature(BODY)[:-1]),  # truncated
        (BODY, "0" * 64),
    ],
)
def test_bad_signatures_are_rejected(body: bytes, header: str) -> None:
    with pytest.raises(WebhookVerificationError, match="signature"):
        webhooks.construct_event(body, header, SECRET, now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 86_400])
def test_replays_outside_the_tolerance_are_rejected(skew: int) -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        webhooks.verify(BODY, expected_signature(BODY), SECRET, now=NOW + skew)
    webhooks.verify(BODY, expected_signature(BODY), SECRET, now=NOW + skew, tolerance=abs(skew))
    webhooks.verify(BODY, expected_signature(BODY), SECRET, now=NOW + skew, tolerance=None)


def test_the_tolerance_needs_a_signed_created_at() -> None:
    lava_style = b'{"event":"customer.deleted","data":{"customer_id":"con_1"}}'  # no id, no created_at
    with pytest.raises(WebhookVerificationError, match="created_at"):
        webhooks.construct_event(lava_style, expected_signature(lava_style), SECRET, now=NOW)
    event = webhooks.construct_event(lava_style, expected_signature(lava_style), SECRET, tolerance=None)
    assert event.type == "customer.deleted" and event.id is None
    naive = b'{"event":"x","created_at":"2026-11-30T08:30:00"}'
    with pytest.raises(WebhookVerificationError, match="offset"):
        webhooks.verify(naive, expected_signature(naive), SECRET, now=NOW)


def test_a_signed_non_json_body_is_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="JSON"):
        webhooks.construct_event(b"not json", expected_signature(b"not json"), SECRET, tolerance=None)


def test_earlier_header_still_verifies() -> None:
    header = webhooks.sign(BODY, SECRET, NOW)
    assert header.startswith(f"t={NOW},v1=")
    assert webhooks.construct_event(BODY, header, SECRET, now=NOW).id == "evt_01K7"

"""Webhook signatures: t=<unix>,v1=<hex>; HMAC-SHA256 over "<t>.<raw body>"."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

import lava
from lava import Lava, WebhookEvent, WebhookVerificationError, webhooks

SECRET = "whsec_test_123"
NOW = 1_750_000_000
BODY = json.dumps(
    {
        "id": "evt_1",
        "type": "checkout.completed",
        "created_at": "2025-06-15T15:06:40Z",
        "data": {"connection_id": "con_1"},
    }
).encode()


def header(body: bytes = BODY, secret: str = SECRET, t: int = NOW) -> str:
    return webhooks.sign(body, secret, t)


def test_sign_format_and_value() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert header() == f"t={NOW},v1={expected}"


def test_valid_signature_bytes_and_str() -> None:
    webhooks.verify(BODY, header(), SECRET, now=NOW)
    webhooks.verify(BODY.decode(), header(), SECRET, now=NOW + 299)


def test_non_ascii_body() -> None:
    body = '{"type":"x","data":{"name":"Zoë"}}'
    webhooks.verify(body, webhooks.sign(body.encode(), SECRET, NOW), SECRET, now=NOW)


def test_tampered_body_rejected() -> None:
    with pytest.raises(WebhookVerificationError, match="signature"):
        webhooks.verify(BODY.replace(b"con_1", b"con_2"), header(), SECRET, now=NOW)


def test_reserialised_json_rejected() -> None:
    # verification is over raw bytes: whitespace changes break it
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(json.dumps(json.loads(BODY), separators=(",", ":")), header(), SECRET, now=NOW)


def test_wrong_secret_rejected() -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, header(secret="whsec_other"), SECRET, now=NOW)


def test_timestamp_is_signed() -> None:
    sig = header().split(",v1=")[1]
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, f"t={NOW + 1},v1={sig}", SECRET, now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_timestamp_outside_tolerance_rejected(skew: int) -> None:
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        webhooks.verify(BODY, header(t=NOW - skew), SECRET, now=NOW)


def test_custom_and_disabled_tolerance() -> None:
    webhooks.verify(BODY, header(t=NOW - 1000), SECRET, tolerance=1000, now=NOW)
    webhooks.verify(BODY, header(t=NOW - 10**6), SECRET, tolerance=None, now=NOW)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, header(t=NOW - 11), SECRET, tolerance=10, now=NOW)


def test_multiple_v1_any_match_passes() -> None:
    good = header().split(",v1=")[1]
    old = header(secret="whsec_rotated_out").split(",v1=")[1]
    webhooks.verify(BODY, f"t={NOW},v1={old},v1={good}", SECRET, now=NOW)
    webhooks.verify(BODY, f"t={NOW}, v1={good}, v0=ignored", SECRET, now=NOW)
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, f"t={NOW},v1={old},v1={'0' * 64}", SECRET, now=NOW)


def test_uppercase_hex_accepted() -> None:
    t, v1 = header().split(",")
    webhooks.verify(BODY, f"{t},{v1.upper().replace('V1=', 'v1=')}", SECRET, now=NOW)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "garbage",
        f"t={NOW}",
        "v1=abc",
        f"t=abc,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t=-{NOW},v1={'0' * 64}",
        f"t={NOW},v1",
        f"t={NOW},v1=ünïcode",
        "x" * 10_000,
    ],
)
def test_malformed_header_rejected(bad: str) -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, bad, SECRET, now=NOW)


def test_empty_secret_rejected() -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.verify(BODY, header(), "", now=NOW)


def test_construct_event() -> None:
    event = webhooks.construct_event(BODY, header(), SECRET, now=NOW)
    assert isinstance(event, WebhookEvent)
    assert event.id == "evt_1" and event.type == "checkout.completed"
    assert event.created_at is not None and event.created_at.tzinfo is not None
    assert event.data == {"connection_id": "con_1"}


def test_construct_event_keeps_unknown_fields() -> None:
    body = b'{"id":"evt_2","type":"connection.deleted","data":{},"livemode":false}'
    event = webhooks.construct_event(body, header(body), SECRET, now=NOW)
    assert event.model_extra == {"livemode": False}


def test_construct_event_verifies_first() -> None:
    with pytest.raises(WebhookVerificationError):
        webhooks.construct_event(BODY, header(secret="nope"), SECRET, now=NOW)


def test_construct_event_rejects_non_event_body() -> None:
    for body in (b"not json", b'{"data":{}}', b"[]"):
        with pytest.raises(WebhookVerificationError):
            webhooks.construct_event(body, header(body), SECRET, now=NOW)


def test_construct_event_default_clock() -> None:
    import time

    body = b'{"type":"ping"}'
    assert webhooks.construct_event(body, webhooks.sign(body, SECRET), SECRET).type == "ping"
    with pytest.raises(WebhookVerificationError):
        webhooks.construct_event(body, webhooks.sign(body, SECRET, int(time.time()) - 3600), SECRET)


def test_reachable_from_package_and_client() -> None:
    assert lava.webhooks.verify is webhooks.verify
    client = Lava("k")
    assert client.webhooks.construct_event(BODY, header(), SECRET, now=NOW).id == "evt_1"
    client.webhooks.verify(BODY, client.webhooks.sign(BODY, SECRET, NOW), SECRET, now=NOW)
    assert issubclass(WebhookVerificationError, lava.LavaError)
    assert webhooks.SIGNATURE_HEADER == "X-Webhook-Signature"  # the header our server signs in (docs/webhooks.md)
    assert webhooks.LEGACY_SIGNATURE_HEADER == client.webhooks.LEGACY_SIGNATURE_HEADER == "X-Lava-Signature"

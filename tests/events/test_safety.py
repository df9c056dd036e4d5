"""The delivery-time URL rules and the signature primitive, without a server."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest

from lava_server.events import signing
from lava_server.events.config import WebhookSettings
from lava_server.events.safety import UnsafeTarget, check_target


def check(url: str, allowed: tuple[str, ...] = (), *, resolve: bool = True) -> None:
    asyncio.run(check_target(url, allowed, require_resolution=resolve))


def test_unresolvable_host_refused_at_delivery_but_registrable() -> None:
    with pytest.raises(UnsafeTarget, match="does not resolve"):
        check("https://hooks.nonexistent.invalid/x")
    check("https://hooks.nonexistent.invalid/x", resolve=False)


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
        "https://192.168.1.10/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
    ],
)
def test_non_public_literals_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget, match="private, loopback or link-local"):
        check(url)


def test_exempt_hosts_only_by_exact_name() -> None:
    check("http://127.0.0.1:8080/hook", ("127.0.0.1",))
    with pytest.raises(UnsafeTarget):
        check("http://127.0.0.2:8080/hook", ("127.0.0.1",))
    check("https://93.184.216.34/hook")


def test_signature_is_hex_hmac_sha256_of_the_raw_body() -> None:
    body = signing.envelope(event_id="evt_1", event_type="customer.created", occurred_at_us=1, created_at_us=0, data={})
    assert body == (
        b'{"id":"evt_1","event":"customer.created","created_at":"1970-01-01T00:00:00Z",'
        b'"occurred_at":"1970-01-01T00:00:00.000Z","data":{}}'
    )
    secret = signing.new_secret()
    assert secret.startswith("whsec_") and len(secret) > 40
    assert signing.sign(body, secret) == hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_settings_from_env() -> None:
    s = WebhookSettings.from_env(
        {
            "LAVA_WEBHOOK_ALLOWED_HOSTS": " Hooks.Internal ,127.0.0.1",
            "LAVA_WEBHOOK_RETRY_SCHEDULE": "1,2.5",
            "LAVA_WEBHOOK_CREDITS_LOW": "2.50",
            "LAVA_WEBHOOK_WORKER": "0",
        }
    )
    assert s.allowed_hosts == ("hooks.internal", "127.0.0.1")
    assert s.retry_schedule_s == (1.0, 2.5) and s.max_attempts == 3
    assert s.credits_low_units == 2_5000000000 and s.worker is False
    assert WebhookSettings.from_env({}).retry_schedule_s == (60, 300, 1800, 7200, 21600, 43200)
    for env in (
        {"LAVA_WEBHOOK_RETRY_SCHEDULE": "1,-2"},
        {"LAVA_WEBHOOK_TIMEOUT": "soon"},
        {"LAVA_WEBHOOK_WORKER": "maybe"},
        {"LAVA_WEBHOOK_CREDITS_LOW": "-1"},
        {"LAVA_WEBHOOK_LEASE": "5", "LAVA_WEBHOOK_TIMEOUT": "10"},
    ):
        with pytest.raises(ValueError, match="LAVA_WEBHOOK_"):
            WebhookSettings.from_env(env)

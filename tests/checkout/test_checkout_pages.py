"""The hosted checkout over plain HTTP: steps, security headers, CSRF, codes, amounts, declines, closed links."""

from __future__ import annotations

import logging
import re
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest

from lava_server.checkout.processors.base import CardRejected
from lava_server.checkout.processors.test_processor import luhn_ok, parse_expiry
from lava_server.money import UNITS_PER_USD
from lava_server.store import checkout_state
from tests.checkout.helpers import Embed, create_session, secret_of
from tests.support.live import LiveServer


@pytest.fixture
def shop(lava_server: LiveServer) -> dict[str, Any]:
    return lava_server.merchant(f"shop-{uuid.uuid4().hex[:6]}")


def embed_for(server: LiveServer, key: str, **body: Any) -> tuple[Embed, dict[str, Any]]:
    session = create_session(server, key, **{"checkout_mode": "onboarding", **body})
    return Embed(server, session["checkout_session_token"]), session


def test_security_headers_and_accessible_form(lava_server: LiveServer, shop: dict[str, Any]) -> None:
    embed, _ = embed_for(lava_server, shop["secret_key"], origin_url="https://shop.example:8443/app/")
    r = embed.get()
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors https://shop.example:8443" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"
    assert 'data-origin="https://shop.example:8443"' in r.text
    assert 'name="viewport"' in r.text
    for field, token in (("name", "name"), ("email", "email")):
        assert f'<label for="{field}">' in r.text
        assert re.search(rf'id="{field}"[^>]*autocomplete="{token}"', r.text)
    embed.post("email", name="Ada", email="ada.headers@example.com")
    assert re.search(r'id="code"[^>]*autocomplete="one-time-code"', embed.page)
    assert "000000" in embed.page  # test mode says so
    embed.post("verify", code="000000")
    for field, token in (
        ("amount", "transaction-amount"),
        ("card_number", "cc-number"),
        ("card_exp", "cc-exp"),
        ("card_cvc", "cc-csc"),
    ):
        assert f'<label for="{field}">' in embed.page
        assert re.search(rf'id="{field}"[^>]*autocomplete="{token}"', embed.page), field
    assert "Test mode" in embed.page and "4000 0000 0000 9995" in embed.page


def test_csrf_protection(lava_server: LiveServer, shop: dict[str, Any]) -> None:
    embed, session = embed_for(lava_server, shop["secret_key"])
    embed.get()
    good = embed.csrf()
    form = {"name": "Eve", "email": "eve@example.com"}
    assert embed.post("email", csrf_token="0" * 64, **form).status_code == 403
    path = "/embed/checkout/" + secret_of(session["checkout_session_token"]) + "/email"
    with httpx.Client(base_url=lava_server.url) as c:
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            r = c.post(path, data={**form, "csrf_token": good}, headers=headers)
            assert r.status_code == 403, headers
    progress = lava_server.call(checkout_state.get_progress(lava_server.services.db, session["checkout_session_id"]))
    assert progress.email is None


def test_onboarding_declines_then_pays_and_credits_once(lava_server: LiveServer, shop: dict[str, Any]) -> None:
    embed, session = embed_for(lava_server, shop["secret_key"], reference_id="user_7")
    embed.onboard_until_pay(email="pay.once@example.com")
    r = embed.pay(number="4000 0000 0000 0002")
    assert r.status_code == 402 and "declined" in r.text
    r = embed.pay(number="4000 0000 0000 9995")
    assert r.status_code == 402 and "insufficient funds" in r.text
    r = embed.pay(number="5555 5555 5555 4444")
    assert r.status_code == 402 and "test card numbers" in r.text
    r = embed.pay(number="4242 4242 4242 4241")
    assert r.status_code == 402 and "not valid" in r.text
    assert embed.pay(amount="4.99").status_code == 400
    assert embed.pay(amount="500.01").status_code == 400
    assert embed.pay(amount="10.001").status_code == 400
    r = embed.pay(amount="30")
    assert r.status_code == 200 and 'data-result="success"' in r.text
    connection_id = re.search(r'data-connection="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    with httpx.Client(base_url=lava_server.api_base, headers={"Authorization": f"Bearer {shop['secret_key']}"}) as c:
        s = c.get(f"checkout_sessions/{session['checkout_session_id']}").json()
        con = c.get(f"connections/{connection_id}").json()
    assert s["connection_id"] == connection_id and s["completed_at"]
    assert con["wallet"]["balance"] == "30.0000000000" and con["reference_id"] == "user_7"
    # single use: the page is closed, a replayed pay post charges nothing
    assert embed.get().status_code == 410 and "already complete" in embed.page
    assert embed.client.post(embed.path + "/pay", data={"amount": "30"}).status_code == 410
    assert lava_server.cli("ledger", "check")["ok"] is True


def test_codes_single_use_rate_limited_and_expiring(lava_server: LiveServer, shop: dict[str, Any]) -> None:
    embed, session = embed_for(lava_server, shop["secret_key"])
    embed.get()
    embed.post("email", name="Bob", email="bob.codes@example.com")
    r = embed.post("resend")
    assert r.status_code == 429 and "Wait" in r.text
    for _ in range(5):
        r = embed.post("verify", code="999999")
    assert "Too many wrong attempts" in embed.post("verify", code="000000").text
    db = lava_server.services.db
    otp = lava_server.call(checkout_state.latest_otp(db, session["checkout_session_id"]))
    assert otp is not None and len(otp.code_hash) == 64  # stored hashed
    lava_server.call(db.execute("UPDATE checkout_otps SET attempts = 0, expires_at = 1 WHERE id = $1", otp.id))
    assert "expired" in embed.post("verify", code="000000").text
    lava_server.call(db.execute("UPDATE checkout_otps SET expires_at = $1 WHERE id = $2", 2**60, otp.id))
    assert 'id="pay-form"' in embed.post("verify", code="000000").text
    lava_server.call(db.execute("UPDATE checkout_otps SET consumed_at = NULL WHERE id = $1", otp.id))


def test_expired_unknown_and_malformed_links(lava_server: LiveServer, shop: dict[str, Any]) -> None:
    embed, session = embed_for(lava_server, shop["secret_key"])
    lava_server.call(
        lava_server.services.db.execute(
            "UPDATE checkout_sessions SET expires_at = 1 WHERE id = $1", session["checkout_session_id"]
        )
    )
    r = embed.get()
    assert r.status_code == 410 and "expired" in r.text and "Traceback" not in r.text
    with httpx.Client(base_url=lava_server.url) as c:
        r = c.get("/embed/checkout/css_test_" + "x" * 43)
        assert r.status_code == 404 and "not valid" in r.text
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert c.get("/embed/checkout/<script>").status_code == 404


def test_merchant_amount_settings_and_escaping(lava_server: LiveServer) -> None:
    shop = lava_server.merchant('<b>"Shop" & co</b>')
    settings = checkout_state.AmountSettings(
        (15 * UNITS_PER_USD, 40 * UNITS_PER_USD), 15 * UNITS_PER_USD, 40 * UNITS_PER_USD
    )

    async def configure() -> None:
        async with lava_server.services.db.transaction() as tx:
            await checkout_state.set_amount_settings(tx, shop["merchant_id"], "test", settings, 1)

    lava_server.call(configure())
    embed, _ = embed_for(lava_server, shop["secret_key"])
    embed.get()
    assert "<b>" not in embed.page and "&lt;b&gt;&quot;Shop&quot; &amp; co&lt;/b&gt;" in embed.page
    embed.post("email", name="<script>x</script>", email="amounts@example.com")
    embed.post("verify", code="000000")
    assert 'value="15.00"' in embed.page and 'data-amount="40.00"' in embed.page
    assert "Between $15.00 and $40.00" in embed.page
    assert embed.pay(amount="10").status_code == 400
    assert embed.pay(amount="40").status_code == 200


def test_secrets_never_logged(lava_server: LiveServer, shop: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    embed, session = embed_for(lava_server, shop["secret_key"])
    embed.onboard_until_pay(email="logs@example.com")
    embed.pay()
    secret = secret_of(session["checkout_session_token"])
    server_records = [rec for rec in caplog.records if rec.name.startswith(("lava", "aiohttp"))]
    assert any(rec.name == "lava.checkout.otp" for rec in server_records)
    assert all(secret not in rec.getMessage() for rec in server_records)


def test_static_helper_served(lava_server: LiveServer) -> None:
    r = httpx.get(lava_server.url + "/static/lava-checkout.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert "ev.source !== frame.contentWindow" in r.text and "ev.origin !== expectedOrigin" in r.text
    assert httpx.get(lava_server.url + "/static/../app.py").status_code == 404


def test_test_processor_card_parsing() -> None:
    assert luhn_ok("4242424242424242") and not luhn_ok("4242424242424241")
    assert parse_expiry("12/40") == (12, 2040)
    for bad in ("13/40", "1240", "01/20"):
        with pytest.raises(CardRejected):
            parse_expiry(bad)


def test_amount_parsing() -> None:
    from lava_server.checkout.payments import DEFAULT_AMOUNTS, AmountError, parse_user_amount

    assert parse_user_amount("$25.50", DEFAULT_AMOUNTS) == int(Decimal("25.50") * UNITS_PER_USD)
    assert parse_user_amount("1,000", DEFAULT_AMOUNTS.__class__((), 1, 2000 * UNITS_PER_USD)) == 1000 * UNITS_PER_USD
    for bad in ("abc", "NaN", "1e3", "4.999", "-5"):
        with pytest.raises(AmountError):
            parse_user_amount(bad, DEFAULT_AMOUNTS)

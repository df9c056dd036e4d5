"""The stripe processor against localstripe (loopback), with the browser using localstripe's Stripe.js.

Stripe is used for live-mode merchants (test-mode merchants always get the built-in
test processor), so the one-time code is read from the console sender's log.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import httpx
import pytest
import stripe
from playwright.sync_api import expect

from lava import Lava
from lava_server.store import checkout_state
from tests.e2e.conftest import WEBHOOK_SECRET, OtpCapture
from tests.e2e.ledger_asserts import assert_ledger_consistent, new_merchant, wallet_transfer_count
from tests.support.live import LiveServer

pytestmark = pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")  # stripe's HTTPXClient


def fill_stripe_card(frame: Any, number: str) -> None:
    frame.locator("#card-element input[placeholder=number]").fill(number)
    frame.locator("#card-element input[placeholder=exp_month]").fill("12")
    frame.locator("#card-element input[placeholder=exp_year]").fill("40")
    frame.locator("#card-element input[placeholder=cvc]").fill("123")
    frame.locator("#card-element input[placeholder=postal_code]").fill("42424")


def signed(payload: bytes) -> dict[str, str]:
    t = int(time.time())
    sig = stripe.WebhookSignature._compute_signature(f"{t}.{payload.decode()}", WEBHOOK_SECRET)
    return {"Stripe-Signature": f"t={t},v1={sig}", "Content-Type": "application/json"}


@pytest.mark.browser
def test_stripe_onboarding_decline_success_and_duplicate_webhooks(
    stripe_server: LiveServer, localstripe: str, make_site: Any, page: Any, otp_codes: OtpCapture
) -> None:
    merchant = new_merchant(stripe_server, "Stripe shop", live=True)
    lava = Lava(merchant["secret_key"], base_url=stripe_server.api_base)
    site = make_site(merchant["secret_key"], stripe_server.api_base)
    page.goto(site.url + "/")
    page.click("#onboarding")
    frame = page.frame_locator("iframe")
    frame.locator("#name").fill("Grace Hopper")
    frame.locator("#email").fill("grace.stripe@example.com")
    frame.locator("#send-code").click()
    expect(frame.locator("#verify-form")).to_be_visible()
    assert frame.locator(".test-note").count() == 0  # live mode: no test code
    frame.locator("#code").fill(otp_codes.wait("grace.stripe@example.com"))
    frame.locator("#verify").click()
    expect(frame.locator("#card-element input[placeholder=number]")).to_be_visible()
    assert frame.locator("#card_number").count() == 0  # card numbers never reach our server

    # declined (localstripe declines 0002 when Stripe.js confirms the SetupIntent)
    frame.locator("#amount").fill("20")
    fill_stripe_card(frame, "4000000000000002")
    frame.locator("#pay").click()
    expect(frame.locator("#lava-error")).to_contain_text("declined")
    assert_ledger_consistent(stripe_server, "live")

    # success on retry: a fresh SetupIntent, then an off-session PaymentIntent
    frame.locator("#amount").fill("20")
    fill_stripe_card(frame, "4242424242424242")
    frame.locator("#pay").click()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('success:')")
    _, session_id, connection_id = page.locator("#status").text_content().split(":")
    assert lava.checkout_sessions.retrieve(session_id).connection_id == connection_id
    connection = lava.connections.retrieve(connection_id)
    assert Decimal(str(connection.wallet.balance)) == Decimal("20")
    assert_ledger_consistent(stripe_server, "live")

    # the webhook: localstripe delivers payment_intent.succeeded; we deliver it twice more
    client = stripe.StripeClient("sk_test_lava_e2e", base_addresses={"api": localstripe})
    deadline = time.monotonic() + 10
    event = None
    while event is None and time.monotonic() < deadline:
        events = client.v1.events.list()
        event = next((e for e in events.data if e.type == "payment_intent.succeeded"), None)
        time.sleep(0.2)
    assert event is not None
    pi = event.data.object
    assert pi["metadata"]["lava_checkout_session_id"] == session_id
    payload = json.dumps(event.to_dict()).encode()
    results = []
    for _ in range(2):
        r = httpx.post(stripe_server.url + "/webhooks/stripe", content=payload, headers=signed(payload))
        assert r.status_code == 200, r.text
        results.append(r.json()["result"])
    assert results == ["duplicate", "duplicate"]
    wallet_id = stripe_server.call(
        checkout_state.find_payment_by_processor_id(stripe_server.services.db, "stripe", pi["id"])
    ).wallet_id
    assert wallet_transfer_count(stripe_server, wallet_id) == 1
    assert Decimal(str(lava.connections.retrieve(connection_id).wallet.balance)) == Decimal("20")

    # forged or tampered webhooks are refused
    r = httpx.post(stripe_server.url + "/webhooks/stripe", content=payload, headers={"Stripe-Signature": "t=1,v1=00"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_signature"
    assert_ledger_consistent(stripe_server, "live")

    # top-up with the saved card (customer and payment method were saved)
    site.connection_id = connection_id
    page.click("#topup")
    frame = page.frame_locator("iframe")
    frame.locator("#send-code").click()
    frame.locator("#code").fill(otp_codes.wait("grace.stripe@example.com"))
    frame.locator("#verify").click()
    expect(frame.locator("fieldset")).to_contain_text("ending 4242")
    frame.locator("#amount").fill("7.50")
    frame.locator("#pay").click()
    page.wait_for_function("document.getElementById('status').textContent.startsWith('success:')")
    assert Decimal(str(lava.connections.retrieve(connection_id).wallet.balance)) == Decimal("27.5")
    assert_ledger_consistent(stripe_server, "live")


def test_webhook_first_then_client_result_credits_once(
    stripe_server: LiveServer, localstripe: str, otp_codes: OtpCapture
) -> None:
    """The webhook confirms before the client flow does: it credits and completes; the client result is a no-op."""
    from lava_server.checkout.payments import complete_payment
    from lava_server.clock import now_us
    from tests.checkout.helpers import Embed, create_session

    merchant = new_merchant(stripe_server, "Webhook-first shop", live=True)
    session = create_session(stripe_server, merchant["secret_key"], checkout_mode="onboarding")
    embed = Embed(stripe_server, session["checkout_session_token"])
    embed.get()
    embed.post("email", name="Alan Turing", email="alan.first@example.com")
    assert embed.post("verify", code="000000").status_code == 400  # live mode never takes the test code
    embed.post("verify", code=otp_codes.wait("alan.first@example.com"))
    assert 'id="pay-form"' in embed.page
    db = stripe_server.services.db
    progress = stripe_server.call(checkout_state.get_progress(db, session["checkout_session_id"]))
    customer_id = stripe_server.call(checkout_state.get_customer_id(db, progress.wallet_id, "stripe"))
    payment = checkout_state.PaymentRecord(
        id="pay_webhook_first_1",
        session_id=session["checkout_session_id"],
        merchant_id=merchant["merchant_id"],
        mode="live",
        wallet_id=progress.wallet_id,
        processor="stripe",
        processor_payment_id=None,
        amount=12 * 10**10,
        amount_minor=1200,
        currency="usd",
        status="pending",
        failure_code=None,
        failure_message=None,
        created_at=now_us(),
        credited_at=None,
    )

    async def insert() -> None:
        async with db.transaction() as tx:
            await checkout_state.insert_payment(tx, payment)

    stripe_server.call(insert())
    client = stripe.StripeClient("sk_test_lava_e2e", base_addresses={"api": localstripe})
    pi = client.v1.payment_intents.create(
        {
            "amount": 1200,
            "currency": "usd",
            "customer": customer_id,
            "payment_method": "pm_card_visa",
            "off_session": True,
            "confirm": True,
            "metadata": {"lava_payment_id": payment.id},
        }
    )
    assert pi.status == "succeeded"
    payload = json.dumps({"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": pi.to_dict()}})
    r = httpx.post(stripe_server.url + "/webhooks/stripe", content=payload, headers=signed(payload.encode()))
    assert r.json()["result"] == "credited"
    lava = Lava(merchant["secret_key"], base_url=stripe_server.api_base)
    completed = lava.checkout_sessions.retrieve(session["checkout_session_id"])
    assert completed.completed_at is not None
    assert completed.connection_id is not None
    # the client flow's result arrives second: same connection, no second credit
    again = stripe_server.call(complete_payment(stripe_server.services, payment.id, pi.id, 1200, "usd"))
    assert again == completed.connection_id
    assert wallet_transfer_count(stripe_server, progress.wallet_id) == 1
    balance = lava.connections.retrieve(completed.connection_id).wallet.balance
    assert Decimal(str(balance)) == Decimal("12")
    assert_ledger_consistent(stripe_server, "live")

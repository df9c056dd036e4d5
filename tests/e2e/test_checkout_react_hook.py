"""The real @lavapayments/checkout 0.1.3 hook, bundled with esbuild, drives our hosted checkout in Chromium.

The merchant page is served from another origin (another port); its backend creates
sessions with our Python SDK. Test-mode merchant, built-in test processor.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from lava import Lava
from tests.e2e.conftest import OtpCapture
from tests.e2e.ledger_asserts import assert_ledger_consistent, new_merchant
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser


def wait_status(page: Any, prefix: str) -> str:
    page.wait_for_function(
        "p => document.getElementById('status').textContent.startsWith(p)", arg=prefix, timeout=15_000
    )
    text: str = page.locator("#status").text_content()
    return text


def pay_with_card(frame: Any, amount: str, number: str) -> None:
    frame.locator("#amount").fill(amount)
    frame.locator("#card_number").fill(number)
    frame.locator("#card_exp").fill("12/40")
    frame.locator("#card_cvc").fill("123")
    frame.locator("#pay").click()


def test_onboarding_topup_cancel_with_the_react_hook(
    checkout_server: LiveServer, make_site: Any, page: Any, otp_codes: OtpCapture
) -> None:
    merchant = new_merchant(checkout_server, "Hook shop")
    lava = Lava(merchant["secret_key"], base_url=checkout_server.api_base)
    site = make_site(merchant["secret_key"], checkout_server.api_base)
    page.goto(site.url + "/")

    # --- onboarding: name + email, the emailed code, a declined card, then a good one
    page.click("#onboarding")
    frame = page.frame_locator("iframe")
    expect(frame.locator("header")).to_contain_text("Test mode")
    frame.locator("#name").fill("Ada Lovelace")
    frame.locator("#email").fill("ada.hook@example.com")
    frame.locator("#send-code").click()
    code = otp_codes.wait("ada.hook@example.com")
    frame.locator("#code").fill("000001" if code != "000001" else "000002")
    frame.locator("#verify").click()
    expect(frame.locator("#lava-error")).to_contain_text("not right")
    frame.locator("#code").fill(code)
    frame.locator("#verify").click()
    expect(frame.locator("#pay-form .test-note")).to_contain_text("4242 4242 4242 4242")
    pay_with_card(frame, "25", "4000 0000 0000 0002")
    expect(frame.locator("#lava-error")).to_contain_text("declined")
    pay_with_card(frame, "25", "4000 0000 0000 9995")
    expect(frame.locator("#lava-error")).to_contain_text("insufficient funds")
    assert_ledger_consistent(checkout_server)
    pay_with_card(frame, "25.00", "4242 4242 4242 4242")
    status = wait_status(page, "success:")
    _, session_id, connection_id = status.split(":")
    assert page.locator("iframe").count() == 0  # the hook closed it

    session = lava.checkout_sessions.retrieve(session_id)
    assert session.connection_id == connection_id
    assert session.completed_at is not None
    connection = lava.connections.retrieve(connection_id)
    assert Decimal(str(connection.wallet.balance)) == Decimal("25")
    assert connection.reference_id == "customer_42"
    assert_ledger_consistent(checkout_server)

    # --- top-up: code to the address on file (test code 000000), the saved card is reused
    site.connection_id = connection_id
    page.click("#topup")
    frame = page.frame_locator("iframe")
    expect(frame.locator("#identify-form")).to_contain_text("a•••@example.com")
    frame.locator("#send-code").click()
    expect(frame.locator("#verify-form .test-note")).to_contain_text("000000")
    frame.locator("#code").fill("000000")
    frame.locator("#verify").click()
    expect(frame.locator("fieldset")).to_contain_text("ending 4242")
    frame.locator(".chip", has_text="$10").click()
    assert frame.locator("#amount").input_value() == "10.00"
    frame.locator("#pay").click()
    status = wait_status(page, "success:")
    _, topup_session_id, topup_connection_id = status.split(":")
    assert topup_connection_id == connection_id
    assert lava.checkout_sessions.retrieve(topup_session_id).completed_at is not None
    assert Decimal(str(lava.connections.retrieve(connection_id).wallet.balance)) == Decimal("35")
    assert_ledger_consistent(checkout_server)

    # --- cancel
    page.click("#onboarding")
    page.frame_locator("iframe").locator("#lava-cancel").click()
    status = wait_status(page, "cancel:")
    assert status == f"cancel:{site.sessions[-1]}"
    assert page.locator("iframe").count() == 0
    assert lava.checkout_sessions.retrieve(site.sessions[-1]).completed_at is None
    messages = page.evaluate("window.__lavaMessages")
    assert [m["data"]["type"] for m in messages] == [
        "lava_checkout_success",
        "lava_checkout_success",
        "lava_checkout_cancel",
    ]
    assert {m["origin"] for m in messages} == {checkout_server.url}
    assert_ledger_consistent(checkout_server)


def test_page_on_another_origin_cannot_frame_checkout(checkout_server: LiveServer, make_site: Any, page: Any) -> None:
    merchant = new_merchant(checkout_server, "Origin shop")
    good = make_site(merchant["secret_key"], checkout_server.api_base)
    evil = make_site(merchant["secret_key"], checkout_server.api_base, origin_url=good.url + "/")
    page.goto(evil.url + "/")
    page.click("#onboarding")
    page.wait_for_selector("iframe")
    page.wait_for_timeout(1500)
    child = [f for f in page.frames if f != page.main_frame]
    assert child, "the hook appended an iframe"
    assert child[0].locator("#send-code").count() == 0  # CSP frame-ancestors blocked the page
    assert page.frame_locator("iframe").locator("#send-code").count() == 0
    assert page.evaluate("window.__lavaMessages") == []
    assert page.locator("#status").text_content() == "opened"
    assert_ledger_consistent(checkout_server)

"""Our /static/lava-checkout.js helper on the --demo sample merchant page (GET /demo/checkout)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from lava_server.checkout.config import CheckoutSettings
from lava_server.demo import seed_demo
from tests.e2e.ledger_asserts import assert_ledger_consistent
from tests.support.live import start_server

pytestmark = pytest.mark.browser


def test_demo_page_tops_up_with_our_helper_and_ignores_forged_messages(
    tmp_path_factory: pytest.TempPathFactory, page: Any
) -> None:
    server, stop = start_server(tmp_path_factory.mktemp("lava-demo"), checkout=CheckoutSettings(demo_page=True))
    try:
        seeded = server.call(seed_demo(server.services))
        page.goto(server.url + "/demo/checkout")
        page.click("#demo-topup")
        frame = page.frame_locator("iframe")
        expect(frame.locator("#send-code")).to_be_visible()
        # A forged completion from another window context is ignored by our helper (the React hook would accept it).
        page.evaluate(
            "window.postMessage({type: 'lava_checkout_success', checkoutSessionId: 'cs_x', connectionId: 'con_x'}, '*')"
        )
        page.wait_for_timeout(300)
        assert page.locator("#demo-status").text_content() == ""
        assert page.locator("iframe").count() == 1
        frame.locator("#email").fill("demo.user@example.com")  # the seeded wallet has no email on file yet
        frame.locator("#send-code").click()
        frame.locator("#code").fill("000000")
        frame.locator("#verify").click()
        frame.locator("#amount").fill("25")
        frame.locator("#card_number").fill("4242424242424242")
        frame.locator("#card_exp").fill("12/40")
        frame.locator("#card_cvc").fill("123")
        frame.locator("#pay").click()
        expect(page.locator("#demo-status")).to_contain_text(seeded["connection_id"])
        page.wait_for_load_state()
        expect(page.locator("tbody")).to_contain_text("$35.00")
        from lava_server.store.connections import get_connection

        con = server.call(get_connection(server.services.db, seeded["merchant_id"], "test", seeded["connection_id"]))
        assert Decimal(con.balance) == Decimal(35 * 10**10)
        assert_ledger_consistent(server)
    finally:
        stop()


def test_demo_page_is_not_mounted_without_the_flag(tmp_path_factory: pytest.TempPathFactory) -> None:
    import httpx

    server, stop = start_server(tmp_path_factory.mktemp("lava-nodemo"))
    try:
        assert httpx.get(server.url + "/demo/checkout").status_code == 404
    finally:
        stop()

"""Stripe (localstripe): a live-mode subscription checkout through the real hook, a decline then a
success, and the next renewal charged off-session on the saved card through Stripe."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import stripe
from playwright.sync_api import expect

from lava_server.billing import renewals
from lava_server.checkout.offsession import processor_chargers
from lava_server.checkout.processors import ProcessorRegistry
from lava_server.clock import from_datetime, parse_iso
from tests.e2e.conftest import OtpCapture, serve_site
from tests.e2e.ledger_asserts import assert_ledger_consistent, new_merchant
from tests.e2e.test_checkout_plans_hook import PlanSite
from tests.e2e.test_checkout_react_hook import wait_status
from tests.e2e.test_checkout_stripe import fill_stripe_card
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def test_stripe_subscription_checkout_then_off_session_renewal(
    stripe_server: LiveServer, localstripe: str, page: Any, otp_codes: OtpCapture
) -> None:
    merchant = new_merchant(stripe_server, "Stripe plans", live=True)
    api = httpx.Client(base_url=stripe_server.api_base, headers={"Authorization": f"Bearer {merchant['secret_key']}"})
    plan = api.post(
        "/plans", json={"name": "Pro", "period_amount": "12", "billing_interval": "month", "included_credit": "10"}
    ).json()
    site = PlanSite(merchant["secret_key"], stripe_server.api_base, plan_id=plan["plan_id"])
    stop = serve_site(site)
    try:
        page.goto(site.url + "/")
        page.click("#onboarding")
        frame = page.frame_locator("iframe")
        frame.locator("#email").fill("stripe.plan@example.com")
        frame.locator("#send-code").click()
        frame.locator("#code").fill(otp_codes.wait("stripe.plan@example.com"))
        frame.locator("#verify").click()
        expect(frame.locator("#card-element input[placeholder=number]")).to_be_visible()
        assert frame.locator("#amount").input_value() == "12.00"
        fill_stripe_card(frame, "4000000000000002")
        frame.locator("#pay").click()
        expect(frame.locator("#lava-error")).to_contain_text("declined")
        assert_ledger_consistent(stripe_server, "live")
        fill_stripe_card(frame, "4242424242424242")
        frame.locator("#pay").click()
        _, _session, customer_id = wait_status(page, "success:").split(":")
    finally:
        stop()
    sub = api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
    assert sub["plan"]["name"] == "Pro" and sub["credits"]["cycle_remaining"] == "10.0000000000"
    svc = stripe_server.services
    method = stripe_server.call(
        svc.db.fetchval("SELECT payment_method FROM subscriptions WHERE id = $1", sub["subscription_id"])
    )
    assert method.startswith("stripe:pm_")
    assert_ledger_consistent(stripe_server, "live")

    # the cycle end arrives: the renewal charges the saved card off-session through Stripe, once
    end = from_datetime(parse_iso(sub["cycle_end_at"])) + 1_000_000  # the wire time is rounded to the ms

    async def renew() -> dict[str, object]:
        registry = ProcessorRegistry(svc.settings.checkout, svc.ids)
        try:
            first = await renewals.run_due(svc, processor_chargers(svc.db, registry), svc.db, now=end, clock_id=None)
            again = await renewals.run_due(svc, processor_chargers(svc.db, registry), svc.db, now=end, clock_id=None)
            return {"first": first.as_dict(), "again": again.as_dict()}
        finally:
            await registry.close()

    ran = stripe_server.call(renew())
    assert ran["first"]["renewed"] >= 1 and ran["again"]["renewed"] == 0, ran  # type: ignore[index]
    after = api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
    assert after["cycle_start_at"] == sub["cycle_end_at"] and after["credits"]["cycle_remaining"] == "10.0000000000"
    payments = stripe_server.call(
        svc.db.fetchval(
            "SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key LIKE $1",
            f"sub:{sub['subscription_id']}:%:payment",
        )
    )
    assert int(payments) == 1
    client = stripe.StripeClient("sk_test_lava_e2e", base_addresses={"api": localstripe})
    intents = [
        pi
        for pi in client.v1.payment_intents.list().data
        if pi.to_dict().get("metadata", {}).get("lava_off_session", "").startswith(f"sub:{sub['subscription_id']}")
    ]
    assert len(intents) == 1 and intents[0].amount == 1200 and intents[0].status == "succeeded"

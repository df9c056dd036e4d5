"""The real @lavapayments/checkout 0.1.3 hook completes both current checkout modes in Chromium:
``subscription`` (a paid plan for a new customer) and ``credit_bundle`` (a bundle for that customer).

The merchant page (another origin) is the same bundled React app as the onboarding test; its
backend creates ``subscription`` / ``credit_bundle`` sessions over HTTP (the hook never sees the
mode, only the token). Test-mode merchant, built-in test processor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import MerchantSite, OtpCapture, serve_site
from tests.e2e.ledger_asserts import assert_ledger_consistent, new_merchant
from tests.e2e.test_checkout_react_hook import wait_status
from tests.support.live import LiveServer

pytestmark = pytest.mark.browser


@dataclass
class PlanSite(MerchantSite):
    """``#onboarding`` sells the plan, ``#topup`` sells the bundle to ``connection_id``."""

    plan_id: str = ""
    bundle_id: str = ""

    def create_session(self, checkout_mode: str) -> dict[str, Any]:
        body: dict[str, Any] = {"origin_url": self.origin_url or self.url + "/"}
        if checkout_mode == "onboarding":
            body |= {"checkout_mode": "subscription", "plan_id": self.plan_id}
        else:
            body |= {
                "checkout_mode": "credit_bundle",
                "customer_id": self.connection_id,
                "credit_bundle_id": self.bundle_id,
            }
        r = httpx.post(
            self.api_base + "checkout_sessions", json=body, headers={"Authorization": f"Bearer {self.secret_key}"}
        )
        assert r.status_code == 201, r.text
        self.sessions.append(r.json()["checkout_session_id"])
        return {"checkout_session_token": r.json()["checkout_session_token"]}


def test_subscription_and_bundle_with_the_react_hook(
    checkout_server: LiveServer, page: Any, otp_codes: OtpCapture
) -> None:
    merchant = new_merchant(checkout_server, "Plan shop")
    api = httpx.Client(base_url=checkout_server.api_base, headers={"Authorization": f"Bearer {merchant['secret_key']}"})
    plan = api.post(
        "/plans",
        json={
            "name": "Pro",
            "period_amount": "12",
            "billing_interval": "month",
            "included_credit": "10",
            "credit_bundles": [{"name": "Pack", "cost": "4", "credit_amount": "5"}],
        },
    ).json()
    site = PlanSite(
        merchant["secret_key"],
        checkout_server.api_base,
        plan_id=plan["plan_id"],
        bundle_id=plan["credit_bundles"][0]["credit_bundle_id"],
    )
    stop = serve_site(site)
    try:
        page.goto(site.url + "/")
        page.click("#onboarding")
        frame = page.frame_locator("iframe")
        frame.locator("#email").fill("pro.hook@example.com")
        frame.locator("#send-code").click()
        frame.locator("#code").fill(otp_codes.wait("pro.hook@example.com"))
        frame.locator("#verify").click()
        assert frame.locator("#amount").input_value() == "12.00"  # the plan's price
        frame.locator("#card_number").fill("4000 0000 0000 0002")
        frame.locator("#card_exp").fill("12/40")
        frame.locator("#card_cvc").fill("123")
        frame.locator("#pay").click()
        expect(frame.locator("#lava-error")).to_contain_text("declined")
        frame.locator("#card_number").fill("4242 4242 4242 4242")
        frame.locator("#card_exp").fill("12/40")
        frame.locator("#card_cvc").fill("123")
        frame.locator("#pay").click()
        _, session_id, customer_id = wait_status(page, "success:").split(":")
        assert api.get(f"/checkout_sessions/{session_id}").json()["customer_id"] == customer_id
        sub = api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
        assert sub["plan"]["name"] == "Pro" and sub["credits"]["cycle_remaining"] == "10.0000000000"
        assert_ledger_consistent(checkout_server)

        site.connection_id = customer_id
        page.click("#topup")
        frame = page.frame_locator("iframe")
        frame.locator("#send-code").click()
        frame.locator("#code").fill("000000")
        frame.locator("#verify").click()
        expect(frame.locator("fieldset")).to_contain_text("ending 4242")
        assert frame.locator("#amount").input_value() == "4.00"
        frame.locator("#pay").click()
        _, _bundle_session, same_customer = wait_status(page, "success:").split(":")
        assert same_customer == customer_id
        credits = api.get(f"/customers/{customer_id}/subscription").json()["subscription"]["credits"]
        assert credits == {
            "total_remaining": "15.0000000000",
            "cycle_remaining": "10.0000000000",
            "bundle_remaining": "5.0000000000",
        }
        messages = page.evaluate("window.__lavaMessages")
        assert [m["data"]["type"] for m in messages] == ["lava_checkout_success", "lava_checkout_success"]
        assert all(m["data"]["connectionId"] == customer_id for m in messages)
        assert_ledger_consistent(checkout_server)
    finally:
        stop()

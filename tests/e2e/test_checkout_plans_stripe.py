"""Stripe (localstripe): a live-mode subscription checkout through the real hook, a decline then a
success, and the next renewal charged off-session on the saved card through Stripe."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import stripe
from playwright.sync_api import expect

from lava_server.billing import renewals
from lava_server.checkout.offsession import processor_chargers
from lava_server.checkout.processors import ProcessorRegistry
from lava_server.clock import from_datetime, now_us, parse_iso
from lava_server.store import checkout_state as state
from tests.e2e.conftest import OtpCapture, serve_site
from tests.e2e.ledger_asserts import assert_ledger_consistent, cli, new_merchant
from tests.e2e.test_checkout_plans_hook import PlanSite
from tests.e2e.test_checkout_react_hook import wait_status
from tests.e2e.test_checkout_stripe import fill_stripe_card
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning")]


def checkout_pro(
    stripe_server: LiveServer, page: Any, otp_codes: OtpCapture, email: str, *, decline_first: bool = True
) -> tuple[dict[str, Any], httpx.Client, dict[str, Any], str]:
    """A live merchant sells plan Pro ($12/month, 10 credits) through the real hook and Stripe:
    (merchant, its API client, the customer's subscription, the customer id)."""
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
        frame.locator("#email").fill(email)
        frame.locator("#send-code").click()
        frame.locator("#code").fill(otp_codes.wait(email))
        frame.locator("#verify").click()
        expect(frame.locator("#card-element input[placeholder=number]")).to_be_visible()
        assert frame.locator("#amount").input_value() == "12.00"
        if decline_first:
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
    return merchant, api, sub, customer_id


def run_due_at(server: LiveServer, now: int) -> dict[str, Any]:
    """One scheduler pass at ``now`` with the server's Stripe processor (what every replica runs)."""
    svc = server.services

    async def run() -> dict[str, Any]:
        registry = ProcessorRegistry(svc.settings.checkout, svc.ids)
        try:
            report = await renewals.run_due(svc, processor_chargers(svc.db, registry), svc.db, now=now, clock_id=None)
            return report.as_dict()
        finally:
            await registry.close()

    return server.call(run())  # type: ignore[no-any-return]


def test_stripe_subscription_checkout_then_off_session_renewal(
    stripe_server: LiveServer, localstripe: str, page: Any, otp_codes: OtpCapture
) -> None:
    _merchant, api, sub, customer_id = checkout_pro(stripe_server, page, otp_codes, "stripe.plan@example.com")
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


DAY = 86_400_000_000


def test_stripe_off_session_renewal_declined_retried_then_cancelled(
    stripe_server: LiveServer, localstripe: str, page: Any, otp_codes: OtpCapture
) -> None:
    """The card on file is replaced by one Stripe attaches but declines (4000 0000 0000 0341): the
    renewal is declined off-session, retried on day 1 and day 3 (past due meanwhile, remaining
    credit usable, no new credit), then cancelled to Free; each step is one event, even when two
    scheduler passes run at the same time."""
    merchant, api, sub, customer_id = checkout_pro(
        stripe_server, page, otp_codes, "stripe.decline@example.com", decline_first=False
    )
    svc = stripe_server.services
    key = stripe_server.call(svc.keys.resolve(merchant["secret_key"]))
    stripe_server.call(svc.webhooks.create(key, {"name": "hooks", "url": "https://93.184.216.34/hooks"}))
    sub_id = sub["subscription_id"]
    row = stripe_server.call(
        svc.db.fetchone("SELECT wallet_id, connection_id FROM subscriptions WHERE id = $1", sub_id)
    )
    wallet, connection = row["wallet_id"], row["connection_id"]
    stripe_customer = stripe_server.call(state.get_customer_id(svc.db, wallet, "stripe"))
    assert stripe_customer is not None and stripe_customer.startswith("cus_")

    # the customer's new card: created and attached in Stripe (attaching 0341 succeeds), saved for the wallet
    auth = {"Authorization": "Bearer sk_test_lava_e2e"}
    pm = httpx.post(
        f"{localstripe}/v1/payment_methods",
        data={
            "type": "card",
            "card[number]": "4000000000000341",
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
        },
        headers=auth,
    ).json()["id"]
    r = httpx.post(f"{localstripe}/v1/payment_methods/{pm}/attach", data={"customer": stripe_customer}, headers=auth)
    assert r.status_code == 200, r.text

    async def save() -> None:
        async with svc.db.transaction() as tx:
            await state.save_card(tx, state.SavedCard(wallet, "stripe", pm, "visa", "0341"), now_us())

    stripe_server.call(save())
    # the operator records the new card (the CLI runs its own loop: off the browser's thread)
    done = cli(
        stripe_server,
        "subscriptions",
        "set-payment-method",
        sub_id,
        "--payment-method",
        f"stripe:{pm}",
        "--secret-key",
        merchant["secret_key"],
    )
    assert done == {"success": True}

    end = from_datetime(parse_iso(sub["cycle_end_at"])) + 1_000_000

    def view() -> dict[str, Any]:
        return api.get("/subscriptions", params={"customer_id": customer_id, "status": "all"}).json()["data"]  # type: ignore[no-any-return]

    def state_of() -> dict[str, Any]:
        return next(s for s in view() if s["subscription_id"] == sub_id)

    # the cycle end: declined, past due, retried on day 1; twice (two replicas) changes nothing more
    run_due_at(stripe_server, end)
    run_due_at(stripe_server, end)
    now = state_of()
    assert now["status"] == "active" and now["renewal_failures"] == 1, now
    assert now["past_due_since"] == sub["cycle_end_at"]
    assert now["credits"]["cycle_remaining"] == "0.0000000000"  # rollover none: forfeited, nothing granted
    # day 1: declined again; day 3: the third decline cancels
    run_due_at(stripe_server, end + DAY)
    run_due_at(stripe_server, end + DAY)
    assert state_of()["renewal_failures"] == 2 and state_of()["status"] == "active"
    run_due_at(stripe_server, end + 2 * DAY)  # nothing due between the retries
    assert state_of()["renewal_failures"] == 2
    run_due_at(stripe_server, end + 3 * DAY)
    run_due_at(stripe_server, end + 3 * DAY)
    cancelled = state_of()
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] is not None, cancelled
    current = api.get(f"/customers/{customer_id}/subscription").json()["subscription"]
    assert current["plan"]["name"] == "Free" and current["subscription_id"] != sub_id

    # Stripe saw three declined off-session attempts, no success; the ledger took no payment
    client = stripe.StripeClient("sk_test_lava_e2e", base_addresses={"api": localstripe})
    mine = [
        pi.to_dict()
        for pi in client.v1.payment_intents.list().data
        if pi.to_dict().get("metadata", {}).get("lava_off_session", "").startswith(f"sub:{sub_id}")
    ]
    assert len(mine) == 3 and all(pi["status"] != "succeeded" for pi in mine), mine
    payments = stripe_server.call(
        svc.db.fetchval(
            "SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key LIKE $1", f"sub:{sub_id}:%:payment"
        )
    )
    assert int(payments) == 0

    # each step emitted once: three renewal failures (attempt 1, 2, 3, card_declined), one cancellation
    rows = stripe_server.call(
        svc.db.fetchall(
            "SELECT type, detail FROM webhook_events WHERE merchant_id = $1 AND customer_id = $2"
            " AND type LIKE 'subscription.%' ORDER BY created_at, id",
            key.merchant_id,
            connection,
        )
    )
    events = [(r["type"], json.loads(r["detail"] or "{}")) for r in rows]
    failed = [d for t, d in events if t == "subscription.renewal_failed"]
    assert [d.get("attempt") for d in failed] == [1, 2, 3], events
    assert all(d.get("code") == "card_declined" for d in failed), failed
    assert [t for t, _ in events].count("subscription.cancelled") == 1
    assert [d for t, d in events if t == "subscription.cancelled"][0].get("reason") == "renewal_failed"
    # (funds in ≠ checkout payments here: the module's other test renewed off-session)
    assert cli(stripe_server, "ledger", "check")["ok"] is True

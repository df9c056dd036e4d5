"""A crash between the card charge and the ledger transaction: the next run charges again under the
SAME idempotency key (so the processor returns the first payment) and grants exactly once."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lava_server.billing import renewals
from lava_server.billing.offsession import ChargeResult, TestCardCharger
from lava_server.clock import from_datetime, parse_iso
from tests.support.live import LiveServer


class Crash(Exception):
    pass


class Recorder:
    """Charges like the test cards, records every idempotency key, optionally dies right after."""

    def __init__(self, crash: bool) -> None:
        self.crash = crash
        self.keys: list[str] = []

    async def charge(self, payment_method: str | None, amount: int, idempotency_key: str) -> ChargeResult:
        self.keys.append(idempotency_key)
        result = await TestCardCharger().charge(payment_method, amount, idempotency_key)
        if self.crash:
            raise Crash("the process died after the processor took the money")
        return result


def test_crash_after_charge_then_rerun(lava_server: LiveServer) -> None:
    key = lava_server.merchant(f"crash-{uuid.uuid4().hex[:6]}")["secret_key"]
    api = httpx.Client(base_url=lava_server.api_base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    plan = api.post(
        "/plans", json={"name": "P", "period_amount": "5", "billing_interval": "week", "included_credit": "5"}
    ).json()
    clock = api.post("/test_clocks", json={"frozen_time": "2026-04-01T00:00:00Z"}).json()["test_clock_id"]
    api.post("/customers", json={"reference_id": "c"})
    api.post(f"/test_clocks/{clock}/customers", json={"customer_id": "c"})
    lava_server.cli(
        "subscriptions",
        "subscribe",
        "--secret-key",
        key,
        "--customer",
        "c",
        "--plan",
        plan["plan_id"],
        "--payment-method",
        "pm_card_visa",
    )
    sub = api.get("/customers/c/subscription").json()["subscription"]
    end = from_datetime(parse_iso(sub["cycle_end_at"]))
    svc = lava_server.services

    crashing = Recorder(crash=True)
    with pytest.raises(Crash):
        lava_server.call(renewals.run_due(svc, lambda _mode: crashing, svc.db, now=end, clock_id=clock))
    assert api.get("/customers/c/subscription").json()["subscription"]["cycle_start_at"] == sub["cycle_start_at"]

    healthy = Recorder(crash=False)
    for _ in range(2):  # the rerun, and a replay of it
        lava_server.call(renewals.run_due(svc, lambda _mode: healthy, svc.db, now=end, clock_id=clock))
    assert crashing.keys == healthy.keys[:1]  # the same charge key: the processor answers with the first payment
    after = api.get("/customers/c/subscription").json()["subscription"]
    assert after["cycle_start_at"] == sub["cycle_end_at"] and after["credits"]["cycle_remaining"] == "5.0000000000"
    rows = lava_server.call(
        svc.db.fetchall(
            "SELECT kind FROM ledger_transfers WHERE idempotency_key LIKE $1", f"sub:{sub['subscription_id']}:cycle:%"
        )
    )
    kinds = sorted(r["kind"] for r in rows)
    assert kinds.count("plan_payment") == 1 and kinds.count("cycle_grant") == 2  # the switch's grant + this renewal's

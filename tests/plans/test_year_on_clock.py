"""A year of cycles on a test clock, every figure against a hand-computed table (issue 10).

Clock T0 = 2026-01-31T00:00Z (month-end anchors exercise clamping: Feb 28, Mar 31, Apr 30 …).
Meter: 1 credit per token (tokens_1m at 1,000,000), spent with POST /v1/requests.

Plans                     amount  interval  included  rollover  bundle rollover  bundles
  Basic                     20    month        15       none        full         Pack 5 → 6 credits
  Lite                       8    month         5       none        full         —
  Weekly                     7    week          5       full        none         WPack 2 → 3
  Auto                      10    month        10       none        full         Top 4 → 5 (default auto top-up)

Customers: A on Basic (partial included credit, none rollover, a bundle mid-cycle, then a pending
downgrade to Lite), B on Weekly (full rollover, a bundle forfeited at the next week), C on Auto
(overage with auto top-up, then a pending cancellation), D on Auto without auto top-up (overage
as debt repaid by the next grant, then a declined card: past due, retries day 1 and 3, cancelled).
Revenue = money collected (plan periods and bundles): credits are paid for once, when bought.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from tests.support.live import LiveServer

T0 = "2026-01-31T00:00:00Z"


def w(n: int) -> str:
    return f"{n}.0000000000" if n >= 0 else f"-{-n}.0000000000"


class World:
    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.key = server.merchant(f"year-{uuid.uuid4().hex[:6]}")["secret_key"]
        self.api = httpx.Client(base_url=server.api_base, headers={"Authorization": f"Bearer {self.key}"}, timeout=60)
        self.customers: dict[str, str] = {}

    def post(self, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
        r = self.api.post(path, json=body)
        assert r.status_code in (status, 201), r.text
        return r.json()  # type: ignore[no-any-return]

    def cli(self, *args: str) -> dict[str, Any]:
        return self.server.cli(*args, "--secret-key", self.key)

    def spend(self, who: str, tokens: int) -> None:
        body = {"request_id": uuid.uuid4().hex, "customer_id": who, "meter_slug": "tok", "input_tokens": tokens}
        r = self.api.post("/requests", json=body)
        assert r.status_code == 201, r.text

    def sub(self, who: str) -> dict[str, Any]:
        return self.api.get(f"/customers/{who}/subscription").json()["subscription"]  # type: ignore[no-any-return]

    def advance(self, to: str) -> dict[str, Any]:
        return self.post(f"/test_clocks/{self.clock}/advance", {"frozen_time": to})

    def revenue(self) -> int:
        """USD the merchant collected for plans and bundles (whole dollars in this scenario)."""
        merchant_id = self.api.get("/plans").json()["data"][0]["merchant_id"]
        total = self.server.call(
            self.server.services.db.fetchval(
                "SELECT COALESCE(SUM(amount), 0) FROM ledger_transfers WHERE credit_account = $1"
                " AND kind IN ('plan_payment', 'bundle_payment')",
                f"merchant_revenue:{merchant_id}:test",
            )
        )
        assert int(total) % 10**10 == 0
        return int(total) // 10**10

    def check(self, step: str, table: dict[str, tuple[int, int]], revenue: int) -> None:
        for who, (cycle, bundle) in table.items():
            credits = self.sub(who)["credits"]
            expected = {
                "cycle_remaining": w(cycle),
                "bundle_remaining": w(bundle),
                "total_remaining": w(cycle + bundle),
            }
            assert credits == expected, (step, who, credits, expected)
        assert self.revenue() == revenue, (step, self.revenue(), revenue)
        report = self.server.call(ledger.check(self.server.services.db))
        assert report.ok, (step, report.problems)


@pytest.fixture
def world(lava_server: LiveServer) -> World:
    return World(lava_server)


def test_a_year_of_cycles_matches_the_table(world: World) -> None:
    api = world.api
    r = api.post(
        "/meters",
        json={
            "name": "tok",
            "rate_type": "fixed",
            "tier_type": "tokens_1m",
            "tiers": [{"start": 0, "rate": "1000000"}],
        },
    )
    assert r.status_code == 201, r.text
    plans = {
        "Basic": world.post(
            "/plans",
            {
                "name": "Basic",
                "period_amount": "20",
                "billing_interval": "month",
                "included_credit": "15",
                "credit_bundles": [{"name": "Pack", "cost": "5", "credit_amount": "6"}],
            },
        ),
        "Lite": world.post(
            "/plans", {"name": "Lite", "period_amount": "8", "billing_interval": "month", "included_credit": "5"}
        ),
        "Weekly": world.post(
            "/plans",
            {
                "name": "Weekly",
                "period_amount": "7",
                "billing_interval": "week",
                "included_credit": "5",
                "rollover_type": "full",
                "bundle_rollover_type": "none",
                "credit_bundles": [{"name": "WPack", "cost": "2", "credit_amount": "3"}],
            },
        ),
        "Auto": world.post(
            "/plans",
            {
                "name": "Auto",
                "period_amount": "10",
                "billing_interval": "month",
                "included_credit": "10",
                "credit_bundles": [{"name": "Top", "cost": "4", "credit_amount": "5"}],
                "default_auto_top_up_bundle_index": 0,
            },
        ),
    }
    world.clock = world.post("/test_clocks", {"frozen_time": T0, "name": "year"})["test_clock_id"]
    for who, plan in (("A", "Basic"), ("B", "Weekly"), ("C", "Auto"), ("D", "Auto")):
        world.post("/customers", {"reference_id": who})
        world.post(f"/test_clocks/{world.clock}/customers", {"customer_id": who})
        out = world.cli(
            "subscriptions",
            "subscribe",
            "--customer",
            who,
            "--plan",
            plans[plan]["plan_id"],
            "--payment-method",
            "pm_card_visa",
        )
        assert out["subscription"]["plan"]["name"] == plan
        assert out["subscription"]["cycle_start_at"] == T0
    d_sub = world.sub("D")
    assert api.patch(f"/subscriptions/{d_sub['subscription_id']}", json={"auto_top_up_bundle_id": None}).json() == {
        "success": True
    }
    assert world.sub("A")["cycle_end_at"] == "2026-02-28T00:00:00Z"  # Jan 31 + 1 month, clamped
    assert world.sub("B")["cycle_end_at"] == "2026-02-07T00:00:00Z"
    world.check("start", {"A": (15, 0), "B": (5, 0), "C": (10, 0), "D": (10, 0)}, 47)

    # T0: spending, a bundle mid-cycle, overage with and without auto top-up
    world.spend("A", 12)
    world.cli(
        "subscriptions",
        "buy-bundle",
        "--customer",
        "A",
        "--bundle",
        plans["Basic"]["credit_bundles"][0]["credit_bundle_id"],
    )
    world.spend("A", 5)  # 3 from cycle, then 2 from the bundle
    world.spend("B", 3)
    world.spend("C", 12)  # 2 over: debt on cycle credits
    world.spend("D", 12)
    world.check("spent", {"A": (0, 4), "B": (2, 0), "C": (-2, 0), "D": (-2, 0)}, 52)
    ran = world.advance(T0)["ran"]  # the top-up runs: one purchase for the crossing, repaying the debt first
    assert ran["topped_up"] == 1
    assert world.advance(T0)["ran"]["topped_up"] == 0  # no second purchase for the same crossing
    world.check("top-up", {"A": (0, 4), "B": (2, 0), "C": (0, 3), "D": (-2, 0)}, 56)

    world.advance("2026-02-07T00:00:00Z")  # B's first weekly renewal: full rollover
    world.cli(
        "subscriptions",
        "buy-bundle",
        "--customer",
        "B",
        "--bundle",
        plans["Weekly"]["credit_bundles"][0]["credit_bundle_id"],
    )
    world.check("feb 7", {"A": (0, 4), "B": (7, 3), "C": (0, 3), "D": (-2, 0)}, 65)

    ran = world.advance("2026-02-28T00:00:00Z")["ran"]
    assert ran["renewed"] == 6  # B ×3 (its bundle forfeited on Feb 14), A, C, D
    world.check("feb 28", {"A": (15, 4), "B": (22, 0), "C": (10, 3), "D": (8, 0)}, 126)

    # pending changes: A downgrades to Lite (no charge now), C cancels
    out = world.cli(
        "subscriptions",
        "subscribe",
        "--customer",
        "A",
        "--plan",
        plans["Lite"]["plan_id"],
        "--payment-method",
        "pm_card_visa",
    )
    assert out["subscription"]["pending_change"] == {
        "type": "downgrade",
        "effective_at": "2026-03-31T00:00:00Z",
        "plan_id": plans["Lite"]["plan_id"],
        "name": "Lite",
        "period_amount": w(8),
        "included_credit": w(5),
    }
    c_sub = world.sub("C")["subscription_id"]
    assert api.delete(f"/subscriptions/{c_sub}").json() == {"success": True}
    assert world.sub("C")["pending_change"] == {"type": "cancellation", "effective_at": "2026-03-31T00:00:00Z"}
    world.spend("A", 10)
    world.check("feb 28 pending", {"A": (5, 4), "B": (22, 0), "C": (10, 3), "D": (8, 0)}, 126)

    world.advance("2026-03-31T00:00:00Z")
    a = world.sub("A")
    assert (a["plan"]["name"], a["pending_change"], a["cycle_end_at"]) == ("Lite", None, "2026-04-30T00:00:00Z")
    c = world.sub("C")
    assert c["plan"]["name"] == "Free" and c["subscription_id"] != c_sub
    cancelled = api.get("/subscriptions", params={"status": "cancelled", "customer_id": "C"}).json()["data"]
    assert [(x["subscription_id"], x["cancelled_at"]) for x in cancelled] == [(c_sub, "2026-03-31T00:00:00Z")]
    world.check("mar 31", {"A": (5, 4), "B": (42, 0), "C": (0, 3), "D": (10, 0)}, 172)

    # D's card starts declining: past due, retries on day 1 and day 3, then cancelled to Free
    world.cli(
        "subscriptions",
        "set-payment-method",
        world.sub("D")["subscription_id"],
        "--payment-method",
        "pm_card_chargeDeclined",
    )
    ran = world.advance("2026-04-30T00:00:00Z")["ran"]
    assert ran["failed"] == 1
    d = api.get(f"/subscriptions/{world.sub('D')['subscription_id']}").json()
    assert (d["status"], d["renewal_failures"], d["past_due_since"]) == ("active", 1, "2026-04-30T00:00:00Z")
    world.check("apr 30", {"A": (5, 4), "B": (62, 0), "C": (0, 3), "D": (0, 0)}, 208)
    assert world.advance("2026-05-01T00:00:00Z")["ran"]["failed"] == 1
    assert world.sub("D")["plan"]["name"] == "Auto"
    ran = world.advance("2026-05-03T00:00:00Z")["ran"]
    assert (ran["failed"], ran["cancelled"]) == (1, 1)
    assert world.sub("D")["plan"]["name"] == "Free"
    world.check("may 3", {"A": (5, 4), "B": (67, 0), "C": (0, 3), "D": (0, 0)}, 215)

    # the rest of the year, month by month (one step through the CLI)
    out = world.cli("clock", "advance", world.clock, "--to", "2026-06-01T00:00:00Z")
    assert out["frozen_time"] == "2026-06-01T00:00:00Z"
    for month in range(7, 13):
        world.advance(f"2026-{month:02d}-01T00:00:00Z")
        report = world.server.call(ledger.check(world.server.services.db))
        assert report.ok, (month, report.problems)
    world.advance("2027-01-31T00:00:00Z")
    world.check("jan 31 2027", {"A": (5, 4), "B": (262, 0), "C": (0, 3), "D": (0, 0)}, 560)
    a = world.sub("A")
    assert a["cycle_start_at"] == "2027-01-31T00:00:00Z" and a["cycle_end_at"] == "2027-02-28T00:00:00Z"
    assert world.sub("B")["cycle_end_at"] == "2027-02-06T00:00:00Z"

"""The renewal scheduler: one lease holder at a time across replicas, taken over after expiry, and a
tick renews real-time subscriptions that are due (customers on a test clock are left to it)."""

from __future__ import annotations

import time
import uuid

import httpx

from lava_server import scheduler
from lava_server.clock import now_us
from tests.support.live import LiveServer


def test_lease_is_exclusive_until_it_expires(lava_server: LiveServer) -> None:
    db = lava_server.services.db
    name = f"test-lease-{uuid.uuid4().hex[:6]}"
    t = now_us()
    take = scheduler.acquire_lease
    assert lava_server.call(take(db, "a", now=t, lease_us=1_000_000, name=name)) is True
    assert lava_server.call(take(db, "b", now=t + 10, lease_us=1_000_000, name=name)) is False
    assert lava_server.call(take(db, "a", now=t + 20, lease_us=1_000_000, name=name)) is True  # renewal
    assert lava_server.call(take(db, "b", now=t + 2_000_000, lease_us=1_000_000, name=name)) is True  # expired
    assert lava_server.call(take(db, "a", now=t + 2_000_010, lease_us=1_000_000, name=name)) is False


def test_tick_renews_due_real_time_subscriptions_only(lava_server: LiveServer) -> None:
    key = lava_server.merchant(f"sched-{uuid.uuid4().hex[:6]}")["secret_key"]
    api = httpx.Client(base_url=lava_server.api_base, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    plan = api.post(
        "/plans",
        json={
            "name": "F",
            "period_amount": "0",
            "billing_interval": "day",
            "included_credit": "3",
            "rollover_type": "full",
        },
    ).json()
    clock = api.post("/test_clocks", json={}).json()["test_clock_id"]
    subs = {}
    for ref in ("real", "clocked"):
        api.post("/customers", json={"reference_id": ref})
        if ref == "clocked":
            api.post(f"/test_clocks/{clock}/customers", json={"customer_id": ref})
        subs[ref] = api.post("/subscriptions", json={"customer_id": ref, "plan_id": plan["plan_id"]}).json()[
            "subscription"
        ]
    db = lava_server.services.db
    past = now_us() - 1_000_000
    for sub in subs.values():  # both cycle ends have passed in real time
        lava_server.call(
            db.execute(
                "UPDATE subscriptions SET cycle_end_at = $1, next_attempt_at = $1 WHERE id = $2",
                past,
                sub["subscription_id"],
            )
        )
    holder = f"tick-{uuid.uuid4().hex[:6]}"
    # This tick renews it, unless the server's own loop (which holds the lease) gets there first.
    lava_server.call(scheduler.tick(lava_server.services, holder))
    deadline = time.monotonic() + 3 * scheduler.TICK_S
    while (
        api.get("/customers/real/subscription").json()["subscription"]["credits"]["cycle_remaining"] != "6.0000000000"
    ):
        assert time.monotonic() < deadline, "no replica renewed the due subscription"
        time.sleep(0.2)
    real = api.get("/customers/real/subscription").json()["subscription"]
    clocked = api.get("/customers/clocked/subscription").json()["subscription"]
    assert real["credits"]["cycle_remaining"] == "6.0000000000"  # renewed: 3 rolled over + 3
    assert clocked["credits"]["cycle_remaining"] == "3.0000000000"  # its clock has not moved

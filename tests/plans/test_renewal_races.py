"""A renewal racing calls that spend the last credits neither overspends nor double-grants:
on SQLite (gateway calls with holds, in-process server) and on PostgreSQL with two ``lava serve``
processes (POST /v1/requests on both, both advancing the clock to the cycle end at once).

Plans use ``rollover_type: full`` so the final balance does not depend on the interleaving:
credits after = credits before + one grant − what was spent, exactly.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from lava_server.cli import run as cli_run
from tests.e2e.conftest_gateway import GatewayStack, fake_gateway  # noqa: F401
from tests.events.test_processes import Serve

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
T0 = "2026-05-01T00:00:00Z"
END = "2026-06-01T00:00:00Z"


def setup_shop(base: str, cli: Any, included: str) -> tuple[str, httpx.Client, str, str]:
    """Merchant, a 1-credit-per-call meter, a paid monthly full-rollover plan, customer ``r`` on a clock."""
    key = cli("merchants", "create", "--name", f"race-{uuid.uuid4().hex[:6]}")["secret_key"]
    api = httpx.Client(base_url=base + "/v1/", headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert (
        api.post(
            "/meters",
            json={"name": "m", "rate_type": "fixed", "tier_type": "requests", "tiers": [{"start": 0, "rate": "1"}]},
        ).status_code
        == 201
    )
    plan = api.post(
        "/plans",
        json={
            "name": "P",
            "period_amount": "10",
            "billing_interval": "month",
            "included_credit": included,
            "rollover_type": "full",
        },
    ).json()
    clock = api.post("/test_clocks", json={"frozen_time": T0}).json()["test_clock_id"]
    assert api.post("/customers", json={"reference_id": "r"}).status_code == 201
    assert api.post(f"/test_clocks/{clock}/customers", json={"customer_id": "r"}).status_code == 200
    cli(
        "subscriptions",
        "subscribe",
        "--secret-key",
        key,
        "--customer",
        "r",
        "--plan",
        plan["plan_id"],
        "--payment-method",
        "pm_card_visa",
    )
    return key, api, clock, plan["plan_id"]


def subscription(api: httpx.Client) -> dict[str, Any]:
    return api.get("/customers/r/subscription").json()["subscription"]  # type: ignore[no-any-return]


def grants_and_payments(rows: list[dict[str, Any]]) -> tuple[int, int]:
    return sum(1 for r in rows if r["kind"] == "cycle_grant"), sum(1 for r in rows if r["kind"] == "plan_payment")


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:  # noqa: F811
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, report.problems


def test_sqlite_gateway_calls_race_the_renewal(stack: GatewayStack) -> None:
    server = stack.server
    key, api, clock, _ = setup_shop(server.url, server.cli, "5")
    token = base64.b64encode(json.dumps({"secret_key": key, "customer_id": "r", "meter_slug": "m"}).encode()).decode()

    def call(_: int) -> int:
        return httpx.post(
            f"{server.api_base}forward?u={OPENAI_CHAT}",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 3},
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ).status_code

    assert [call(i) for i in range(3)] == [200, 200, 200]  # 2 credits left
    sub_id = subscription(api)["subscription_id"]

    def advance(_: int) -> int:
        return api.post(f"/test_clocks/{clock}/advance", json={"frozen_time": END}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        calls = [pool.submit(call, i) for i in range(12)]
        advances = [pool.submit(advance, i) for i in range(3)]
        statuses = [f.result() for f in calls]
        assert [f.result() for f in advances] == [200, 200, 200]
    ok = statuses.count(200)
    assert set(statuses) <= {200, 402}
    assert ok <= 2 + 5  # never more than the credits that existed
    after = subscription(api)
    assert after["credits"]["total_remaining"] == f"{2 + 5 - ok}.0000000000"  # exactly one grant
    assert after["credits"]["bundle_remaining"] == "0.0000000000"
    rows = server.call(
        server.services.db.fetchall(
            "SELECT kind FROM ledger_transfers WHERE idempotency_key LIKE $1", f"sub:{sub_id}:%"
        )
    )
    # the plan switch's grant and exactly one renewal grant and payment (the first period was paid at checkout)
    assert grants_and_payments(rows) == (2, 1)
    assert after["cycle_start_at"] == END


@pytest.mark.postgres
def test_postgres_two_processes_race_the_renewal(tmp_path: Path, postgres_database_url: str) -> None:
    db = ["--database-url", postgres_database_url, "--data-dir", str(tmp_path)]

    def cli(*args: str) -> dict[str, Any]:
        return cli_run([*args, *db])

    cli("migrate")
    replicas = [Serve(tmp_path, postgres_database_url), Serve(tmp_path, postgres_database_url)]
    try:
        key, api, clock, _ = setup_shop(replicas[0].url, cli, "10")
        clients = [
            httpx.Client(base_url=r.url + "/v1/", headers={"Authorization": f"Bearer {key}"}, timeout=60)
            for r in replicas
        ]
        for i in range(7):  # 3 credits left
            assert (
                clients[i % 2]
                .post("/requests", json={"request_id": f"pre{i}", "customer_id": "r", "meter_slug": "m"})
                .status_code
                == 201
            )
        sub_id = subscription(api)["subscription_id"]

        def spend(i: int) -> int:
            body = {"request_id": f"race{i}", "customer_id": "r", "meter_slug": "m"}
            return clients[i % 2].post("/requests", json=body).status_code

        def advance(i: int) -> int:
            return clients[i % 2].post(f"/test_clocks/{clock}/advance", json={"frozen_time": END}).status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            spends = [pool.submit(spend, i) for i in range(13)]
            advances = [pool.submit(advance, i) for i in range(6)]
            assert [f.result() for f in spends] == [201] * 13
            assert [f.result() for f in advances] == [200] * 6
        after = subscription(api)
        # 3 left + one grant of 10 − 13 spent = 0, whatever the interleaving; no debt was needed
        assert after["credits"] == {
            "total_remaining": "0.0000000000",
            "cycle_remaining": "0.0000000000",
            "bundle_remaining": "0.0000000000",
        }
        assert after["cycle_start_at"] == END
        out = cli("ledger", "check")
        assert out["ok"], out
        import asyncio

        import asyncpg

        async def kinds() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(postgres_database_url)
            try:
                return [
                    dict(r)
                    for r in await conn.fetch(
                        "SELECT kind FROM ledger_transfers WHERE idempotency_key LIKE $1", f"sub:{sub_id}:%"
                    )
                ]
            finally:
                await conn.close()

        assert grants_and_payments(asyncio.run(kinds())) == (2, 1)
    finally:
        for r in replicas:
            r.stop()

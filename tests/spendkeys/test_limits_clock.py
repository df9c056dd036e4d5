"""The limit logic of ``billing/spend_limits.py`` on an injected clock (every call passes its own
``at``), on SQLite and PostgreSQL: cycle boundaries at 00:00 UTC, the token bucket's Retry-After,
in-flight holds counted until they expire, counters exact after settlement, and one
``spend_key.limit_reached`` event per limit and cycle, written in the refusing transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from lava_server.accounts import spend_keys as domain
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import spend_limits
from lava_server.billing.spend_limits import CallRequest, counters, cycle_start
from lava_server.clock import from_datetime, now_us
from lava_server.context import Services, open_services
from lava_server.errors import ApiError
from lava_server.events.payload import render_data
from lava_server.settings import from_env
from lava_server.store import spend_keys as repo
from lava_server.store import webhook_deliveries as deliveries

USD = 10**10
MINUTE_US = 60_000_000


def t(text: str) -> int:
    return from_datetime(datetime.fromisoformat(text).replace(tzinfo=UTC))


@pytest.mark.parametrize(
    ("cycle", "at", "start"),
    [
        ("daily", "2026-01-07T23:59:59", "2026-01-07T00:00:00"),
        ("weekly", "2026-01-07T12:00:00", "2026-01-05T00:00:00"),  # a Wednesday → Monday
        ("weekly", "2026-01-05T00:00:00", "2026-01-05T00:00:00"),
        ("monthly", "2026-02-28T18:00:00", "2026-02-01T00:00:00"),
    ],
)
def test_cycle_start(cycle: Any, at: str, start: str) -> None:
    assert cycle_start(cycle, t(at)) == t(start)
    assert cycle_start("total", t(at)) == 0


class Harness:
    def __init__(self, svc: Services, key_id: str) -> None:
        self.svc, self.key_id, self.n = svc, key_id, 0

    async def reserve(self, worst: int, at: int, *, ttl_us: int = MINUTE_US) -> ApiError | None:
        self.n += 1
        call = CallRequest(
            self.key_id, f"req_{self.key_id}_{self.n}", "openai", "gpt-4o-mini", True, worst, at, at + ttl_us
        )
        async with self.svc.db.transaction() as tx:
            return await spend_limits.reserve(tx, self.svc.outbox, call)

    async def settle(self, cost: int, at: int, n: int | None = None) -> None:
        async with self.svc.db.transaction() as tx:
            await spend_limits.settle(tx, self.svc.outbox, f"req_{self.key_id}_{n or self.n}", cost, at)

    async def view(self, at: int) -> spend_limits.Counters:
        rec = await repo.get_key(self.svc.db, *await self._owner(), self.key_id)
        assert rec is not None
        return counters(rec, at)

    async def _owner(self) -> tuple[str, Any]:
        row = await self.svc.db.fetchone("SELECT merchant_id, mode FROM spend_keys WHERE id = $1", self.key_id)
        assert row is not None
        return row["merchant_id"], row["mode"]


async def _harness(svc: Services, body: dict[str, Any], *, webhook: bool = False) -> Harness:
    key = await svc.keys.resolve((await create_merchant(svc, "limits", "test")).secret_key)
    assert key is not None
    if webhook:
        await svc.webhooks.create(key, {"name": "a", "url": "https://93.184.216.34/a"})
    rec, _raw = await domain.create_key(svc, key, {"name": "agent", **body})
    return Harness(svc, rec.id)


def code(err: ApiError | None) -> str | None:
    return None if err is None else err.code


async def _daily(svc: Services) -> None:
    h = await _harness(svc, {"spend_limit": {"amount": "1", "cycle": "daily"}}, webhook=True)
    evening = t("2026-01-07T23:59:00")
    assert await h.reserve(60 * USD // 100, evening) is None
    # the first call is in flight: its $0.60 worst case counts
    assert code(await h.reserve(50 * USD // 100, evening + 1)) == "spend_limit_reached"
    await h.settle(30 * USD // 100, evening + 2, n=1)  # it cost $0.30
    assert await h.reserve(50 * USD // 100, evening + 3) is None
    await h.settle(50 * USD // 100, evening + 4)
    view = await h.view(evening + 5)
    assert (view.current_spend, view.total_spend, view.current_requests) == (80 * USD // 100, 80 * USD // 100, 2)
    assert code(await h.reserve(30 * USD // 100, evening + 6)) == "spend_limit_reached"
    assert code(await h.reserve(30 * USD // 100, evening + 7)) == "spend_limit_reached"
    events = await svc.db.fetchall("SELECT type, detail FROM webhook_events WHERE customer_id = $1", h.key_id)
    assert [e["type"] for e in events] == ["spend_key.limit_reached"]  # once per cycle
    async with svc.db.transaction() as tx:  # what a delivery worker sends as the event's data
        (claimed,) = await deliveries.claim(tx, worker="w", now=now_us() + 10**9, lease_us=10**6, limit=10)
        data = orjson.loads(await render_data(tx, claimed))
    assert data["spend_key"]["spend_key_id"] == h.key_id
    assert data["spend_key"]["current_spend"] == "0.0000000000"  # refused at evening + 1, on a hold in flight
    assert data["limit"] == {"type": "spend_limit", "amount": "1.0000000000", "cycle": "daily"}
    assert "customer_id" not in data
    midnight = t("2026-01-08T00:00:00")
    assert (await h.view(midnight)).current_spend == 0
    assert await h.reserve(90 * USD // 100, midnight) is None  # a new day: the limit is whole again
    await h.settle(USD, midnight + 1)  # costs above the worst case still count exactly
    view = await h.view(midnight + 2)
    assert (view.current_spend, view.total_spend) == (USD, 180 * USD // 100)
    assert code(await h.reserve(1, midnight + 3)) == "spend_limit_reached"
    events = await svc.db.fetchall("SELECT type FROM webhook_events WHERE customer_id = $1", h.key_id)
    assert len(events) == 2  # the new cycle's crossing is reported too


async def _requests_and_expiry(svc: Services) -> None:
    h = await _harness(svc, {"request_limit": {"count": 2, "cycle": "monthly"}})
    at = t("2026-03-31T10:00:00")
    assert await h.reserve(0, at, ttl_us=10) is None  # a hold that will expire unsettled
    assert await h.reserve(0, at + 1) is None
    assert code(await h.reserve(0, at + 2)) == "request_limit_reached"
    assert await h.reserve(0, at + 20) is None  # the first hold expired: it no longer counts
    await h.settle(0, at + 21)
    assert (await h.view(at + 22)).current_requests == 1
    assert await h.reserve(0, t("2026-04-01T00:00:00")) is None  # the 1st resets monthly counters


async def _bucket(svc: Services) -> None:
    h = await _harness(svc, {"rate_limit": {"rpm": 60, "burst": 3}})
    at = t("2026-01-07T12:00:00")
    assert [await h.reserve(0, at) for _ in range(3)] == [None, None, None]
    refused = await h.reserve(0, at)
    assert code(refused) == "rate_limited" and refused is not None
    assert (refused.status, refused.headers) == (429, {"Retry-After": "1"})
    assert code(await h.reserve(0, at + 500_000)) == "rate_limited"  # half a token
    assert await h.reserve(0, at + 1_000_000) is None
    slow = await _harness(svc, {"rate_limit": {"rpm": 6}})  # burst defaults to rpm; a token per 10 s
    assert [await slow.reserve(0, at) for _ in range(6)] == [None] * 6
    refused = await slow.reserve(0, at)
    assert refused is not None and refused.headers == {"Retry-After": "10"}
    refused = await slow.reserve(0, at + 4_000_000)
    assert refused is not None and refused.headers == {"Retry-After": "6"}
    assert await slow.reserve(0, at + 10_000_000) is None


async def _scenario(database_url: str, data_dir: Path) -> None:
    svc = await open_services(from_env({}, database_url=database_url, data_dir=str(data_dir)))
    try:
        await _daily(svc)
        await _requests_and_expiry(svc)
        await _bucket(svc)
    finally:
        await svc.close()


def test_limits_on_an_injected_clock(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_scenario(database_url, tmp_path))

"""The lease is exclusive: a worker claiming while another's claim is uncommitted gets nothing
of it, on PostgreSQL (row locks + the lease re-check) and on SQLite (one writer)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lava_server.accounts.connections import create_connection
from lava_server.accounts.merchants import create_merchant
from lava_server.clock import now_us
from lava_server.context import open_services
from lava_server.settings import from_env
from lava_server.store import open_database
from lava_server.store import webhook_deliveries as deliveries
from lava_server.store.outbox import Event

LEASE = 60_000_000


async def _scenario(database_url: str, data_dir: Path) -> None:
    svc = await open_services(from_env({}, database_url=database_url, data_dir=str(data_dir)))
    other = await open_database(database_url)
    try:
        made = await create_merchant(svc, "claims", "test")
        key = await svc.keys.resolve(made.secret_key)
        assert key is not None
        await svc.webhooks.create(key, {"name": "a", "url": "https://93.184.216.34/a"})
        await svc.webhooks.create(key, {"name": "b", "url": "https://93.184.216.35/b"})
        for _ in range(5):
            await create_connection(svc, key)  # one customer.created each, for both endpoints
        at = now_us()

        async def claim_b() -> list[deliveries.Claimed]:
            async with other.transaction() as tx:
                return await deliveries.claim(tx, worker="b", now=at, lease_us=LEASE, limit=100)

        async with svc.db.transaction() as tx:
            got_a = await deliveries.claim(tx, worker="a", now=at, lease_us=LEASE, limit=100)
            racing = asyncio.create_task(claim_b())
            await asyncio.sleep(0.3)  # b is blocked behind a's uncommitted claim
        got_b = await racing
        assert len(got_a) == 10
        assert got_b == [], "rows leased by a are invisible to b"
        # once the lease runs out, another worker may take them over
        async with other.transaction() as tx:
            later = await deliveries.claim(tx, worker="b", now=at + LEASE + 1, lease_us=LEASE, limit=100)
        assert len(later) == 10

        # the outbox writes nothing for a merchant without endpoints, and one event per add otherwise
        bare = await svc.keys.resolve((await create_merchant(svc, "bare", "test")).secret_key)
        assert bare is not None
        async with svc.db.transaction() as tx:
            none = await svc.outbox.add(tx, Event("customer.created", bare.merchant_id, "test", "con_test_x"))
        assert none is None
    finally:
        await other.close()
        await svc.close()


def test_claims_are_exclusive(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_scenario(database_url, tmp_path))

"""The outbox shares the change's transaction: a rolled-back change leaves no event, and a
replayed charge (same idempotency keys) emits nothing twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lava_server.accounts.connections import create_connection
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import ledger
from lava_server.context import open_services
from lava_server.settings import from_env


async def _types(svc, merchant_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    rows = await svc.db.fetchall("SELECT type FROM webhook_events WHERE merchant_id = $1 ORDER BY id", merchant_id)
    return [r["type"] for r in rows]


async def _scenario(database_url: str, data_dir: Path) -> None:
    svc = await open_services(from_env({}, database_url=database_url, data_dir=str(data_dir)))
    try:
        made = await create_merchant(svc, "outbox", "test")
        key = await svc.keys.resolve(made.secret_key)
        assert key is not None
        await svc.webhooks.create(key, {"name": "a", "url": "https://93.184.216.34/a"})

        class Boom(Exception):
            pass

        with pytest.raises(Boom):
            async with svc.db.transaction() as tx:
                await create_connection(svc, key, tx=tx)
                raise Boom
        assert await _types(svc, key.merchant_id) == [], "a rolled-back change has no event"

        con = await create_connection(svc, key)
        await svc.ledger.credit_wallet(con.wallet_id, "test", 1_5000000000, source="granted_credit", key="grant")
        assert await _types(svc, key.merchant_id) == ["customer.created", "customer.wallet.balance.updated"]
        # replaying the grant moves nothing and says nothing
        await svc.ledger.credit_wallet(con.wallet_id, "test", 1_5000000000, source="granted_credit", key="grant")
        assert len(await _types(svc, key.merchant_id)) == 2

        revenue = ledger.merchant_revenue_account(key.merchant_id, "test")
        parts = [ledger.ChargePart("fee", 4000000000, "wallet", revenue)]
        for _ in range(2):  # the same request's charge, posted twice: 1.50 → 1.10 once, no false crossing
            async with svc.db.transaction() as tx:
                await ledger.post_charge(
                    svc.ledger,
                    tx,
                    request_id="req_test_replayed",
                    wallet_id=con.wallet_id,
                    merchant_id=key.merchant_id,
                    mode="test",
                    parts=parts,
                    floor=0,
                )
        types = await _types(svc, key.merchant_id)
        assert types.count("customer.credits.low") == 0, "a replay moved nothing: 1.10 → 0.70 never happened"
        assert types.count("customer.wallet.balance.updated") == 2  # the grant, and one (coalesced) usage event
        assert (await svc.ledger.wallet_balance(con.wallet_id)).balance == 1_1000000000
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()


def test_outbox_shares_the_transaction(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_scenario(database_url, tmp_path))


async def _prune(database_url: str, data_dir: Path) -> None:
    from dataclasses import replace

    from lava_server.clock import now_us
    from lava_server.events.delivery import DeliveryWorker
    from lava_server.store import webhook_deliveries as deliveries

    svc = await open_services(from_env({}, database_url=database_url, data_dir=str(data_dir)))
    try:
        key = await svc.keys.resolve((await create_merchant(svc, "prune", "test")).secret_key)
        assert key is not None
        await svc.webhooks.create(key, {"name": "a", "url": "https://93.184.216.34/a"})
        done, pending = await create_connection(svc, key), await create_connection(svc, key)
        await svc.db.execute(
            "UPDATE webhook_deliveries SET status = 'delivered' WHERE event_id IN"
            " (SELECT id FROM webhook_events WHERE customer_id = $1)",
            done.connection_id,
        )
        worker = DeliveryWorker(svc.db, svc.keyring, svc.ids, replace(svc.settings.webhooks, retention_s=0.0))
        assert await worker.prune() == 1
        left = await svc.db.fetchall("SELECT customer_id FROM webhook_events WHERE merchant_id = $1", key.merchant_id)
        assert [r["customer_id"] for r in left] == [pending.connection_id], "pending events are kept"
        async with svc.db.transaction() as tx:
            assert await deliveries.prune(tx, before=now_us(), limit=10) == 0
    finally:
        await svc.close()


def test_prune_keeps_pending_events(database_url: str, tmp_path: Path) -> None:
    asyncio.run(_prune(database_url, tmp_path))

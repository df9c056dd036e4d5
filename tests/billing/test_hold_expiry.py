"""Holds expire: the sweeper releases a hold past its expiry and fails its request, on a running
server, without touching requests whose holds are still live (other replicas' calls)."""

from __future__ import annotations

from pathlib import Path

from lava_server.accounts.connections import create_connection
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import ledger
from lava_server.billing.prices import LivePrices
from lava_server.billing.product_config import ProductConfig
from lava_server.billing.reconcile import ORPHAN_ERROR, reconcile
from lava_server.billing.service import BillingService, ForwardPlan
from lava_server.context import open_services
from lava_server.settings import from_env


async def test_expired_hold_is_released_and_live_one_kept(database_url: str, tmp_path: Path) -> None:
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        m = await create_merchant(svc, "m", "test")
        key = await svc.keys.resolve(m.secret_key)
        assert key is not None
        con = await create_connection(svc, key)
        await svc.ledger.credit_wallet(con.wallet_id, "test", 10**10, source="granted_credit", key="c")
        billing = BillingService(svc.billing.deps, LivePrices(None))
        plan = ForwardPlan(
            merchant=key,
            connection_id=con.connection_id,
            wallet_id=con.wallet_id,
            product_id=None,
            product=ProductConfig(),
            provider="openai",
            pricing_id="openai",
            managed=True,
            model="gpt-4o-mini",
            endpoint="POST https://api.openai.com/v1/chat/completions",
            prompt_tokens_estimate=100,
            max_output_tokens=1000,
            connection_created_at=0,
        )
        stale = await billing.open(plan)
        live = await billing.open(plan)
        assert stale.hold_units > 0
        held = (await svc.ledger.wallet_balance(con.wallet_id)).held
        assert held == stale.hold_units + live.hold_units
        await svc.db.execute("UPDATE ledger_holds SET expires_at = 0 WHERE request_id = $1", stale.record.id)
        await svc.db.execute("UPDATE requests SET created_at = 0 WHERE id = $1", stale.record.id)

        assert await reconcile(svc.billing.deps, all_pending=False) == 1

        balance = await svc.ledger.wallet_balance(con.wallet_id)
        assert balance.held == live.hold_units  # the live call keeps its hold
        assert balance.balance == 10**10  # nothing was charged
        row = await svc.db.fetchone("SELECT status, error FROM requests WHERE id = $1", stale.record.id)
        assert row == {"status": "error", "error": ORPHAN_ERROR}
        hold = await svc.db.fetchone("SELECT status FROM ledger_holds WHERE request_id = $1", stale.record.id)
        assert hold == {"status": "expired"}
        # settling the expired call later (a slow upstream finally answered) charges nothing
        from lava_server.billing.fees import UnitCounts
        from lava_server.billing.service import Outcome

        await billing.settle(stale, Outcome(UnitCounts(input_tokens=5, output_tokens=5), None, None, None))
        assert (await svc.ledger.wallet_balance(con.wallet_id)).balance == 10**10
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()

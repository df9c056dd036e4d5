"""Races a review found (and that now hold on both backends): concurrent settlements with mixed
payers never deadlock; two connections sharing a wallet never push it below its floor; a
settlement that fails leaves the call unfinished so the caller fails it and frees the hold."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lava_server.accounts.connections import NewConnection, create_connection
from lava_server.accounts.merchants import create_merchant, create_product
from lava_server.billing import ledger
from lava_server.billing.fees import UnitCounts
from lava_server.billing.manual import record_manual
from lava_server.billing.prices import LivePrices
from lava_server.billing.product_config import ProductConfig, Tier
from lava_server.billing.service import BillingService, ForwardPlan, Outcome
from lava_server.context import Services, open_services
from lava_server.money import parse_amount
from lava_server.settings import from_env
from lava_server.store import StoreError, checkout_state
from lava_server.store.merchants import MerchantKey


async def setup(database_url: str, tmp_path: Path) -> tuple[Services, MerchantKey, BillingService]:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai/m": {"input_mtok": "2.50", "output_mtok": "10.00"}}))
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url, prices_file=prices))
    m = await create_merchant(svc, "m", "test")
    key = await svc.keys.resolve(m.secret_key)
    assert key is not None
    return svc, key, BillingService(svc.billing.deps, LivePrices(prices))


async def funded(svc: Services, key: MerchantKey, credit: str) -> NewConnection:
    con = await create_connection(svc, key)
    await svc.ledger.credit_wallet(
        con.wallet_id, "test", parse_amount(credit), source="granted_credit", key=f"g:{con.connection_id}"
    )
    return con


def plan(key: MerchantKey, con: NewConnection, product_id: str, config: ProductConfig) -> ForwardPlan:
    return ForwardPlan(
        merchant=key,
        connection_id=con.connection_id,
        wallet_id=con.wallet_id,
        product_id=product_id,
        product=config,
        provider="openai",
        pricing_id="openai",
        managed=True,
        model="m",
        endpoint="POST https://api.openai.com/v1/chat/completions",
        prompt_tokens_estimate=100,
        max_output_tokens=100,
    )


USED = Outcome(UnitCounts(input_tokens=100, output_tokens=100), None, "m", None)


async def test_mixed_payers_settle_concurrently_without_deadlock(database_url: str, tmp_path: Path) -> None:
    svc, key, billing = await setup(database_url, tmp_path)
    try:
        configs = [
            ProductConfig(tiers=(Tier(0, Decimal("0.001"), "requests"),), base_cost_payer=payer)
            for payer in ("wallet", "merchant")
        ]
        products = [(await create_product(svc, key, c)).product_id for c in configs]
        cons = [await funded(svc, key, "100") for _ in range(8)]

        async def call(i: int) -> None:
            which = i % 2
            res = await billing.open(plan(key, cons[i % 8], products[which], configs[which]))
            await billing.settle(res, USED)

        await asyncio.gather(*(call(i) for i in range(160)))
        assert await svc.db.fetchval("SELECT COUNT(*) FROM ledger_holds WHERE status = 'open'") == 0
        assert await svc.db.fetchval("SELECT COUNT(*) FROM requests WHERE status <> 'completed'") == 0
        report = await ledger.check(svc.db)
        assert report.ok, report.problems
    finally:
        await svc.close()


async def test_connections_sharing_a_wallet_never_overdraw_it(database_url: str, tmp_path: Path) -> None:
    svc, key, billing = await setup(database_url, tmp_path)
    try:
        config = ProductConfig(tiers=(Tier(0, Decimal("1"), "requests"),))  # $1 a request, floor 0
        product = await create_product(svc, key, config)
        for round_ in range(12):
            first = await funded(svc, key, "1")
            wallet = await checkout_state.get_wallet(svc.db, first.wallet_id)
            assert wallet is not None
            second = await create_connection(svc, key, wallet=wallet)

            async def one(con: NewConnection, i: int, r: int = round_) -> Any:
                body = {
                    "request_id": f"r{r}_{i}",
                    "connection_secret": con.connection_secret,
                    "product_secret": product.product_secret,
                }
                return await record_manual(svc.billing.deps, billing, key, body)

            await asyncio.gather(one(first, 1), one(second, 2))
            balance = await svc.ledger.wallet_balance(first.wallet_id)
            assert balance.available >= 0  # one request was paid by the wallet, the other by the merchant
        report = await ledger.check(svc.db)
        assert report.ok, report.problems
    finally:
        await svc.close()


async def test_a_failed_settlement_leaves_the_call_for_fail_to_release(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc, key, billing = await setup(database_url, tmp_path)
    try:
        config = ProductConfig()
        product = await create_product(svc, key, config)
        con = await funded(svc, key, "5")
        res = await billing.open(plan(key, con, product.product_id, config))
        real_write = svc.db.write

        async def broken(fn: Any) -> Any:
            raise StoreError("simulated: connection lost during settlement")

        monkeypatch.setattr(svc.db, "write", broken)
        with pytest.raises(StoreError):
            await billing.settle(res, USED)
        monkeypatch.setattr(svc.db, "write", real_write)
        assert res.finished is False
        assert res.record.status == "pending"  # nothing pretends the call was settled
        await billing.fail(res, "settlement failed")
        balance = await svc.ledger.wallet_balance(con.wallet_id)
        assert balance.held == 0
        assert balance.balance == parse_amount("5")
        row = await svc.db.fetchone("SELECT status FROM requests WHERE id = $1", res.record.id)
        assert row == {"status": "error"}
    finally:
        await svc.close()

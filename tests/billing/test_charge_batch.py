"""A charge's transfers go in one batch and its balances in one upsert (docs/decisions.md): a
replayed charge, a part replayed alone, a key twice in one batch and a conflicting replay all
move exactly what the one-transfer-at-a-time ledger moved, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from lava_server.accounts.connections import create_connection
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import ledger
from lava_server.context import Services, open_services
from lava_server.settings import from_env


async def _setup(database_url: str, tmp_path: Path) -> tuple[Services, str, str]:
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "data"), database_url=database_url))
    m = await create_merchant(svc, "m", "test")
    key = await svc.keys.resolve(m.secret_key)
    assert key is not None
    con = await create_connection(svc, key)
    await svc.ledger.credit_wallet(con.wallet_id, "test", 10_0000000000, source="granted_credit", key="grant")
    return svc, key.merchant_id, con.wallet_id


async def _post(svc: Services, merchant: str, wallet: str, rid: str, parts: list[ledger.ChargePart]) -> None:
    async with svc.db.transaction() as tx:
        await ledger.post_charge(
            svc.ledger, tx, request_id=rid, wallet_id=wallet, merchant_id=merchant, mode="test", parts=parts, floor=0
        )


async def _balances(svc: Services, merchant: str, wallet: str) -> tuple[int, int, int, int]:
    return (
        (await svc.ledger.wallet_balance(wallet)).balance,
        (await svc.ledger.balance(ledger.merchant_revenue_account(merchant, "test"))).balance,
        (await svc.ledger.balance(ledger.system_account("provider_cost", "test"))).balance,
        (await svc.ledger.balance(ledger.system_account("platform_service", "test"))).balance,
    )


async def test_replays_move_nothing_twice(database_url: str, tmp_path: Path) -> None:
    svc, merchant, wallet = await _setup(database_url, tmp_path)
    try:
        revenue = ledger.merchant_revenue_account(merchant, "test")
        base = ledger.ChargePart("base", 3_0000000000, "wallet", ledger.system_account("provider_cost", "test"))
        fee = ledger.ChargePart("fee", 1_0000000000, "wallet", revenue)
        service = ledger.ChargePart(
            "service_charge", 500000000, "merchant", ledger.system_account("platform_service", "test")
        )
        # First use: the revenue, provider-cost and platform accounts are created by the upsert.
        await _post(svc, merchant, wallet, "req_a", [base, fee, service])
        once = await _balances(svc, merchant, wallet)
        assert once == (6_0000000000, 1_0000000000 - 500000000, 3_0000000000, 500000000)
        await _post(svc, merchant, wallet, "req_a", [base, fee, service])  # the whole charge replayed
        assert await _balances(svc, merchant, wallet) == once
        # One part replayed alongside a new one: only the new one moves.
        extra = ledger.ChargePart("extra", 2000000000, "wallet", revenue)
        await _post(svc, merchant, wallet, "req_a", [base, extra])
        assert await _balances(svc, merchant, wallet) == (
            once[0] - 2000000000,
            once[1] + 2000000000,
            once[2],
            once[3],
        )
        # The same key twice in one batch is one transfer.
        dup = ledger.ChargePart("dup", 1000000000, "wallet", revenue)
        before = await _balances(svc, merchant, wallet)
        await _post(svc, merchant, wallet, "req_b", [dup, dup])
        after = await _balances(svc, merchant, wallet)
        assert (before[0] - after[0], after[1] - before[1]) == (1000000000, 1000000000)
        # A key reused for a different amount is refused and nothing of that charge stays.
        with pytest.raises(ledger.IdempotencyConflict):
            await _post(svc, merchant, wallet, "req_b", [ledger.ChargePart("dup", 7, "wallet", revenue)])
        assert await _balances(svc, merchant, wallet) == after
        report = await ledger.check(svc.db)
        assert report.ok, report.problems
    finally:
        await svc.close()

"""The store and the ledger on both backends (SQLite and a real PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from lava_server.accounts.connections import create_connection
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import ledger
from lava_server.context import Services, open_services
from lava_server.settings import from_env
from lava_server.store import UniqueViolation
from lava_server.store import connections as con_repo
from lava_server.store.migrate import available, migrate


async def services(database_url: str, tmp_path: Path) -> Services:
    return await open_services(from_env({}, data_dir=str(tmp_path / "data"), database_url=database_url))


async def test_migrations_apply_once(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        assert await migrate(svc.db) == []  # open_services already applied everything
        versions = await svc.db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in versions] == [m.version for m in available()]
    finally:
        await svc.close()


async def test_credit_is_idempotent_and_balanced(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        m = await create_merchant(svc, "m", "test")
        key = await svc.keys.resolve(m.secret_key)
        assert key is not None
        con = await create_connection(svc, key, reference_id="r")
        t1 = await svc.ledger.credit_wallet(con.wallet_id, "test", 5_0000000000, source="granted_credit", key="k1")
        t2 = await svc.ledger.credit_wallet(con.wallet_id, "test", 5_0000000000, source="granted_credit", key="k1")
        assert t1.created is True
        assert t2.created is False
        assert t2.id == t1.id
        await svc.ledger.credit_wallet(con.wallet_id, "test", 2_5000000000, source="external_funding", key="k2")
        bal = await svc.ledger.wallet_balance(con.wallet_id)
        assert bal.balance == 7_5000000000
        assert bal.available == 7_5000000000
        with pytest.raises(ledger.IdempotencyConflict):
            await svc.ledger.credit_wallet(con.wallet_id, "test", 1, source="granted_credit", key="k1")
        for bad in (0, -5):
            with pytest.raises(ledger.LedgerError):
                await svc.ledger.credit_wallet(con.wallet_id, "test", bad, source="granted_credit", key=f"bad{bad}")
        report = await ledger.check(svc.db)
        assert report.ok, report.problems
        assert report.totals_by_mode == {"test": 0}
        # funds in − charges out = Σ wallet balances
        funding = await svc.ledger.balance(ledger.system_account("external_funding", "test"))
        granted = await svc.ledger.balance(ledger.system_account("granted_credit", "test"))
        assert -(funding.balance + granted.balance) == bal.balance
        rec = await con_repo.get_connection(svc.db, key.merchant_id, "test", con.connection_id)
        assert rec is not None
        assert rec.balance == 7_5000000000
    finally:
        await svc.close()


async def test_failed_transaction_leaves_no_trace(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        m = await create_merchant(svc, "m", "test")
        key = await svc.keys.resolve(m.secret_key)
        assert key is not None
        con = await create_connection(svc, key)
        with pytest.raises(RuntimeError):
            async with svc.db.transaction() as tx:
                await svc.ledger.credit_wallet(con.wallet_id, "test", 10, source="granted_credit", key="gone", tx=tx)
                raise RuntimeError("crash between the transfer and the commit")
        assert (await svc.ledger.wallet_balance(con.wallet_id)).balance == 0
        assert await svc.db.fetchval("SELECT COUNT(*) FROM ledger_transfers WHERE idempotency_key = 'gone'") == 0
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()


async def test_check_detects_tampering(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        m = await create_merchant(svc, "m", "test")
        key = await svc.keys.resolve(m.secret_key)
        assert key is not None
        con = await create_connection(svc, key)
        await svc.ledger.credit_wallet(con.wallet_id, "test", 100, source="granted_credit", key="t")
        await svc.db.execute(
            "UPDATE ledger_accounts SET balance = balance + 1 WHERE id = $1", f"wallet:{con.wallet_id}"
        )
        report = await ledger.check(svc.db)
        assert report.ok is False
        assert any("sum of transfers" in p for p in report.problems)
        assert any("not 0" in p for p in report.problems)
    finally:
        await svc.close()


async def test_unique_violation_is_typed(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        await svc.db.execute("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)", "mer_x", "a", 1)
        with pytest.raises(UniqueViolation):
            await svc.db.execute("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)", "mer_x", "b", 2)
    finally:
        await svc.close()


async def test_concurrent_credits_are_serialised(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        m = await create_merchant(svc, "m", "test")
        key = await svc.keys.resolve(m.secret_key)
        assert key is not None
        con = await create_connection(svc, key)
        await asyncio.gather(
            *(
                svc.ledger.credit_wallet(con.wallet_id, "test", 3, source="granted_credit", key=f"c{i % 25}")
                for i in range(50)
            )
        )
        assert (await svc.ledger.wallet_balance(con.wallet_id)).balance == 25 * 3
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()


async def test_concurrent_writes_fail_alone(database_url: str, tmp_path: Path) -> None:
    """write() jobs may be committed as a group; one that raises must roll back alone."""
    svc = await services(database_url, tmp_path)
    try:

        def job(i: int):  # type: ignore[no-untyped-def]
            async def body(tx):  # type: ignore[no-untyped-def]
                await tx.execute(
                    "INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)", f"mer_g{i}", "g", i
                )
                if i % 3 == 0:
                    raise RuntimeError(f"job {i} fails after writing")
                return i

            return body

        results = await asyncio.gather(*(svc.db.write(job(i)) for i in range(60)), return_exceptions=True)
        failed = [r for r in results if isinstance(r, RuntimeError)]
        assert len(failed) == 20
        assert sorted(r for r in results if isinstance(r, int)) == [i for i in range(60) if i % 3]
        rows = await svc.db.fetchall("SELECT id FROM merchants WHERE id LIKE 'mer_g%'")
        assert sorted(r["id"] for r in rows) == sorted(f"mer_g{i}" for i in range(60) if i % 3)

        # a job that awaits something other than its tx is refused (it would stall the writer)
        async def sneaky(tx):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)

        if svc.db.backend == "sqlite":
            with pytest.raises(Exception, match="awaited something other"):
                await svc.db.write(sneaky)
    finally:
        await svc.close()

"""Stateful property tests directly on the ledger: random credits, holds, settles (close_hold +
post_charge), releases, and replays of idempotency keys and settle calls, checked against a
model after every step."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from lava_server.billing import ledger
from lava_server.context import Services, open_services
from lava_server.settings import from_env

MODE = "test"
MERCHANT = "mer_props"
amounts = st.integers(min_value=1, max_value=20_000)


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    svc: Services

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)


@dataclass
class WalletModel:
    wallet_id: str
    floor: int
    balance: int = 0
    holds: dict[str, int] = field(default_factory=dict)  # open holds


def _harness(data_dir: Path, database_url: str) -> Iterator[Harness]:
    loop = asyncio.new_event_loop()
    svc = loop.run_until_complete(open_services(from_env({}, data_dir=str(data_dir), database_url=database_url)))
    try:
        yield Harness(loop, svc)
    finally:
        loop.run_until_complete(svc.close())
        loop.close()


class LedgerMachine(RuleBasedStateMachine):
    h: Harness

    def __init__(self) -> None:
        super().__init__()
        tag = uuid.uuid4().hex[:10]
        self.wallets = [WalletModel(f"wal_{tag}_{i}", floor) for i, floor in enumerate((0, 5_000))]
        self.credits: dict[str, tuple[int, int]] = {}  # key → (wallet index, amount)
        self.settled: list[tuple[str, int]] = []  # (request id, wallet index)
        self.closed: list[str] = []
        self.n = 0
        self.tag = tag

    # -- helpers --------------------------------------------------------------------
    def _db(self) -> Any:
        return self.h.svc.db

    def _snapshot(self) -> list[tuple[str, int, int]]:
        rows = self.h.run(self._db().fetchall("SELECT id, balance, held FROM ledger_accounts ORDER BY id"))
        return [(r["id"], int(r["balance"]), int(r["held"])) for r in rows]

    def _open_hold(self, request_id: str) -> tuple[int, int] | None:
        for i, w in enumerate(self.wallets):
            if request_id in w.holds:
                return i, w.holds[request_id]
        return None

    # -- rules ----------------------------------------------------------------------
    @rule(w=st.integers(0, 1), amount=amounts, slot=st.integers(0, 5))
    def credit(self, w: int, amount: int, slot: int) -> None:
        key = f"fund:{self.tag}:{slot}"
        wallet = self.wallets[w]
        before = self._snapshot()
        try:
            t = self.h.run(
                self.h.svc.ledger.credit_wallet(wallet.wallet_id, MODE, amount, source="granted_credit", key=key)
            )
        except ledger.IdempotencyConflict:
            assert key in self.credits and self.credits[key] != (w, amount)
            assert self._snapshot() == before
            return
        if key in self.credits:
            assert self.credits[key] == (w, amount)
            assert t.created is False
            assert self._snapshot() == before  # a replay never moves money
        else:
            assert t.created is True
            self.credits[key] = (w, amount)
            wallet.balance += amount

    @rule(w=st.integers(0, 1), amount=st.integers(min_value=0, max_value=20_000))
    def hold(self, w: int, amount: int) -> None:
        wallet = self.wallets[w]
        self.n += 1
        rid = f"req_{self.tag}_{self.n}"
        available = wallet.balance - sum(wallet.holds.values())
        should_fit = available - amount >= -wallet.floor

        async def go() -> None:
            await self.h.svc.ledger.open_wallet_account(self._db(), wallet.wallet_id, MODE)
            async with self._db().transaction() as tx:
                await ledger.place_hold(
                    tx,
                    wallet_id=wallet.wallet_id,
                    request_id=rid,
                    amount=amount,
                    floor=wallet.floor,
                    at=1,
                    expires_at=2,
                )

        try:
            self.h.run(go())
        except ledger.InsufficientFunds as exc:
            assert not should_fit
            assert exc.amount == amount and exc.available == available + wallet.floor
            return
        assert should_fit
        wallet.holds[rid] = amount

    @precondition(lambda self: any(w.holds for w in self.wallets))
    @rule(
        data=st.data(),
        base=amounts,
        fee=amounts,
        svc=st.integers(0, 500),
        svc_payer=st.sampled_from(["wallet", "merchant"]),
    )
    def settle(self, data: st.DataObject, base: int, fee: int, svc: int, svc_payer: str) -> None:
        rid = data.draw(st.sampled_from(sorted(r for w in self.wallets for r in w.holds)))
        found = self._open_hold(rid)
        assert found is not None
        w, held = found
        wallet = self.wallets[w]
        result = self.h.run(self._settle(rid, wallet, base, fee, svc, svc_payer))
        assert result is not None
        del wallet.holds[rid]
        capacity = max(wallet.balance - sum(wallet.holds.values()) + wallet.floor, 0)
        wallet_parts = base + fee + (svc if svc_payer == "wallet" else 0)
        paid = min(wallet_parts, capacity)
        assert result.wallet_paid == paid
        assert result.shortfall == wallet_parts - paid
        wallet.balance -= paid
        self.settled.append((rid, w))
        self.closed.append(rid)

    async def _settle(
        self, rid: str, wallet: WalletModel, base: int, fee: int, svc: int, svc_payer: str
    ) -> ledger.ChargeResult | None:
        parts = [
            ledger.ChargePart("base", base, "wallet", ledger.system_account("provider_cost", MODE)),
            ledger.ChargePart("fee", fee, "wallet", ledger.merchant_revenue_account(MERCHANT, MODE)),
            ledger.ChargePart("service_charge", svc, svc_payer, ledger.system_account("platform_service", MODE)),
        ]
        async with self._db().transaction() as tx:
            if not await ledger.close_hold(tx, rid, "settled", 3):
                return None  # the guard: a finished hold is never charged again
            return await ledger.post_charge(
                self.h.svc.ledger,
                tx,
                request_id=rid,
                wallet_id=wallet.wallet_id,
                merchant_id=MERCHANT,
                mode=MODE,
                parts=parts,
                floor=wallet.floor,
            )

    @precondition(lambda self: any(w.holds for w in self.wallets))
    @rule(data=st.data(), status=st.sampled_from(["released", "expired"]))
    def release(self, data: st.DataObject, status: str) -> None:
        rid = data.draw(st.sampled_from(sorted(r for w in self.wallets for r in w.holds)))
        found = self._open_hold(rid)
        assert found is not None

        async def go() -> bool:
            async with self._db().transaction() as tx:
                return await ledger.close_hold(tx, rid, status, 3)

        assert self.h.run(go()) is True
        del self.wallets[found[0]].holds[rid]
        self.closed.append(rid)

    @precondition(lambda self: bool(self.closed))
    @rule(data=st.data(), base=amounts, fee=amounts)
    def replay_finish(self, data: st.DataObject, base: int, fee: int) -> None:
        """A retried / racing settle, release or expiry of a finished request changes nothing."""
        rid = data.draw(st.sampled_from(self.closed))
        before = self._snapshot()
        assert self.h.run(self._settle(rid, self.wallets[0], base, fee, 0, "wallet")) is None

        async def release() -> bool:
            async with self._db().transaction() as tx:
                return await ledger.close_hold(tx, rid, "released", 4)

        assert self.h.run(release()) is False
        assert self._snapshot() == before

    @precondition(lambda self: bool(self.settled))
    @rule(data=st.data())
    def replay_transfer_keys(self, data: st.DataObject) -> None:
        """Re-posting a request's transfers under their own keys is a no-op; different params conflict."""
        rid, _ = data.draw(st.sampled_from(self.settled))
        rows = self.h.run(
            self._db().fetchall(
                "SELECT idempotency_key, debit_account, credit_account, amount, kind FROM ledger_transfers"
                " WHERE request_id = $1",
                rid,
            )
        )
        before = self._snapshot()
        for r in rows:

            async def post(amount: int, r: Any = r) -> ledger.Transfer:
                async with self._db().transaction() as tx:
                    return await self.h.svc.ledger.transfer(
                        tx,
                        key=r["idempotency_key"],
                        debit=r["debit_account"],
                        credit=r["credit_account"],
                        amount=amount,
                        kind=r["kind"],
                        request_id=rid,
                    )

            assert self.h.run(post(int(r["amount"]))).created is False
            with pytest.raises(ledger.IdempotencyConflict):
                self.h.run(post(int(r["amount"]) + 1))
        assert self._snapshot() == before

    # -- invariants -----------------------------------------------------------------
    @invariant()
    def ledger_matches_model(self) -> None:
        for w in self.wallets:
            account = ledger.wallet_account(w.wallet_id)
            row = self.h.run(self._db().fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account))
            balance, held = (int(row["balance"]), int(row["held"])) if row else (0, 0)
            assert balance == w.balance
            assert held == sum(w.holds.values()) >= 0
            db_open = self.h.run(
                self._db().fetchval(
                    "SELECT COALESCE(SUM(amount), 0) FROM ledger_holds WHERE account_id = $1 AND status = 'open'",
                    account,
                )
            )
            assert int(db_open) == held
            assert balance - held >= -w.floor
            sums = self.h.run(
                self._db().fetchone(
                    "SELECT"
                    " COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE credit_account = $1), 0) AS c,"
                    " COALESCE((SELECT SUM(amount) FROM ledger_transfers WHERE debit_account = $1), 0) AS d",
                    account,
                )
            )
            assert int(sums["c"]) - int(sums["d"]) == balance

    @invariant()
    def global_check(self) -> None:
        report = self.h.run(ledger.check(self._db()))
        # check() takes a wallet's floor from its connection's products; these bare test wallets
        # have none, so the overdraft wallets (suffix _1, floor 5000) are checked by ledger_matches_model.
        problems = [p for p in report.problems if not (p.startswith("wallet:wal_") and "_1: available" in p)]
        assert problems == [], problems
        assert all(total == 0 for total in report.totals_by_mode.values())


def _run(h: Harness, examples: int) -> None:
    LedgerMachine.h = h
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


def test_ledger_state_machine_sqlite(tmp_path: Path) -> None:
    for h in _harness(tmp_path, f"sqlite:///{tmp_path / 'lava.db'}"):
        _run(h, 40)


def test_ledger_state_machine_postgres(tmp_path: Path, postgres_database_url: str) -> None:
    for h in _harness(tmp_path, postgres_database_url):
        _run(h, 15)

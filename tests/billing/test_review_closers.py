"""Review of how the closers interact with the side holds of a spend-key call (tonight's review).

A spend-key call (the merchant pays, no customer wallet) leaves a ``spend_key_holds`` row and,
for a merchant that enforces its wallet, a ``merchant_wallet_holds`` row. Every closer — the
lease take-over (``instances.close_pending``) and the hold sweeper (``reconcile``) — must drop
them with the request, and a settlement arriving after the request was closed (a slow upstream,
a replayed journal entry) must charge nothing, exactly as for a wallet call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lava_server.accounts import spend_keys as domain
from lava_server.accounts.merchants import create_merchant
from lava_server.billing import ledger
from lava_server.billing.fees import UnitCounts
from lava_server.billing.instances import close_pending
from lava_server.billing.prices import LivePrices
from lava_server.billing.reconcile import reconcile
from lava_server.billing.service import BillingService, ForwardPlan, Outcome
from lava_server.clock import now_us
from lava_server.context import open_services
from lava_server.settings import from_env

USD = 10**10


async def _setup(svc: Any) -> tuple[BillingService, ForwardPlan, str, str]:
    m = await create_merchant(svc, "m", "test")
    key = await svc.keys.resolve(m.secret_key)
    assert key is not None
    rec, _raw = await domain.create_key(svc, key, {"name": "agent", "spend_limit": {"amount": "1", "cycle": "total"}})
    await svc.db.execute("UPDATE merchants SET enforce_merchant_wallet = 1 WHERE id = $1", key.merchant_id)
    # fund the merchant wallet so the enforcing check admits the call
    revenue = ledger.merchant_revenue_account(key.merchant_id, "test")
    funding = ledger.system_account("external_funding", "test")
    async with svc.db.transaction() as tx:
        await ledger.ensure_accounts(
            tx, [(revenue, "merchant_revenue", "test", key.merchant_id), (funding, "external_funding", "test", None)]
        )
        await svc.ledger.transfer(tx, key="fund-merchant", debit=funding, credit=revenue, amount=USD, kind="test")
    billing = BillingService(svc.billing.deps, LivePrices(None))
    billing._instance_id = "ins_dead"  # opened by a boot that will be taken over
    plan = ForwardPlan(
        merchant=key,
        connection_id=None,
        wallet_id=None,
        product_id=None,
        product=None,
        provider="openai",
        pricing_id="openai",
        managed=True,
        model="gpt-4o-mini",
        endpoint="POST https://api.openai.com/v1/chat/completions",
        prompt_tokens_estimate=100,
        max_output_tokens=1000,
        token_form="merchant",
        spend_key_id=rec.id,
    )
    return billing, plan, rec.id, revenue


async def _side_holds(svc: Any, request_id: str) -> tuple[list[str], int]:
    spend = await svc.db.fetchall("SELECT status FROM spend_key_holds WHERE request_id = $1", request_id)
    merchant = await svc.db.fetchval("SELECT COUNT(*) FROM merchant_wallet_holds WHERE request_id = $1", request_id)
    return [r["status"] for r in spend], int(merchant)


@pytest.mark.parametrize("closer", ["takeover", "sweeper"])
async def test_closed_spend_key_call_releases_side_holds_and_late_settle_charges_nothing(
    closer: str, database_url: str, tmp_path: Path
) -> None:
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        billing, plan, key_id, revenue = await _setup(svc)
        res = await billing.open(plan)
        assert await _side_holds(svc, res.record.id) == (["held"], 1)
        if closer == "takeover":
            assert await close_pending(billing, "ins_dead") == 1
        else:
            await svc.db.execute("UPDATE requests SET created_at = 0 WHERE id = $1", res.record.id)
            assert await reconcile(svc.billing.deps, all_pending=False) == 1
        # the closed call no longer counts against the key or the merchant wallet
        assert await _side_holds(svc, res.record.id) == (["released"], 0)
        before = await svc.db.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", revenue)
        # the upstream finally answers (or a journal entry is replayed): nothing may be charged
        await billing.settle_now(res, Outcome(UnitCounts(input_tokens=1000, output_tokens=1000), None, None, None))
        row = await svc.db.fetchone("SELECT status, total_merchant_cost FROM requests WHERE id = $1", res.record.id)
        assert row is not None and row["status"] == "error"
        assert await svc.db.fetchval("SELECT balance FROM ledger_accounts WHERE id = $1", revenue) == before
        transfers = await svc.db.fetchval("SELECT COUNT(*) FROM ledger_transfers WHERE request_id = $1", res.record.id)
        assert int(transfers) == 0
        spent = await svc.db.fetchone("SELECT total_spend, total_requests FROM spend_keys WHERE id = $1", key_id)
        assert spent is not None and (int(spent["total_spend"]), int(spent["total_requests"])) == (0, 0)
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()


async def test_settled_spend_key_call_settles_once(database_url: str, tmp_path: Path) -> None:
    """The guard must not stop the normal path: one settle charges, a second is a no-op."""
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        billing, plan, key_id, revenue = await _setup(svc)
        res = await billing.open(plan)
        outcome = Outcome(UnitCounts(input_tokens=1000, output_tokens=1000), None, None, None)
        first = await billing.settle_now(res, outcome)
        assert first.status == "completed" and (first.total_merchant_cost or 0) > 0
        await billing.settle_now(res, outcome)
        spent = await svc.db.fetchone("SELECT total_spend, total_requests FROM spend_keys WHERE id = $1", key_id)
        assert spent is not None and int(spent["total_requests"]) == 1
        assert await _side_holds(svc, res.record.id) == (["settled"], 0)
        assert now_us() > 0 and (await ledger.check(svc.db)).ok
    finally:
        await svc.close()


async def test_ledger_check_flags_charges_and_holds_of_finished_requests(database_url: str, tmp_path: Path) -> None:
    """``lava ledger check`` sees what the closers used to leave behind: side holds of a closed
    request, and charge transfers on a request that is not completed."""
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        billing, plan, _key_id, _revenue = await _setup(svc)
        open_call = await billing.open(plan)
        # what the take-over did before: the request closed, its side holds left open
        await svc.db.execute("UPDATE requests SET status = 'error' WHERE id = $1", open_call.record.id)
        report = await ledger.check(svc.db)
        assert not report.ok
        assert any("spend_key_holds" in p and open_call.record.id in p for p in report.problems)
        assert any("merchant_wallet_holds" in p and open_call.record.id in p for p in report.problems)
        await billing.fail_now(open_call, "cleanup")  # releases the side holds (the row is no longer pending)
        await svc.db.execute("DELETE FROM merchant_wallet_holds WHERE request_id = $1", open_call.record.id)
        await svc.db.execute(
            "UPDATE spend_key_holds SET status = 'released' WHERE request_id = $1", open_call.record.id
        )
        assert (await ledger.check(svc.db)).ok
        # a charged call whose record says it failed
        charged = await billing.open(plan)
        await billing.settle_now(charged, Outcome(UnitCounts(input_tokens=10, output_tokens=10), None, None, None))
        assert (await ledger.check(svc.db)).ok
        await svc.db.execute("UPDATE requests SET status = 'error' WHERE id = $1", charged.record.id)
        report = await ledger.check(svc.db)
        assert any("charge transfer" in p and charged.record.id in p for p in report.problems)
    finally:
        await svc.close()


async def test_ledger_check_matches_merchant_debits_to_records(database_url: str, tmp_path: Path) -> None:
    """A spend-key call's merchant debit must equal its recorded ``total_merchant_cost``."""
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        billing, plan, _key_id, _revenue = await _setup(svc)
        res = await billing.open(plan)
        final = await billing.settle_now(res, Outcome(UnitCounts(input_tokens=10, output_tokens=10), None, None, None))
        assert (final.total_merchant_cost or 0) > 0 and (await ledger.check(svc.db)).ok
        await svc.db.execute("UPDATE requests SET total_merchant_cost = 0 WHERE id = $1", res.record.id)
        report = await ledger.check(svc.db)
        assert any("merchant transfers" in p and res.record.id in p for p in report.problems)
    finally:
        await svc.close()


async def test_byok_spend_key_counts_a_stored_response_once(database_url: str, tmp_path: Path) -> None:
    """Polling one stored response (OpenAI Responses background mode) with a spend key counts its
    cost once, with the merchant's own provider key as with the operator's (test_background_fetch)."""
    svc = await open_services(from_env({}, data_dir=str(tmp_path / "d"), database_url=database_url))
    try:
        billing, plan, key_id, _revenue = await _setup(svc)
        poll = ForwardPlan(
            **{
                **{f: getattr(plan, f) for f in plan.__dataclass_fields__},
                "managed": False,
                "model": None,
                "refetchable_response": True,
                "action": "fetch",
                "fetched_response_id": "resp_bg_1",
                "endpoint": "GET https://api.openai.com/v1/responses/resp_bg_1",
            }
        )
        usage = Outcome(UnitCounts(input_tokens=1000, output_tokens=500), None, "gpt-4o-mini", "resp_bg_1")
        costs = []
        for _ in range(3):
            final = await billing.settle_now(await billing.open(poll), usage)
            costs.append(final.base_cost or 0)
        spent = await svc.db.fetchone("SELECT total_spend, total_requests FROM spend_keys WHERE id = $1", key_id)
        assert spent is not None and int(spent["total_requests"]) == 3
        assert costs[0] > 0
        assert int(spent["total_spend"]) == costs[0]  # the first poll that carried usage, only
        assert (await ledger.check(svc.db)).ok
    finally:
        await svc.close()

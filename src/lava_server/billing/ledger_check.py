"""``lava ledger check``: verify every invariant stated at the top of ``ledger.py``."""

from __future__ import annotations

from dataclasses import dataclass

from ..store import Database, Executor
from .accounts import wallet_account


@dataclass(frozen=True)
class CheckReport:
    ok: bool
    accounts: int
    transfers: int
    problems: list[str]
    totals_by_mode: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "accounts": self.accounts,
            "transfers": self.transfers,
            "sum_by_mode": self.totals_by_mode,
            "problems": self.problems,
        }


async def check(db: Database) -> CheckReport:
    """Verify every ledger invariant listed in the module docstring, on one consistent snapshot
    (PostgreSQL: a REPEATABLE READ transaction; SQLite: the single writer, so no write interleaves)."""
    async with db.transaction() as tx:
        if db.backend == "postgres":
            await tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return await _check(tx)


async def _check(db: Executor) -> CheckReport:
    problems: list[str] = []
    accounts = await db.fetchall("SELECT id, kind, mode, owner_id, balance, held FROM ledger_accounts")
    sums = await db.fetchall(
        "SELECT a.id AS id,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account = a.id), 0) AS credits,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account = a.id), 0) AS debits"
        " FROM ledger_accounts a"
    )
    by_id = {r["id"]: int(r["credits"]) - int(r["debits"]) for r in sums}
    totals: dict[str, int] = {}
    for acc in accounts:
        bal, held = int(acc["balance"]), int(acc["held"])
        if by_id.get(acc["id"], 0) != bal:
            problems.append(f"{acc['id']}: balance {bal} != sum of transfers {by_id.get(acc['id'], 0)}")
        if held < 0:
            problems.append(f"{acc['id']}: negative held {held}")
        totals[acc["mode"]] = totals.get(acc["mode"], 0) + bal
    for mode, total in totals.items():
        if total != 0:
            problems.append(f"mode {mode}: balances sum to {total}, not 0")
    problems += await _check_holds_and_floors(db, accounts)
    problems += await _check_request_transfers(db)
    problems += await _check_finished_requests(db)
    from .credits_check import check_credits

    problems += await check_credits(db, accounts)
    transfers = int(await db.fetchval("SELECT COUNT(*) FROM ledger_transfers") or 0)
    return CheckReport(not problems, len(accounts), transfers, problems, totals)


async def _check_holds_and_floors(db: Executor, accounts: list[dict[str, object]]) -> list[str]:
    from .product_config import ProductConfig

    problems: list[str] = []
    open_holds = await db.fetchall(
        "SELECT account_id, SUM(amount) AS total FROM ledger_holds WHERE status = 'open' GROUP BY account_id"
    )
    held_by_holds = {r["account_id"]: int(r["total"]) for r in open_holds}
    floors: dict[str, int] = {}
    for row in await db.fetchall(
        "SELECT c.wallet_id, p.config FROM connections c JOIN products p ON p.merchant_id = c.merchant_id AND p.mode = c.mode"
    ):
        floor = ProductConfig.from_json(row["config"]).overdraft_floor_units
        key = wallet_account(row["wallet_id"])
        floors[key] = max(floors.get(key, 0), floor)
    credit: dict[str, int] = {}
    for acc in accounts:
        if acc["kind"] in ("credit_cycle", "credit_bundle"):  # wallet:<wal>:cycle|bundle:<con>
            wallet_id = str(acc["id"]).split(":")[1]
            credit[wallet_id] = credit.get(wallet_id, 0) + int(acc["balance"])  # type: ignore[call-overload]
    for wallet_id, total in credit.items():  # a plan customer's holds may reserve its credits too
        key = wallet_account(wallet_id)
        floors[key] = floors.get(key, 0) + max(total, 0)
    for acc in accounts:
        if acc["kind"] != "wallet":
            continue
        account_id = str(acc["id"])
        held = int(acc["held"])  # type: ignore[call-overload]
        balance = int(acc["balance"])  # type: ignore[call-overload]
        if held != held_by_holds.get(account_id, 0):
            problems.append(f"{account_id}: held {held} != open holds {held_by_holds.get(account_id, 0)}")
        if balance - held < -floors.get(account_id, 0):
            problems.append(f"{account_id}: available {balance - held} is below its floor -{floors.get(account_id, 0)}")
    return problems


async def _check_request_transfers(db: Executor) -> list[str]:
    rows = await db.fetchall(
        "SELECT r.id, r.total_wallet_cost,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t"
        "  WHERE t.request_id = r.id AND t.debit_account LIKE 'wallet:%'), 0) AS wallet_paid"
        " FROM requests r WHERE r.status = 'completed' AND r.connection_id IS NOT NULL"
    )
    problems = [
        f"request {r['id']}: wallet transfers {int(r['wallet_paid'])} != total_wallet_cost {int(r['total_wallet_cost'])}"
        for r in rows
        if int(r["wallet_paid"]) != int(r["total_wallet_cost"])
    ]
    # A call that debits no customer (spend keys, metering tokens): the merchant's debit is its cost.
    rows = await db.fetchall(
        "SELECT r.id, COALESCE(r.total_merchant_cost, 0) AS recorded,"
        " COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.request_id = r.id), 0) AS moved"
        " FROM requests r WHERE r.status = 'completed' AND r.connection_id IS NULL"
    )
    problems += [
        f"request {r['id']}: merchant transfers {int(r['moved'])} != total_merchant_cost {int(r['recorded'])}"
        for r in rows
        if int(r["moved"]) != int(r["recorded"])
    ]
    return problems


async def _check_finished_requests(db: Executor) -> list[str]:
    """Only a completed request carries charge transfers, and a finished (not ``pending``) request
    holds nothing: no open wallet hold, no spend-key hold still ``held``, no merchant-wallet hold."""
    problems = [
        f"request {r['id']} is {r['status']} but has {int(r['n'])} charge transfer(s)"
        for r in await db.fetchall(
            "SELECT r.id, r.status, COUNT(*) AS n FROM requests r JOIN ledger_transfers t ON t.request_id = r.id"
            " WHERE r.status <> 'completed' GROUP BY r.id, r.status"
        )
    ]
    for table, open_status in (
        ("ledger_holds", " AND h.status = 'open'"),
        ("spend_key_holds", " AND h.status = 'held'"),
        ("merchant_wallet_holds", ""),
    ):
        rows = await db.fetchall(
            f"SELECT r.id, r.status FROM {table} h JOIN requests r ON r.id = h.request_id"
            f" WHERE r.status <> 'pending'{open_status}"
        )
        problems += [f"request {r['id']} is {r['status']} but its {table} row is still open" for r in rows]
    return problems

"""``lava ledger check`` for plan credits (issue 10): the invariants ``billing/credits.py`` keeps.

1. Bundle credits are never negative (debt lives only on cycle credits, docs/plans.md).
2. No hold sits on a credit sub-account (holds are on the wallet row).
3. Every transfer touching a credit sub-account or an issuer is a grant, a forfeit or a request's
   charge drawn from credits (with its request id); nothing else moves plan credits.
4. Each merchant's ``credit_issued`` balance is exactly minus the credits its customers hold:
   no credit appears or vanishes (a forfeit is a transfer back, never a reset).
5. A subscription never got more cycle grants or plan payments than cycles it has had
   (``cycle_number`` + 1): grants and payments are exactly-once per cycle (keys carry both).
"""

from __future__ import annotations

from typing import Any

from ..store import Executor

CREDIT_KINDS = ("credit_cycle", "credit_bundle")
MOVES = ("cycle_grant", "bundle_grant", "credit_forfeit")


async def check_credits(db: Executor, accounts: list[dict[str, Any]]) -> list[str]:
    """Every problem found, as text (empty when all hold)."""
    problems: list[str] = []
    kinds = {str(a["id"]): str(a["kind"]) for a in accounts}
    held_by_customers: dict[str, int] = {}
    owners = {
        r["id"]: f"credit_issued:{r['merchant_id']}:{r['mode']}"
        for r in await db.fetchall("SELECT id, merchant_id, mode FROM connections")
    }
    for acc in accounts:
        if acc["kind"] == "credit_bundle" and int(acc["balance"]) < 0:
            problems.append(f"{acc['id']}: bundle credits are negative ({int(acc['balance'])})")
        if acc["kind"] in CREDIT_KINDS:
            if int(acc["held"]) != 0:
                problems.append(f"{acc['id']}: a credit sub-account carries a hold ({int(acc['held'])})")
            issuer = owners.get(str(acc["owner_id"]), "?")
            held_by_customers[issuer] = held_by_customers.get(issuer, 0) + int(acc["balance"])
    for acc in accounts:
        if acc["kind"] == "credit_issued" and int(acc["balance"]) != -held_by_customers.get(str(acc["id"]), 0):
            problems.append(
                f"{acc['id']}: balance {int(acc['balance'])} != minus the credits its customers hold"
                f" ({held_by_customers.get(str(acc['id']), 0)})"
            )
    rows = await db.fetchall(
        "SELECT idempotency_key, kind, request_id, debit_account, credit_account FROM ledger_transfers"
        " WHERE debit_account LIKE 'credit_issued:%' OR credit_account LIKE 'credit_issued:%'"
    )
    for r in rows:
        other = r["credit_account"] if str(r["debit_account"]).startswith("credit_issued:") else r["debit_account"]
        if kinds.get(str(other)) not in CREDIT_KINDS:
            problems.append(f"transfer {r['idempotency_key']}: credit issued to a non-credit account {other}")
        elif r["kind"] not in MOVES and r["request_id"] is None:
            problems.append(f"transfer {r['idempotency_key']}: kind {r['kind']} may not move plan credits")
    counts = await db.fetchall(
        "SELECT s.id, s.cycle_number,"
        " (SELECT COUNT(*) FROM ledger_transfers t WHERE t.kind = 'cycle_grant'"
        "   AND t.idempotency_key LIKE 'sub:' || s.id || ':cycle:%') AS grants,"
        " (SELECT COUNT(*) FROM ledger_transfers t WHERE t.kind = 'plan_payment'"
        "   AND t.idempotency_key LIKE 'sub:' || s.id || ':cycle:%') AS payments"
        " FROM subscriptions s"
    )
    for c in counts:
        allowed = int(c["cycle_number"]) + 1
        if int(c["grants"]) > allowed or int(c["payments"]) > allowed:
            problems.append(
                f"subscription {c['id']}: {int(c['grants'])} grants / {int(c['payments'])} payments"
                f" for {allowed} cycles"
            )
    return problems

"""``lava ledger check`` for plan credits (issue 10): the invariants ``billing/credits.py`` keeps.

1. Bundle credits are never negative (debt lives only on cycle credits, spec §4.5).
2. No held amount sits on a credit sub-account (holds are on the wallet row).
3. Credit sub-accounts move only through the credit kinds and request charges: every transfer
   touching one is ``cycle_grant``, ``bundle_grant``, ``credit_forfeit`` or a request's charge part.
4. ``credit_issued`` only issues credit to, and takes forfeits from, credit sub-accounts.
5. A subscription never got more cycle grants or plan payments than cycles it has had
   (``cycle_number`` + 1), and a top-up sequence never paid twice: grants and payments are
   exactly-once per cycle (their keys carry subscription and cycle).
"""

from __future__ import annotations

from typing import Any

from ..store import Executor

CREDIT_KINDS = ("credit_cycle", "credit_bundle")
MOVES = ("cycle_grant", "bundle_grant", "credit_forfeit")


async def check_credits(db: Executor, accounts: list[dict[str, Any]]) -> list[str]:
    """Every problem found, as text (empty when all hold)."""
    problems: list[str] = []
    for acc in accounts:
        if acc["kind"] == "credit_bundle" and int(acc["balance"]) < 0:
            problems.append(f"{acc['id']}: bundle credits are negative ({int(acc['balance'])})")
        if acc["kind"] in CREDIT_KINDS and int(acc["held"]) != 0:
            problems.append(f"{acc['id']}: a credit sub-account carries a hold ({int(acc['held'])})")
    rows = await db.fetchall(
        "SELECT t.idempotency_key, t.kind, t.request_id, t.debit_account, t.credit_account FROM ledger_transfers t"
        " WHERE t.debit_account LIKE 'wallet:%:%' OR t.credit_account LIKE 'wallet:%:%'"
        " OR t.debit_account LIKE 'credit_issued:%' OR t.credit_account LIKE 'credit_issued:%'"
    )
    for r in rows:
        touches_credit = ":" in str(r["debit_account"]).removeprefix("wallet:") and str(r["debit_account"]).startswith(
            "wallet:"
        )
        if r["kind"] in MOVES:
            continue
        if touches_credit and r["request_id"] is not None:
            continue  # a request's charge drawn from credits
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

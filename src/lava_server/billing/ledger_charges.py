"""Posting a request's charge: wallet-paid parts down to the floor, the rest by the merchant or
from plan credits, as keyed transfers in the caller's transaction. Re-exported by :mod:`.ledger`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..ids import Mode
from ..store import Executor
from .accounts import merchant_revenue_account, system_account, wallet_account
from .ledger_rows import Balance, Move, apply_deltas, deltas_of, lock_balance, upsert_deltas

if TYPE_CHECKING:
    from .ledger import Ledger
    from .ledger_credits import CreditSources


@dataclass(frozen=True)
class ChargePart:
    """One component of a request's charge: who pays, who receives, how much, under which key."""

    name: str  # "base" | "fee" | "service_charge"
    amount: int
    payer: str  # "wallet" | "merchant"
    credit: str  # the receiving account


@dataclass(frozen=True)
class ChargeResult:
    wallet_paid: int
    merchant_paid: int
    shortfall: int  # wallet-payer amounts the wallet could not cover, paid by the merchant instead
    balance: Balance


async def post_charge(
    ledger: Ledger,
    tx: Executor,
    *,
    request_id: str,
    wallet_id: str,
    merchant_id: str,
    mode: Mode,
    parts: list[ChargePart],
    floor: int,
    credits: CreditSources | None = None,
    locked: Balance | None = None,
) -> ChargeResult:
    """Post a request's charge. Wallet-paid parts draw on the wallet down to ``−floor``;
    whatever the wallet cannot cover is paid by the merchant (recorded as shortfall), so a
    wallet never ends below its floor and no money appears or vanishes.

    With ``credits`` (a plan customer, docs/plans.md) wallet-paid parts draw cycle credits, then
    bundle credits, then the prepaid wallet, and the rest as debt on the cycle credits (§4.5):
    no shortfall.


    ``locked``: the wallet's balance as :func:`lock_balance` returned it earlier in this same
    transaction (the caller already holds the row lock); saves re-reading it.

    Statements: the transfers are one multi-row ``INSERT`` and every balance change (creating a
    receiving account on first use) is one multi-row upsert, so a charge costs two statements
    whatever its number of parts (docs/benchmarks.md, lever 1)."""
    wallet = wallet_account(wallet_id)
    revenue = merchant_revenue_account(merchant_id, mode)
    # Lock order, the same in every transaction that charges: the wallet first, then the
    # other accounts in id order (apply_deltas / upsert_deltas).
    current = locked if locked is not None else await lock_balance(tx, wallet)
    kinds: dict[str, tuple[str, str | None]] = {
        wallet: ("wallet", wallet_id),
        revenue: ("merchant_revenue", merchant_id),
        system_account("provider_cost", mode): ("provider_cost", None),
        system_account("platform_service", mode): ("platform_service", None),
    }
    capacity = max(current.available + floor, 0)
    wallet_paid = merchant_paid = shortfall = 0
    moves: list[Move] = []

    def move(debit: str, credit: str, amount: int, name: str, side: str) -> None:
        moves.append(Move(f"req:{request_id}:{name}:{side}", debit, credit, amount, name))

    if credits is not None:
        # Plan customer: cycle → bundle → prepaid, the rest as cycle debt (docs/plans.md).
        left = {"cycle": max(credits.cycle_balance, 0), "bundle": max(credits.bundle_balance, 0), "wallet": capacity}
        # Credits redeem to their issuer (the merchant was paid when they were bought); prepaid
        # money goes where the part says.
        sources = {"cycle": credits.cycle_account, "bundle": credits.bundle_account, "wallet": wallet}
        for part in [p for p in parts if p.payer == "wallet" and p.amount > 0]:
            rest = part.amount
            for side in ("cycle", "bundle", "wallet"):
                take = min(rest, left[side])
                if take:
                    to = part.credit if side == "wallet" else credits.issuer_account
                    move(sources[side], to, take, part.name, side)
                    left[side] -= take
                    rest -= take
            if rest:
                move(credits.cycle_account, credits.issuer_account, rest, part.name, "debt")
            wallet_paid += part.amount
        capacity = left["wallet"]
        parts = [p for p in parts if p.payer != "wallet"]
    for part in parts:
        if part.amount <= 0:
            continue
        from_wallet = min(part.amount, capacity) if part.payer == "wallet" else 0
        from_merchant = part.amount - from_wallet
        if part.payer == "wallet":
            shortfall += from_merchant
        capacity -= from_wallet
        if from_wallet:
            move(wallet, part.credit, from_wallet, part.name, "wallet")
            wallet_paid += from_wallet
        if from_merchant and part.credit != revenue:
            move(revenue, part.credit, from_merchant, part.name, "merchant")
        merchant_paid += from_merchant
    # Balances first (this also creates a receiving account on its first use, which the transfer
    # rows reference), assuming every transfer is new; a replayed key (rare) is then undone.
    deltas = deltas_of(moves)
    for account in deltas:
        if account not in kinds:  # a part credited an account this charge does not know: it must exist
            kinds[account] = ("", None)
    await upsert_deltas(tx, deltas, kinds, mode)
    created = await ledger.record_many(tx, moves, request_id=request_id)
    if len(created) != len(moves):
        applied, deltas = deltas, deltas_of(created)
        await apply_deltas(tx, {account: deltas.get(account, 0) - delta for account, delta in applied.items()})
    moved = -deltas.get(wallet, 0)  # what this call took from the wallet (0 when replayed)
    if moved and ledger.outbox is not None:
        await ledger.outbox.wallet_changed(
            tx, wallet_id, current.balance, current.balance - moved, usage=True, crossings=credits is None
        )
    return ChargeResult(wallet_paid, merchant_paid, shortfall, Balance(current.balance - moved, current.held))

"""The ledger: the only code that changes a balance.

Model (double entry, TigerBeetle-style):
- Every money movement is one immutable transfer from a debit account to a credit
  account, identified by an idempotency key. Replaying a key with the same
  parameters is a no-op that returns the original transfer; replaying it with
  different parameters is an error.
- Account balances are signed integers in 10⁻¹⁰ USD. A transfer subtracts from the
  debit account and adds to the credit account in the same transaction as the
  transfer row, so the sum of all balances of one mode is always 0.

Holds reserve part of a wallet's balance for a call in flight (``held``). A hold is placed
only if ``balance − held − amount ≥ −floor`` (one conditional UPDATE, so concurrent calls
cannot overspend), and it ends exactly once: settled, released or expired (a conditional
UPDATE on its status). Settling releases the hold and posts the actual charge in the same
transaction.

Invariants (checked by :func:`check`, which backs ``lava ledger check``):
1. For each account, balance = Σ credits − Σ debits over its transfers.
2. The sum of all account balances of each mode is 0.
3. held ≥ 0 on every account, and no wallet's available balance (balance − held)
   is below minus its overdraft floor.
4. Wallets are funded only from the external-funding and granted-credit accounts, so
   Σ wallet balances = funds in − charges out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..clock import now_us
from ..ids import TRANSFER, IdFactory, Mode
from ..store import Database, Executor
from ..store.outbox import Outbox
from .accounts import merchant_revenue_account, system_account, wallet_account
from .ledger_rows import (
    Balance,
    IdempotencyConflict,
    LedgerError,
    Move,
    Transfer,
    apply_deltas,
    deltas_of,
    ensure_account,
    ensure_accounts,
    lock_balance,
    upsert_deltas,
)

FundingSource = Literal["external_funding", "granted_credit"]
FUNDING_SOURCES: tuple[FundingSource, ...] = ("external_funding", "granted_credit")


class Ledger:
    def __init__(self, db: Database, ids: IdFactory, outbox: Outbox | None = None) -> None:
        self._db = db
        self._ids = ids
        self.outbox = outbox  # balance changes write their webhook events in the same transaction

    async def open_wallet_account(self, tx: Executor, wallet_id: str, mode: Mode) -> None:
        await ensure_account(tx, wallet_account(wallet_id), "wallet", mode, wallet_id)

    async def transfer(
        self,
        tx: Executor,
        *,
        key: str,
        debit: str,
        credit: str,
        amount: int,
        kind: str,
        request_id: str | None = None,
        reason: str | None = None,
    ) -> Transfer:
        """Post one transfer inside the caller's transaction. Idempotent by ``key``."""
        transfer = await self.record(
            tx, key=key, debit=debit, credit=credit, amount=amount, kind=kind, request_id=request_id, reason=reason
        )
        if transfer.created:
            await apply_deltas(tx, {debit: -amount, credit: amount})
        return transfer

    async def record(
        self,
        tx: Executor,
        *,
        key: str,
        debit: str,
        credit: str,
        amount: int,
        kind: str,
        request_id: str | None = None,
        reason: str | None = None,
    ) -> Transfer:
        """Write the transfer row only (idempotent by ``key``); the caller applies the balances
        with :func:`apply_deltas`, which must follow in the same transaction."""
        if not isinstance(amount, int) or amount <= 0:
            raise LedgerError(f"transfer amount must be a positive integer, got {amount!r}")
        if debit == credit:
            raise LedgerError("a transfer needs two different accounts")
        transfer_id = self._ids.new(TRANSFER)
        inserted = await tx.execute(
            "INSERT INTO ledger_transfers"
            " (id, idempotency_key, debit_account, credit_account, amount, kind, request_id, reason, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idempotency_key) DO NOTHING",
            transfer_id,
            key,
            debit,
            credit,
            amount,
            kind,
            request_id,
            reason,
            now_us(),
        )
        if inserted == 0:
            row = await tx.fetchone(
                "SELECT id, debit_account, credit_account, amount, kind FROM ledger_transfers"
                " WHERE idempotency_key = $1",
                key,
            )
            assert row is not None
            same = (row["debit_account"], row["credit_account"], int(row["amount"]), row["kind"]) == (
                debit,
                credit,
                amount,
                kind,
            )
            if not same:
                raise IdempotencyConflict(f"idempotency key {key!r} was already used for a different transfer")
            return Transfer(row["id"], key, debit, credit, amount, kind, created=False)
        return Transfer(transfer_id, key, debit, credit, amount, kind, created=True)

    async def record_many(self, tx: Executor, moves: list[Move], *, request_id: str | None) -> list[Move]:
        """Write several transfer rows in one statement (idempotent by key, like :meth:`record`)
        and return the moves that were new; the caller applies their balances in the same
        transaction. A key used before must name the same transfer (IdempotencyConflict)."""
        if not moves:
            return []
        at = now_us()
        values: list[str] = []
        args: list[object] = [request_id, at]
        for move in moves:
            if not isinstance(move.amount, int) or move.amount <= 0:
                raise LedgerError(f"transfer amount must be a positive integer, got {move.amount!r}")
            if move.debit == move.credit:
                raise LedgerError("a transfer needs two different accounts")
            n = len(args)
            values.append(f"(${n + 1}, ${n + 2}, ${n + 3}, ${n + 4}, ${n + 5}, ${n + 6}, $1, NULL, $2)")
            args += [self._ids.new(TRANSFER), move.key, move.debit, move.credit, move.amount, move.kind]
        rows = await tx.fetchall(
            "INSERT INTO ledger_transfers"
            " (id, idempotency_key, debit_account, credit_account, amount, kind, request_id, reason, created_at)"
            " VALUES " + ", ".join(values) + " ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key",
            *args,
        )
        inserted = {row["idempotency_key"] for row in rows}
        created: list[Move] = []
        for move in moves:
            if move.key in inserted:
                inserted.discard(move.key)  # a key twice in one batch is new once, then a replay
                created.append(move)
            else:  # replayed: it must be the very same transfer
                await self.record(
                    tx, key=move.key, debit=move.debit, credit=move.credit, amount=move.amount, kind=move.kind
                )
        return created

    async def credit_wallet(
        self,
        wallet_id: str,
        mode: Mode,
        amount: int,
        *,
        source: FundingSource,
        key: str,
        reason: str | None = None,
        tx: Executor | None = None,
    ) -> Transfer:
        """Fund a wallet from outside (a payment) or as a grant. Idempotent by ``key``."""
        if source not in FUNDING_SOURCES:
            raise LedgerError(f"unknown funding source {source!r}")
        if tx is None:
            async with self._db.transaction() as own:
                return await self.credit_wallet(wallet_id, mode, amount, source=source, key=key, reason=reason, tx=own)
        src = system_account(source, mode)
        await ensure_account(tx, src, source, mode, None)
        await ensure_account(tx, wallet_account(wallet_id), "wallet", mode, wallet_id)
        transfer = await self.transfer(
            tx,
            key=key,
            debit=src,
            credit=wallet_account(wallet_id),
            amount=amount,
            kind=source,
            reason=reason,
        )
        if transfer.created and self.outbox is not None:
            after = (await self.balance(wallet_account(wallet_id), tx)).balance
            await self.outbox.wallet_changed(tx, wallet_id, after - amount, after, usage=False)
        return transfer

    async def balance(self, account_id: str, tx: Executor | None = None) -> Balance:
        ex: Executor = tx if tx is not None else self._db
        row = await ex.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account_id)
        if row is None:
            return Balance(0, 0)
        return Balance(int(row["balance"]), int(row["held"]))

    async def wallet_balance(self, wallet_id: str, tx: Executor | None = None) -> Balance:
        return await self.balance(wallet_account(wallet_id), tx)


class InsufficientFunds(LedgerError):
    def __init__(self, amount: int, available: int) -> None:
        super().__init__(f"hold of {amount} units exceeds available {available} units")
        self.amount = amount
        self.available = available


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


class ConnectionInactive(LedgerError):
    """The hold was refused because the connection it is placed for is deleted (or unknown)."""


async def place_hold(
    tx: Executor,
    *,
    wallet_id: str,
    request_id: str,
    amount: int,
    floor: int,
    at: int,
    expires_at: int,
    connection_id: str | None = None,
) -> None:
    """Reserve ``amount`` of the wallet for ``request_id``; raises InsufficientFunds.

    With ``connection_id``, the same guarded UPDATE also requires that connection to be live
    (raises ConnectionInactive otherwise), so a hold is two statements: the guarded ``held``
    bump and the hold row; the reasons for a refusal are read only when it is refused."""
    assert amount >= 0
    assert floor >= 0
    account = wallet_account(wallet_id)
    sql = "UPDATE ledger_accounts SET held = held + $1 WHERE id = $2 AND balance - held - $1 + $3 >= 0"
    args: list[object] = [amount, account, floor]
    if connection_id is not None:
        sql += " AND EXISTS (SELECT 1 FROM connections WHERE id = $4 AND deleted_at IS NULL)"
        args.append(connection_id)
    changed = await tx.execute(sql, *args)
    if changed != 1:
        if connection_id is not None:
            live = await tx.fetchone("SELECT deleted_at FROM connections WHERE id = $1", connection_id)
            if live is None or live["deleted_at"] is not None:
                raise ConnectionInactive(f"connection {connection_id!r} is deleted")
        row = await tx.fetchone("SELECT balance, held FROM ledger_accounts WHERE id = $1", account)
        available = int(row["balance"]) - int(row["held"]) if row else 0
        raise InsufficientFunds(amount, available + floor)
    await tx.execute(
        "INSERT INTO ledger_holds (request_id, account_id, amount, status, created_at, expires_at)"
        " VALUES ($1, $2, $3, 'open', $4, $5)",
        request_id,
        account,
        amount,
        at,
        expires_at,
    )


async def close_hold(tx: Executor, request_id: str, status: str, at: int) -> bool:
    """End an open hold exactly once (settled, released or expired); False if it was not open."""
    assert status in ("settled", "released", "expired")
    row = await tx.fetchone(
        "UPDATE ledger_holds SET status = $1, closed_at = $2 WHERE request_id = $3 AND status = 'open'"
        " RETURNING account_id, amount",
        status,
        at,
        request_id,
    )
    if row is None:
        return False
    await tx.execute("UPDATE ledger_accounts SET held = held - $1 WHERE id = $2", int(row["amount"]), row["account_id"])
    return True


@dataclass(frozen=True)
class HoldRelease:
    """What :func:`settle_hold` released: the hold's account and that account's balance after it."""

    account_id: str
    balance: Balance


async def settle_hold(tx: Executor, request_id: str, at: int) -> HoldRelease | None:
    """End an open hold as ``settled`` and release its amount, like :func:`close_hold`, and
    return its account's balance after the release — the row stays locked until the transaction
    ends, so the caller can charge that account without :func:`lock_balance`. ``None`` if the
    hold was not open."""
    row = await tx.fetchone(
        "UPDATE ledger_holds SET status = 'settled', closed_at = $1 WHERE request_id = $2 AND status = 'open'"
        " RETURNING account_id, amount",
        at,
        request_id,
    )
    if row is None:
        return None
    after = await tx.fetchone(
        "UPDATE ledger_accounts SET held = held - $1 WHERE id = $2 RETURNING balance, held",
        int(row["amount"]),
        row["account_id"],
    )
    if after is None:
        raise LedgerError(f"unknown ledger account {row['account_id']!r}")
    return HoldRelease(row["account_id"], Balance(int(after["balance"]), int(after["held"])))


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


# The invariant checker lives in its own module; re-exported here so ``ledger.check`` reads naturally.
from .ledger_check import CheckReport, check  # noqa: E402
from .ledger_credits import CreditOwner, CreditSources, peek_credits, place_credit_hold, read_credits  # noqa: E402

__all__ = [
    "Balance",
    "ChargePart",
    "ChargeResult",
    "CheckReport",
    "ConnectionInactive",
    "CreditOwner",
    "CreditSources",
    "HoldRelease",
    "IdempotencyConflict",
    "InsufficientFunds",
    "Ledger",
    "LedgerError",
    "Transfer",
    "apply_deltas",
    "check",
    "close_hold",
    "ensure_account",
    "ensure_accounts",
    "lock_balance",
    "merchant_revenue_account",
    "peek_credits",
    "place_credit_hold",
    "place_hold",
    "post_charge",
    "read_credits",
    "settle_hold",
    "system_account",
    "wallet_account",
]

"""The gateway's one door into billing: open a request (with its hold), then settle or fail it.

``open`` records the request as ``pending`` and, for a billed connection, places a hold for
the worst-case cost in the same transaction — or refuses with 402 before anything goes
upstream. ``settle`` and ``fail`` finish it exactly once: the open hold (or, for metering
only, the ``pending`` status) is the guard, so a retried, racing or replayed finish can
never charge twice.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import orjson

from ..clock import now_us
from ..errors import ApiError
from ..ids import REQUEST
from ..money import to_wire
from ..store import Executor, StoreUnavailable
from ..store.requests import RequestRecord, insert_request, update_request
from . import entitlement, ledger, merchant_wallet, renewals, spend_limits
from .charges import Charges, compute_charges, no_charge
from .charging import _consumed, already_billed, charge_call, debit_merchant
from .deps import BillingDeps
from .fees import UnitCounts
from .journal import Journal, JournalEntry
from .plans import DEFAULT_PRODUCT, ForwardPlan, Outcome, Quote, Reservation, SubCallUsage
from .prices import LivePrices
from .pricing import BaseCost, ModelPrices, base_cost, unknown_price_message
from .product_config import ProductConfig, Tier
from .records import apply_charges, apply_usage, dumps, record_sub_calls


def _dt(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1_000_000, tz=UTC)


class BillingService:
    """Opens, settles and fails forwarded requests over explicit dependencies and a price source."""

    def __init__(self, svc: BillingDeps, prices: LivePrices) -> None:
        self._svc = svc
        self._prices = prices
        self._instance_id: str | None = None  # set by a running server (billing/instances.py)
        self._journal: Journal | None = None

    def attach(self, instance_id: str, journal: Journal) -> None:
        """Run as server process ``instance_id``: stamp pending requests with it, and journal
        finishes that cannot reach the database (billing/journal.py) instead of losing them."""
        self._instance_id, self._journal = instance_id, journal

    @property
    def deps(self) -> BillingDeps:
        """The dependencies this service was built with (shared with reconcile, repricing, manual)."""
        return self._svc

    # -- pricing --------------------------------------------------------------------
    def _lookup(self, plan: ForwardPlan, at: int, model: str | None = None) -> ModelPrices | None:
        return self._prices.prices_for(plan.pricing_id, model or plan.model, _dt(at))  # type: ignore[no-any-return]

    def _needs_price(self, plan: ForwardPlan) -> bool:
        config = plan.config
        if config is None or not plan.billable:
            return False
        if plan.model is None and plan.action == "fetch":
            # Fetching a stored response (background poll): the model is learned from the
            # response and priced at settlement; a poll holds only the fee.
            return False
        return plan.managed or config.rate_type == "percentage"

    def quote(self, plan: ForwardPlan, at: int) -> Quote:
        """The worst-case cost of a call: what ``open`` would hold."""
        config = plan.config
        prices = self._lookup(plan, at) if plan.billable else None
        if prices is None and self._needs_price(plan) and not (config and config.allow_unpriced_models):
            raise ApiError(
                400, "unknown_model_price", unknown_price_message(plan.provider, plan.pricing_id, plan.model)
            )
        limits = self._svc.settings.limits
        out = plan.max_output_tokens or limits.hold_output_ceiling_tokens
        out = min(out, limits.hold_output_max_tokens) * plan.output_choices  # every choice is billed
        units = UnitCounts(input_tokens=plan.prompt_tokens_estimate, output_tokens=out)
        base = base_cost(units, prices) if prices is not None else None
        if config is None:
            worst = no_charge(None, managed=False, base=base)
        else:
            worst = compute_charges(
                _worst_tier(config),
                units=units,
                units_before=0,
                base=base,
                managed=plan.managed,
                service_charge_rate=plan.service_charge_rate(self._svc.settings.service_charge_rate),
            )
        hold = worst.wallet_units if plan.billable else 0
        return Quote(hold, worst, prices, units.input_tokens, units.output_tokens)

    # -- lifecycle ----------------------------------------------------------------
    async def open(self, plan: ForwardPlan) -> Reservation:
        at = now_us()
        quote = self.quote(plan, at)
        record = RequestRecord(
            id=self._svc.ids.new(REQUEST, plan.merchant.mode),
            merchant_id=plan.merchant.merchant_id,
            mode=plan.merchant.mode,
            status="pending",
            provider=plan.provider,
            provider_key_type="managed" if plan.managed else "stored" if plan.stored_key else "unmanaged",
            endpoint=plan.endpoint,
            created_at=at,
            connection_id=plan.connection_id,
            product_id=plan.product_id,
            model=plan.model,
            metadata=orjson.dumps(plan.metadata).decode() if plan.metadata else None,
            metadata_pairs=dict(plan.metadata),
            hold_units=quote.hold_units,
            token_form=plan.token_form,
            instance_id=self._instance_id,
            spend_key_id=plan.spend_key_id,
            client_format=plan.client_format,
        )
        config = plan.config
        if config is not None:
            record.base_cost_payer = config.base_cost_payer if plan.managed else "merchant"
            record.service_charge_payer = config.service_charge_payer
            record.overdraft_floor = config.overdraft_floor_units
        limits = self._svc.settings.limits
        expires = at + int(limits.hold_lifetime_s * 1_000_000)

        async def hold(tx: Executor) -> ApiError | None:
            if plan.spend_key_id is not None:  # the key's limits, atomically with the hold
                call = spend_limits.call_of(plan, record.id, quote, at, expires)
                refusal = await spend_limits.reserve(tx, self._svc.ledger.outbox, call)
                if refusal is not None:
                    return refusal  # committed: last_used_at and a limit_reached event, no request
            worst_merchant = merchant_wallet.merchant_cost_of(plan, quote.worst_case.base_cost_units)
            await merchant_wallet.reserve(tx, plan, record.id, worst_merchant, at, expires)
            await insert_request(tx, record)
            if plan.token_form in entitlement.PLAN_FORMS:  # current customer: plan entitlement + credits
                await entitlement.check_and_hold(
                    self._svc,
                    tx,
                    plan,
                    request_id=record.id,
                    amount=quote.hold_units,
                    floor=record.overdraft_floor,
                    at=at,
                    expires_at=expires,
                )
            elif plan.wallet_id is not None:
                try:
                    await ledger.place_hold(
                        tx,
                        wallet_id=plan.wallet_id,
                        request_id=record.id,
                        amount=quote.hold_units,
                        floor=record.overdraft_floor,
                        at=at,
                        expires_at=expires,
                        connection_id=plan.connection_id,  # checked live in the same statement
                    )
                except ledger.ConnectionInactive as exc:
                    raise ApiError(403, "connection_inactive", "this connection has been deleted") from exc
                except ledger.InsufficientFunds as exc:
                    raise ApiError(
                        402,
                        # a current-generation customer has credits, a 2025 connection a balance
                        "insufficient_credits" if plan.token_form == "customer" else "insufficient_balance",
                        f"insufficient balance: this call may cost up to ${to_wire(exc.amount)}, the wallet has "
                        f"${to_wire(max(exc.available, 0))} available (short by ${to_wire(exc.amount - max(exc.available, 0))})",
                    ) from exc
            return None

        # The hold is not fsynced on its own (it is on the time-to-first-byte path); it reaches the
        # disk with the next durable commit, at the latest this call's settlement.
        try:
            refused = await self._svc.db.write(hold, durable=False)
        except ApiError as exc:
            if exc.code == "insufficient_credits":  # docs/plans.md: a refused call triggers the auto top-up
                await renewals.request_top_up(self._svc.db, plan.connection_id)
            raise
        if refused is not None:
            raise refused
        return Reservation(plan, record, quote.prices, quote.hold_units)

    async def settle(self, res: Reservation, outcome: Outcome) -> RequestRecord:
        """Finish a call with its usage, exactly once. ``res.record`` changes only after the commit;
        if this raises, nothing happened and the caller must ``fail`` the call.

        If the database is unreachable and this is a running server, the settlement is journalled
        durably instead (replayed when the database is back) and the still-pending record returned."""
        try:
            return await self.settle_now(res, outcome)
        except StoreUnavailable:
            if self._journal is None:
                raise
            self._journal.append(JournalEntry("settle", res.record, res.plan, outcome, None, now_us()))
            res.finished = True
            return res.record

    def prices_at(self, plan: ForwardPlan, at: int) -> ModelPrices | None:
        """The prices ``open`` looks up for ``plan`` at time ``at`` (None for a call that is not billable)."""
        return self._lookup(plan, at) if plan.billable else None

    async def settle_now(self, res: Reservation, outcome: Outcome) -> RequestRecord:
        """``settle`` without the journal: raises ``StoreUnavailable`` during an outage."""
        plan = res.plan
        at = now_us()
        prices = res.prices
        if outcome.model and outcome.model != plan.model and prices is None:
            prices = self._lookup(plan, res.record.created_at, outcome.model)
        priced = base_cost(outcome.usage, prices) if prices is not None else None
        if priced is None and plan.billable and plan.model:
            priced = BaseCost.unpriced(plan.pricing_id or plan.provider, plan.model)
        sub_costs = [(sub, self._price_sub_call(plan, res.record.created_at, sub)) for sub in outcome.sub_calls]
        if priced is not None and sub_costs:
            priced = BaseCost(
                priced.input_cost_units + sum(c.input_cost_units for _, c in sub_costs),
                priced.output_cost_units + sum(c.output_cost_units for _, c in sub_costs),
                priced.unit_prices,
                priced.provenance,
            )
        config = plan.config
        rate = plan.service_charge_rate(self._svc.settings.service_charge_rate)

        async def settle_tx(tx: Executor) -> tuple[RequestRecord, int | None]:
            # Everything is computed afresh on a copy, so a retried transaction starts clean.
            rec = replace(res.record)
            usage, base = outcome.usage, priced
            if merchant_wallet.merchant_cost_of(plan, 1):  # else it never reserved: no row to forget
                await merchant_wallet.release(tx, rec.id)
            apply_usage(rec, outcome, at)
            if plan.wallet_id is None or config is None:
                # No wallet hold guards this call: its ``pending`` row does. Claim (and, on
                # PostgreSQL, lock) it first, so a call already closed by the sweeper, a lease
                # take-over or an earlier finish is never charged to the merchant or its key.
                if not await _claim_pending(tx, rec.id):
                    return res.record, None
                apply_charges(rec, no_charge(None, managed=False, base=base, usage=usage), 0, rate)
                if base is not None:
                    record_sub_calls(rec, sub_costs)
                merchant_cost = (
                    base.total_units if base is not None and plan.managed and plan.merchant_bears_cost else 0
                )
                # Asked whoever pays: a BYOK spend key counts a stored response's cost once too.
                billed_before = await already_billed(tx, plan, rec, outcome)
                if merchant_cost > 0 and not billed_before:
                    await debit_merchant(self._svc, tx, plan, rec, merchant_cost)
                if plan.spend_key_id is not None:  # a refetched response's cost was counted the first time
                    spent = 0 if billed_before else rec.base_cost or 0
                    await spend_limits.settle(tx, self._svc.ledger.outbox, rec.id, spent, at)
                await update_request(tx, rec, only_if_status="pending", before=res.record)
                return rec, None
            released = await ledger.settle_hold(tx, rec.id, at)  # released, and its account locked
            if released is None:
                return res.record, None  # finished elsewhere (expired or reconciled): never charge twice
            if await already_billed(tx, plan, rec, outcome):
                usage, base = UnitCounts(), None  # the provider's numbers stay in provider_usage
                apply_usage(rec, Outcome(usage, outcome.provider_usage, outcome.model, outcome.response_id), at)
            # A fetch that consumed nothing (a queued background call, a repeated poll) is not a
            # billable request either: per-request tiers count the call that carries the usage.
            counts = _consumed(usage) or not (plan.action == "fetch" or outcome.pending)
            charges, available = await self.charge(
                tx,
                plan,
                rec,
                usage,
                base,
                config,
                at,
                count_request=counts,
                locked=released.balance if released.account_id == ledger.wallet_account(plan.wallet_id) else None,
            )
            apply_charges(rec, charges, rec.units_before_milli, rate)
            if base is not None:
                record_sub_calls(rec, sub_costs)
            await update_request(tx, rec, only_if_status="pending", before=res.record)
            return rec, available

        outcome_record: tuple[RequestRecord, int | None] = await self._svc.db.write(settle_tx)
        final, available = outcome_record
        res.record, res.balance_after, res.finished = final, available, True
        return final

    def _price_sub_call(self, plan: ForwardPlan, at: int, sub: SubCallUsage) -> BaseCost:
        prices = self._lookup(plan, at, sub.model)
        if prices is None:
            return BaseCost.unpriced(plan.pricing_id or plan.provider, sub.model)
        return base_cost(sub.usage, prices)

    async def charge(
        self,
        tx: Executor,
        plan: ForwardPlan,
        rec: RequestRecord,
        usage: UnitCounts,
        base: BaseCost | None,
        config: ProductConfig,
        at: int,
        *,
        count_request: bool = True,
        locked: ledger.Balance | None = None,
    ) -> tuple[Charges, int]:
        """Charge ``usage`` inside ``tx``; ``locked``: the wallet's balance if this transaction
        already locked it (:func:`ledger.settle_hold`). See :func:`.charging.charge_call`."""
        return await charge_call(
            self._svc, tx, plan, rec, usage, base, config, at, count_request=count_request, locked=locked
        )

    async def fail(self, res: Reservation, error: str, outcome: Outcome | None = None) -> RequestRecord:
        """Finish a call as ``error``: its hold released, nothing charged (a no-op if it already
        finished). Journalled like ``settle`` when the database is unreachable."""
        try:
            return await self.fail_now(res, error, outcome)
        except StoreUnavailable:
            if self._journal is None:
                raise
            self._journal.append(JournalEntry("fail", res.record, res.plan, outcome, error[:1000], now_us()))
            res.finished = True
            return res.record

    async def fail_now(self, res: Reservation, error: str, outcome: Outcome | None = None) -> RequestRecord:
        """``fail`` without the journal: raises ``StoreUnavailable`` during an outage."""
        at = now_us()
        rec = replace(res.record)
        rec.status = "error"
        rec.error = error[:1000]
        if outcome is not None:
            rec.model = outcome.model or rec.model
            rec.response_id = outcome.response_id
            rec.provider_usage = orjson.dumps(outcome.provider_usage).decode() if outcome.provider_usage else None
        rec.timestamp = rec.completed_at = at

        async def fail_tx(tx: Executor) -> None:
            await ledger.close_hold(tx, rec.id, "released", at)
            if merchant_wallet.merchant_cost_of(res.plan, 1):  # else it never reserved: no row to forget
                await merchant_wallet.release(tx, rec.id)
            if res.plan.spend_key_id is not None:
                await spend_limits.release(tx, rec.id)
            await update_request(tx, rec, only_if_status="pending", before=res.record)

        await self._svc.db.write(fail_tx)
        res.record, res.finished = rec, True
        return rec


async def _claim_pending(tx: Executor, request_id: str) -> bool:
    """True if the request is still ``pending`` (its row now locked by this transaction)."""
    changed = await tx.execute("UPDATE requests SET status = status WHERE id = $1 AND status = 'pending'", request_id)
    return bool(changed == 1)


def _worst_tier(config: ProductConfig) -> ProductConfig:
    """The same product with every unit at its most expensive tier: a safe bound for holds."""
    top = max(t.rate for t in config.tiers)
    return config.with_tiers((Tier(0, top, config.tiers[0].type),))


__all__ = [
    "DEFAULT_PRODUCT",
    "BillingService",
    "ForwardPlan",
    "Outcome",
    "Quote",
    "Reservation",
    "SubCallUsage",
    "apply_charges",
    "apply_usage",
    "dumps",
    "record_sub_calls",
]

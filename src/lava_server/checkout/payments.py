"""Charging a card and crediting the wallet exactly once per successful payment.

Crediting goes through :meth:`Ledger.credit_wallet` with the idempotency key
``checkout:<processor>:<processor payment id>``, in the same transaction that flips
the payment to ``succeeded`` and completes the session. Whether the client flow or
a processor webhook confirms the payment first, the second one is a no-op.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ..accounts.connections import create_connection
from ..clock import now_us, to_iso
from ..context import Services
from ..money import UNITS_PER_USD, to_wire
from ..store import checkout_sessions as sessions_repo
from ..store import checkout_state as state
from ..store.checkout_sessions import CheckoutSessionRecord
from ..store.merchants import MerchantKey
from ..store.outbox import Event
from . import purchase
from .processors import ProcessorRegistry
from .processors.base import Card, CardRejected, PaymentEvent, PaymentProcessor, ProcessorUnavailable

log = logging.getLogger("lava.checkout")

CURRENCY = "usd"
UNITS_PER_CENT = UNITS_PER_USD // 100
DEFAULT_AMOUNTS = state.AmountSettings(
    presets=(10 * UNITS_PER_USD, 25 * UNITS_PER_USD, 50 * UNITS_PER_USD),
    min_amount=5 * UNITS_PER_USD,
    max_amount=500 * UNITS_PER_USD,
)


class AmountError(ValueError):
    """Shown to the end user as is."""


def dollars(units: int) -> str:
    """``25_0000000000`` → ``"25.00"`` (amounts in checkout are whole cents)."""
    whole, frac = to_wire(units).split(".")
    return f"{whole}.{frac[:2]}"


def parse_user_amount(text: str, limits: state.AmountSettings) -> int:
    cleaned = text.strip().lstrip("$").replace(",", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise AmountError("Enter an amount in dollars, for example 25 or 25.50.") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise AmountError("Enter an amount in dollars and cents, for example 25.50.")
    units = int(value * 100) * UNITS_PER_CENT
    if units < limits.min_amount or units > limits.max_amount:
        raise AmountError(f"Choose an amount between ${dollars(limits.min_amount)} and ${dollars(limits.max_amount)}.")
    return units


async def amount_settings(svc: Services, merchant_id: str, mode: Any) -> state.AmountSettings:
    return await state.get_amount_settings(svc.db, merchant_id, mode) or DEFAULT_AMOUNTS


@dataclass(frozen=True)
class PayResult:
    status: str  # "succeeded" | "pending" | "failed"
    connection_id: str | None = None
    code: str | None = None
    message: str | None = None


async def pay(
    svc: Services,
    processors: ProcessorRegistry,
    session: CheckoutSessionRecord,
    progress: state.Progress,
    amount: int,
    form: dict[str, str],
) -> PayResult:
    """Charge a new or the saved card for one checkout; credits and completes on success."""
    processor = processors.for_mode(session.mode)
    if processor is None:
        return PayResult("failed", code="unavailable", message="Card payments are not configured for live mode.")
    assert progress.wallet_id is not None
    assert progress.email_verified_at is not None
    wallet_id = progress.wallet_id
    try:
        customer_id = await _customer(svc, processor, wallet_id, progress)
        card: Card
        saved = await state.get_saved_card(svc.db, wallet_id, processor.name)
        if form.get("card_choice") == "saved" and saved is not None:
            card = Card(saved.method_id, saved.brand, saved.last4)
        else:
            card = await processor.card_from_form(customer_id, form)
    except CardRejected as exc:
        return PayResult("failed", code=exc.code, message=exc.message)
    except ProcessorUnavailable:
        log.exception("payment processor unavailable (checkout session %s)", session.id)
        return PayResult("failed", code="processor_error", message="The card could not be processed. Try again.")
    at = now_us()
    payment = state.PaymentRecord(
        id=svc.ids.new("pay", session.mode),
        session_id=session.id,
        merchant_id=session.merchant_id,
        mode=session.mode,
        wallet_id=wallet_id,
        processor=processor.name,
        processor_payment_id=None,
        amount=amount,
        amount_minor=amount // UNITS_PER_CENT,
        currency=CURRENCY,
        status="pending",
        failure_code=None,
        failure_message=None,
        created_at=at,
        credited_at=None,
    )
    async with svc.db.transaction() as tx:
        await state.insert_payment(tx, payment)
    try:
        outcome = await processor.charge(
            customer_id=customer_id,
            card=card,
            amount_minor=payment.amount_minor,
            currency=CURRENCY,
            idempotency_key=payment.id,
            metadata={"lava_payment_id": payment.id, "lava_checkout_session_id": session.id},
        )
    except ProcessorUnavailable:
        log.exception("charge failed at the processor (payment %s)", payment.id)
        async with svc.db.transaction() as tx:
            await state.mark_payment_failed(tx, payment.id, "processor_error", "processor unavailable", now_us())
        return PayResult("failed", code="processor_error", message="The payment could not be processed. Try again.")
    if outcome.status == "succeeded" and outcome.processor_payment_id:
        connection_id = await complete_payment(
            svc, payment.id, outcome.processor_payment_id, outcome.amount_minor, outcome.currency
        )
        async with svc.db.transaction() as tx:
            await state.save_card(
                tx, state.SavedCard(wallet_id, processor.name, card.method_id, card.brand, card.last4), now_us()
            )
        return PayResult("succeeded", connection_id=connection_id)
    async with svc.db.transaction() as tx:
        if outcome.processor_payment_id:
            await state.set_processor_payment_id(tx, payment.id, outcome.processor_payment_id, now_us())
        if outcome.status == "failed":
            await state.mark_payment_failed(tx, payment.id, outcome.code or "failed", outcome.message or "", now_us())
    if outcome.status == "pending":
        return PayResult("pending", message="The payment is processing. This page updates when it completes.")
    return PayResult("failed", code=outcome.code, message=outcome.message or "The payment failed. Try again.")


async def _customer(svc: Services, processor: PaymentProcessor, wallet_id: str, progress: state.Progress) -> str:
    existing = await state.get_customer_id(svc.db, wallet_id, processor.name)
    if existing is not None:
        return existing
    customer_id = await processor.ensure_customer(wallet_id, progress.email, progress.name)
    async with svc.db.transaction() as tx:
        await state.save_customer_id(tx, wallet_id, processor.name, customer_id, now_us())
    return await state.get_customer_id(svc.db, wallet_id, processor.name) or customer_id


async def complete_payment(
    svc: Services, payment_id: str, processor_payment_id: str, amount_minor: int, currency: str
) -> str | None:
    """Mark succeeded, credit once, complete the session once. Returns the session's connection id."""
    at = now_us()
    async with svc.db.transaction() as tx:
        p = await state.get_payment(tx, payment_id)
        if p is None:
            return None
        if (p.amount_minor, p.currency) != (amount_minor, currency.lower()):
            log.error("payment %s: processor reports %s %s, expected %s", p.id, amount_minor, currency, p.amount_minor)
            return None
        if p.processor_payment_id not in (None, processor_payment_id):
            log.error("payment %s: processor payment id mismatch", p.id)
            return None
        await state.set_processor_payment_id(tx, p.id, processor_payment_id, at)
        won = await state.mark_payment_succeeded(tx, p.id, at)
        session = await sessions_repo.get_checkout_session(tx, p.merchant_id, p.mode, p.session_id)
        assert session is not None
        completing = won and session.completed_at is None
        connection_id = session.connection_id
        if completing and connection_id is None:
            # The customer exists before the credit, so its balance event reaches it too.
            wallet = await state.get_wallet(tx, p.wallet_id)
            assert wallet is not None
            key = MerchantKey("checkout", p.merchant_id, "", p.mode)
            made = await create_connection(svc, key, reference_id=session.reference_id, wallet=wallet, tx=tx)
            connection_id = made.connection_id
        sold = await purchase.load(tx, session) if won else None
        if sold is not None:  # subscription / credit_bundle: the payment buys the plan or the bundle
            if connection_id is not None:
                await purchase.apply(
                    svc,
                    tx,
                    session,
                    sold,
                    connection_id=connection_id,
                    wallet_id=p.wallet_id,
                    paid_key=f"checkout:{p.processor}:{processor_payment_id}",
                )
        elif won:
            await svc.ledger.credit_wallet(
                p.wallet_id,
                p.mode,
                p.amount,
                source="external_funding",
                key=f"checkout:{p.processor}:{processor_payment_id}",
                reason=f"checkout payment {p.id}",
                tx=tx,
            )
        if not completing:
            return session.connection_id
        assert connection_id is not None
        await sessions_repo.mark_completed(tx, session.id, connection_id, at)
        detail = {
            "checkout_session": {
                "checkout_session_id": session.id,
                "checkout_mode": session.checkout_mode,
                "amount": to_wire(p.amount),
                "completed_at": to_iso(at),
            }
        }
        await svc.outbox.add(tx, Event("checkout.session.completed", p.merchant_id, p.mode, connection_id, detail))
        return connection_id


async def handle_event(svc: Services, processor: PaymentProcessor, event: PaymentEvent) -> str:
    """Apply one verified webhook event; returns what happened (for the response and tests)."""
    if event.kind == "other" or event.processor_payment_id is None:
        return "ignored"
    payment = await state.find_payment_by_processor_id(svc.db, processor.name, event.processor_payment_id)
    if payment is None and event.lava_payment_id:
        payment = await state.get_payment(svc.db, event.lava_payment_id)
    if payment is None or payment.processor != processor.name:
        return "unknown_payment"
    if event.kind == "failed":
        async with svc.db.transaction() as tx:
            await state.set_processor_payment_id(tx, payment.id, event.processor_payment_id, now_us())
            await state.mark_payment_failed(tx, payment.id, "payment_failed", event.message or "", now_us())
        return "failed"
    if payment.status == "succeeded":
        return "duplicate"
    await complete_payment(svc, payment.id, event.processor_payment_id, event.amount_minor, event.currency)
    return "credited"

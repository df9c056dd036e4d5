"""Off-session charges through the configured card processor (Stripe in live mode): renewals and
auto top-ups charge the card a checkout saved, without the customer present.

A subscription bought through a Stripe checkout keeps ``stripe:<payment method id>``; the processor
customer is the one checkout created for the customer's wallet. Anything else falls back to
:func:`billing.offsession.charger_for` (test cards in test mode). A charge that needs the customer
(3-D Secure, ``pending``) counts as declined: the renewal policy retries later.
"""

from __future__ import annotations

from ..billing.offsession import ChargeResult, ChargerFor, OffSessionCharger, charger_for
from ..money import UNITS_PER_USD
from ..store import Database
from ..store import checkout_state as state
from .processors import ProcessorRegistry
from .processors.base import Card, ProcessorUnavailable

UNITS_PER_CENT = UNITS_PER_USD // 100
PREFIX = "stripe:"


def saved_method(processor: str, method_id: str) -> str:
    """What a subscription stores for a card saved by ``processor``'s checkout."""
    return method_id if processor == "test" else f"{processor}:{method_id}"


class ProcessorCharger:
    """``OffSessionCharger`` over a processor's saved customer and card."""

    def __init__(self, db: Database, registry: ProcessorRegistry, fallback: OffSessionCharger) -> None:
        self._db = db
        self._registry = registry
        self._fallback = fallback

    async def charge(self, payment_method: str | None, amount: int, idempotency_key: str) -> ChargeResult:
        if payment_method is None or not payment_method.startswith(PREFIX):
            return await self._fallback.charge(payment_method, amount, idempotency_key)
        processor = self._registry.by_name("stripe")
        method_id = payment_method.removeprefix(PREFIX)
        row = await self._db.fetchone(
            "SELECT wallet_id, brand, last4 FROM saved_cards WHERE processor = 'stripe' AND method_id = $1", method_id
        )
        if processor is None or row is None:
            return ChargeResult(False, decline_code="no_payment_method")
        customer = await state.get_customer_id(self._db, row["wallet_id"], "stripe")
        if customer is None:
            return ChargeResult(False, decline_code="no_payment_method")
        minor = -(-amount // UNITS_PER_CENT)  # cards charge whole cents: round a fraction up
        try:
            outcome = await processor.charge(
                customer_id=customer,
                card=Card(method_id, row["brand"], row["last4"]),
                amount_minor=minor,
                currency="usd",
                idempotency_key=idempotency_key,
                metadata={"lava_off_session": idempotency_key},
            )
        except ProcessorUnavailable:
            return ChargeResult(False, decline_code="processor_error")
        if outcome.status == "succeeded":
            return ChargeResult(True, payment_id=outcome.processor_payment_id)
        return ChargeResult(
            False,
            decline_code=outcome.code
            or ("authentication_required" if outcome.status == "pending" else "card_declined"),
        )


def processor_chargers(db: Database, registry: ProcessorRegistry) -> ChargerFor:
    """The charger of each mode: the live processor's saved cards where a checkout saved one."""

    def pick(mode: str) -> OffSessionCharger:
        return ProcessorCharger(db, registry, charger_for(mode))

    return pick

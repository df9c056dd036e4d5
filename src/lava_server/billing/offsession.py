"""Off-session card charges for renewals and auto top-ups (docs/plans.md).

A subscription keeps the payment method its checkout saved (``payment_method``). Test mode charges
through :class:`TestCardCharger`: Stripe's test payment-method names decide the outcome, so tests
can make a renewal or a top-up fail. Each charge carries an idempotency key (subscription + cycle +
attempt, or subscription + top-up sequence): a retried or racing worker cannot charge twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

DECLINING_METHODS = frozenset({"pm_card_chargeDeclined", "pm_card_chargeDeclinedInsufficientFunds"})
TEST_PROCESSOR_PREFIX = "tpm_"  # checkout's test processor: tpm_<last4>; only 4242 succeeds
TEST_METHODS = frozenset({"pm_card_visa", "pm_card_mastercard", *DECLINING_METHODS})


@dataclass(frozen=True)
class ChargeResult:
    """``ok`` with the processor's payment id, or a decline code."""

    ok: bool
    payment_id: str | None = None
    decline_code: str | None = None


class OffSessionCharger(Protocol):
    async def charge(self, payment_method: str | None, amount: int, idempotency_key: str) -> ChargeResult:
        """Charge ``amount`` units to a saved method without the customer present."""
        ...


class TestCardCharger:
    """Test mode: ``pm_card_visa``/``pm_card_mastercard`` succeed, ``pm_card_chargeDeclined*`` and a
    missing method decline. Deterministic, so an idempotency key always gives the same result."""

    async def charge(self, payment_method: str | None, amount: int, idempotency_key: str) -> ChargeResult:
        if payment_method is None:
            return ChargeResult(False, decline_code="no_payment_method")
        if payment_method.startswith(TEST_PROCESSOR_PREFIX):  # a card saved by the test processor's page
            ok = payment_method == TEST_PROCESSOR_PREFIX + "4242"
            return ChargeResult(ok, f"pay_test_{idempotency_key}" if ok else None, None if ok else "card_declined")
        if payment_method in DECLINING_METHODS or payment_method not in TEST_METHODS:
            return ChargeResult(False, decline_code="card_declined")
        return ChargeResult(True, payment_id=f"pay_test_{idempotency_key}")


class NoProcessorCharger:
    """Live mode without an off-session processor wired in: every charge declines, so renewals
    follow the failed-renewal policy instead of granting unpaid credit."""

    async def charge(self, payment_method: str | None, amount: int, idempotency_key: str) -> ChargeResult:
        return ChargeResult(False, decline_code="no_processor")


def charger_for(mode: str) -> OffSessionCharger:
    """The off-session charger of a mode: the test card charger in test mode."""
    return TestCardCharger() if mode == "test" else NoProcessorCharger()


ChargerFor = Callable[[str], OffSessionCharger]  # the charger of a mode

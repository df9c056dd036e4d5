"""The built-in ``test`` processor: no money moves; the published test card numbers decide the outcome."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

from ...ids import IdFactory
from .base import Card, CardForm, CardRejected, ChargeOutcome, PaymentProcessor

# last4 → (status, code, message); the only numbers the test processor accepts.
TEST_CARDS: dict[str, tuple[str, str | None, str | None]] = {
    "4242424242424242": ("succeeded", None, None),
    "4000000000000002": ("failed", "card_declined", "Your card was declined. Try another card."),
    "4000000000009995": (
        "failed",
        "insufficient_funds",
        "Your card has insufficient funds. Try another card or a smaller amount.",
    ),
}
_BY_LAST4 = {number[-4:]: outcome for number, outcome in TEST_CARDS.items()}
_EXP = re.compile(r"^(\d{1,2})\s*/\s*(\d{2}|\d{4})$")


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def parse_expiry(text: str, now: float | None = None) -> tuple[int, int]:
    m = _EXP.match(text.strip())
    if not m:
        raise CardRejected("invalid_expiry", "Enter the expiry date as MM/YY.")
    month, year = int(m.group(1)), int(m.group(2))
    year = year + 2000 if year < 100 else year
    if not 1 <= month <= 12:
        raise CardRejected("invalid_expiry", "The expiry month must be between 01 and 12.")
    t = time.gmtime(now if now is not None else time.time())
    if (year, month) < (t.tm_year, t.tm_mon):
        raise CardRejected("expired_card", "This card has expired.")
    return month, year


class TestProcessor(PaymentProcessor):
    name = "test"

    def __init__(self, ids: IdFactory) -> None:
        self._ids = ids

    async def ensure_customer(self, wallet_id: str, email: str | None, name: str | None) -> str:
        return f"tcus_{wallet_id}"

    async def card_form(self, customer_id: str) -> CardForm:
        return CardForm(browser_collects_card=False)

    async def card_from_form(self, customer_id: str, form: Mapping[str, str]) -> Card:
        number = re.sub(r"[\s-]", "", form.get("card_number", ""))
        if not number.isdigit() or not 12 <= len(number) <= 19 or not luhn_ok(number):
            raise CardRejected("invalid_number", "The card number is not valid.")
        parse_expiry(form.get("card_exp", ""))
        cvc = form.get("card_cvc", "").strip()
        if not cvc.isdigit() or len(cvc) not in (3, 4):
            raise CardRejected("invalid_cvc", "Enter the 3 or 4 digit security code.")
        if number not in TEST_CARDS:
            raise CardRejected(
                "test_mode_card",
                "Test mode accepts only the test card numbers listed on this page; no real card is charged.",
            )
        return Card(method_id=f"tpm_{number[-4:]}", brand="Visa", last4=number[-4:])

    async def charge(
        self,
        *,
        customer_id: str,
        card: Card,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ChargeOutcome:
        status, code, message = _BY_LAST4.get(card.last4, ("failed", "card_declined", "Your card was declined."))
        payment_id = "tpi_" + self._ids.ulid()
        if status == "succeeded":
            return ChargeOutcome("succeeded", payment_id, amount_minor, currency)
        return ChargeOutcome("failed", payment_id, amount_minor, currency, code, message)

    async def retrieve(self, processor_payment_id: str) -> ChargeOutcome:
        # The test processor has no remote state: charge() already returned the final outcome.
        return ChargeOutcome("pending", processor_payment_id)

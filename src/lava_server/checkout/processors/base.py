"""The payment-processor interface the hosted checkout drives.

A processor saves a card for a wallet's customer and charges it. Card details reach
a processor either from our own form (the built-in ``test`` processor, test numbers
only) or from the processor's browser library (``stripe``: Stripe.js confirms a
SetupIntent, so card numbers never touch this server).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ChargeStatus = Literal["succeeded", "pending", "failed"]


class CardRejected(Exception):
    """The card could not be saved or used: a clear message for the end user, nothing charged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProcessorUnavailable(Exception):
    """The processor could not be reached or is misconfigured (never the user's fault)."""


@dataclass(frozen=True)
class Card:
    method_id: str
    brand: str
    last4: str


@dataclass(frozen=True)
class ChargeOutcome:
    status: ChargeStatus
    processor_payment_id: str | None
    amount_minor: int = 0
    currency: str = "usd"
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class CardForm:
    """What the pay page needs to collect a new card."""

    browser_collects_card: bool
    client_secret: str | None = None
    publishable_key: str | None = None
    script_url: str | None = None
    extra_origins: tuple[str, ...] = field(default_factory=tuple)  # for the page's CSP


@dataclass(frozen=True)
class PaymentEvent:
    """A verified processor notification about one payment."""

    kind: Literal["succeeded", "failed", "other"]
    processor_payment_id: str | None
    lava_payment_id: str | None
    amount_minor: int
    currency: str
    message: str | None = None


class PaymentProcessor(ABC):
    name: str

    @abstractmethod
    async def ensure_customer(self, wallet_id: str, email: str | None, name: str | None) -> str:
        """The processor-side customer for a wallet (created idempotently)."""

    @abstractmethod
    async def card_form(self, customer_id: str) -> CardForm: ...

    @abstractmethod
    async def card_from_form(self, customer_id: str, form: Mapping[str, str]) -> Card:
        """Validate what the page submitted and return a saved card. Raises CardRejected."""

    @abstractmethod
    async def charge(
        self,
        *,
        customer_id: str,
        card: Card,
        amount_minor: int,
        currency: str,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> ChargeOutcome: ...

    @abstractmethod
    async def retrieve(self, processor_payment_id: str) -> ChargeOutcome:
        """The processor's current view of a payment (the authority for crediting)."""

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        """Verify and decode a webhook. Raises ValueError when it is not authentic."""
        raise ValueError(f"processor {self.name!r} has no webhooks")

    async def close(self) -> None:
        return None

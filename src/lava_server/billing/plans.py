"""What the gateway tells billing about a call, and what billing hands back."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from ..store.merchants import MerchantKey
from ..store.requests import RequestRecord
from .charges import Charges
from .fees import UnitCounts
from .pricing import ModelPrices
from .product_config import ProductConfig

# What a call's metadata may hold (a plan and its request record carry it): at most
# METADATA_MAX_PAIRS pairs, keys matching METADATA_KEY_RE, values of 1..METADATA_MAX_VALUE characters.
METADATA_KEY_RE = re.compile(r"^[A-Za-z0-9_]{1,255}$")
METADATA_MAX_PAIRS = 100
METADATA_MAX_VALUE = 255

MERCHANT_PAYS_FORMS = frozenset({"merchant", "meter", "customer_untracked"})
LEGACY_FORMS = frozenset({"legacy", "legacy_metering"})  # the 2025 tokens: every 2025 rule applies


def service_charge_rate_for(token_form: str, configured: Decimal) -> Decimal:
    """The service-charge rate of a call: ``configured`` for the 2025 forms (row 6, 7), 0 for the
    current generation (rows 1-5, spend keys, ``POST /v1/requests`` by customer), which carries
    no service charge (spec lava-api-current section 1.4)."""
    return configured if token_form in LEGACY_FORMS else Decimal(0)


DEFAULT_PRODUCT = ProductConfig()  # "default pricing" for a connection without a product: no fee

CallAction = Literal["create", "fetch"]
"""``create``: a call that asks the provider for new work. ``fetch``: a read of work already
done or under way (a background poll, a resumed stream), billed only if it carries usage."""


@dataclass(frozen=True)
class ForwardPlan:
    """What the gateway knows before it forwards a call."""

    merchant: MerchantKey
    connection_id: str | None
    wallet_id: str | None
    product_id: str | None
    product: ProductConfig | None
    provider: str
    pricing_id: str | None
    managed: bool
    model: str | None
    endpoint: str
    metadata: dict[str, str] = field(default_factory=dict)
    prompt_tokens_estimate: int = 0
    max_output_tokens: int | None = None  # per output choice; None: the client set no cap
    output_choices: int = 1  # outputs the provider makes and bills (OpenAI n/best_of, Gemini candidateCount)
    connection_created_at: int | None = None
    billable: bool = True
    refetchable_response: bool = False  # the provider stores the response and lets it be fetched again
    action: CallAction = "create"
    fetched_response_id: str | None = None
    """For a fetch of a stored response: the id the client asked for (never one the upstream chose)."""
    token_form: str = "legacy"  # who pays, per the forward token (gateway.tokens.TokenForm)
    spend_key_id: str | None = None  # a spend key's call: its limits are enforced with the hold
    stored_key: bool = False  # the merchant's stored provider key (provider_key_type "stored"), not managed
    client_format: str | None = None  # /v1/rewrite: the format the client spoke (the provider's is `provider`)

    @property
    def merchant_bears_cost(self) -> bool:
        """Current-generation calls that debit no customer: the merchant pays the provider cost."""
        return self.token_form in MERCHANT_PAYS_FORMS

    def service_charge_rate(self, configured: Decimal) -> Decimal:
        """The rate for this call (:func:`service_charge_rate_for`)."""
        return service_charge_rate_for(self.token_form, configured)

    @property
    def config(self) -> ProductConfig | None:
        if self.connection_id is None:
            return None
        return self.product or DEFAULT_PRODUCT


@dataclass
class Reservation:
    plan: ForwardPlan
    record: RequestRecord
    prices: ModelPrices | None = None
    hold_units: int = 0
    balance_after: int | None = None
    finished: bool = False  # settled or failed, committed


@dataclass(frozen=True)
class SubCallUsage:
    """A separately priced model call inside one response (Anthropic's advisor iterations)."""

    model: str
    usage: UnitCounts


@dataclass(frozen=True)
class Outcome:
    usage: UnitCounts
    provider_usage: dict[str, Any] | None
    model: str | None
    response_id: str | None
    estimated: bool = False
    pending: bool = False  # accepted by the provider, not yet done (background mode)
    sub_calls: tuple[SubCallUsage, ...] = ()


@dataclass(frozen=True)
class Quote:
    hold_units: int
    worst_case: Charges
    prices: ModelPrices | None
    input_tokens: int
    output_tokens: int

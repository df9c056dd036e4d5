"""The merchant fee (graduated tiers, token basis, percentage) and the service charge.

Pure arithmetic: no database, no HTTP, no clock. Money is integer units of 10⁻¹⁰ USD.

Decisions (docs/design.md "Money" leaves these open):

- **Quantities.** Tokens, characters and requests are ``int``. Seconds are ``Decimal`` and
  stay exact (a transcription may last 2.35 s).
- **Tier thresholds are in the tier type's counted unit**: tokens, characters, *seconds*
  (for ``minutes``) and requests, as ``product_config.Tier`` says. Only the rate is per
  minute (``cost = seconds × rate / 60``); breakdown entries report ``seconds``.
- **Token basis** applies to every countable type: ``input+output`` counts input and output
  tokens (characters, seconds); ``output`` counts only the output side. ``requests`` counts
  requests and ignores the basis.
- **Graduated tiers** (Stripe-style) on the connection's cumulative units since its last
  usage reset. Unit number ``p`` (0-based) belongs to the last tier whose ``start ≤ p``, so a
  request that covers ``[before, before + n)`` gets one breakdown entry per tier it touches.
- **Percentage fees** use the same tiers: the base cost is shared among the touched tiers in
  proportion to their units, and each share is charged at its tier's rate (``"20"`` = 20 %).
  With no units (e.g. output basis, no output tokens) the whole base goes to the tier the
  counter is in.
- **A request with no units** still gets one breakdown entry: the tier the counter is in,
  with zero units (cost 0 for fixed fees).
- **Rounding.** Each breakdown entry is rounded half-up to a unit once; the fee is the sum of
  the rounded entries. The service charge is the rounded fee × rate, rounded half-up.
  All arithmetic is exact integer arithmetic on the integer ratios of the Decimals, so no
  Decimal context precision can round anything silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Rounded, localcontext
from math import gcd
from types import MappingProxyType
from typing import Any

from ..money import UNITS_PER_USD, to_wire
from .product_config import ProductConfig, RateType, Tier, TierType, TokenBasis
from .usage import Usage

Quantity = int | Decimal

UNIT_SIZE: MappingProxyType[TierType, int] = MappingProxyType(
    {"tokens_1m": 1_000_000, "characters_1m": 1_000_000, "minutes": 60, "requests": 1}
)
DEFAULT_SERVICE_CHARGE_RATE = Decimal("0.019")
UnitCounts = Usage
"""What one request used: the one usage value (``billing.usage.Usage``), under its fee-side name."""


@dataclass(frozen=True, slots=True)
class FeeBreakdownItem:
    """One tier's share of a request. Only the field of the tier's type is non-zero."""

    tier: Tier
    tokens: int
    characters: int
    seconds: Decimal
    cost_units: int
    requests: int = 0  # not on the wire (the spec shape has no field for it)

    @property
    def units(self) -> Quantity:
        """This entry's units of the tier's type."""
        if self.tier.type == "minutes":
            return self.seconds
        return self.tokens + self.characters + self.requests  # only one of them is non-zero

    def to_wire(self) -> dict[str, Any]:
        return {
            "tier": {"start": self.tier.start, "rate": rate_to_wire(self.tier.rate), "type": self.tier.type},
            "tokens": self.tokens,
            "characters": self.characters,
            "seconds": seconds_to_wire(self.seconds),
            "cost": to_wire(self.cost_units),
        }


@dataclass(frozen=True, slots=True)
class FeeResult:
    amount_units: int
    breakdown: tuple[FeeBreakdownItem, ...]
    rate_type: RateType
    token_basis: TokenBasis

    def __post_init__(self) -> None:
        assert self.amount_units == sum(item.cost_units for item in self.breakdown), self

    @classmethod
    def zero(cls, config: ProductConfig | None) -> FeeResult:
        """No fee and no breakdown: a failed call, or metering only (``config`` None)."""
        if config is None:
            return cls(0, (), "fixed", "input+output")
        return cls(0, (), config.rate_type, config.token_basis)

    def to_wire(self) -> dict[str, Any]:
        return {
            "amount": to_wire(self.amount_units),
            "rate_type": self.rate_type,
            "token_basis": self.token_basis,
            "breakdown": [item.to_wire() for item in self.breakdown],
        }


def billable_units(config: ProductConfig, units: UnitCounts, request_count: int = 1) -> Quantity:
    """This request's units of the product's tier type (tokens, characters, seconds or requests)."""
    tier_type = config.tiers[0].type
    output_only = config.token_basis == "output"
    if tier_type == "tokens_1m":
        return units.output_tokens if output_only else units.input_tokens + units.output_tokens
    if tier_type == "characters_1m":
        return units.output_characters if output_only else units.input_characters + units.output_characters
    if tier_type == "minutes":
        return units.output_seconds if output_only else units.input_seconds + units.output_seconds
    if type(request_count) is not int or request_count < 0:
        raise ValueError(f"request_count must be a non-negative int, got {request_count!r}")
    return request_count


def tier_split(tiers: tuple[Tier, ...], units_before: Quantity, units_now: Quantity) -> list[tuple[Tier, Quantity]]:
    """Split the units ``[units_before, units_before + units_now)`` among graduated tiers.

    Returns one ``(tier, units)`` pair per tier touched, in tier order; with no units, the
    single tier the counter is in, with zero units.
    """
    parts: list[tuple[Tier, Quantity]] = []
    exact = Context(prec=100, traps=[Inexact, InvalidOperation, Rounded])
    with localcontext(exact):  # seconds are Decimals: their sums must never round
        end = units_before + units_now
        for index, tier in enumerate(tiers):
            low = max(tier.start, units_before)
            high = end if index + 1 == len(tiers) else min(tiers[index + 1].start, end)
            if high > low:
                parts.append((tier, high - low))
    if not parts:
        current = [tier for tier in tiers if tier.start <= units_before][-1]
        parts.append((current, units_now))  # units_now is a zero of the right type here
    return parts


def compute_fee(
    config: ProductConfig,
    *,
    units_before: Quantity,
    units_now: Quantity,
    base_cost_units: int = 0,
) -> FeeResult:
    """The merchant fee for one request.

    ``units_before``: the connection's cumulative billable units since its usage reset, before
    this request. ``units_now``: this request's billable units (see :func:`billable_units`).
    ``base_cost_units``: the model cost, used only by percentage fees.
    """
    tier_type = config.tiers[0].type
    before = _quantity("units_before", units_before, tier_type)
    now = _quantity("units_now", units_now, tier_type)
    if type(base_cost_units) is not int or base_cost_units < 0:
        raise ValueError(f"base_cost_units must be a non-negative int, got {base_cost_units!r}")
    items: list[FeeBreakdownItem] = []
    for tier, part in tier_split(config.tiers, before, now):
        if config.rate_type == "fixed":
            cost = exact_cost_units([(part, tier.rate, UNIT_SIZE[tier_type])])
        elif now == 0:
            cost = exact_cost_units([(base_cost_units, tier.rate, 100 * UNITS_PER_USD)])
        else:
            # base × (part / now) × rate / 100, in units; exact before the one rounding
            part_n, part_d = part.as_integer_ratio()
            now_n, now_d = now.as_integer_ratio()
            rate_n, rate_d = tier.rate.as_integer_ratio()
            cost = _div_half_up(base_cost_units * part_n * now_d * rate_n, part_d * now_n * rate_d * 100)
        items.append(_item(tier, part, cost))
    return FeeResult(sum(item.cost_units for item in items), tuple(items), config.rate_type, config.token_basis)


def compute_service_charge(fee_units: int, rate: Decimal = DEFAULT_SERVICE_CHARGE_RATE) -> int:
    """The platform's service charge: ``fee × rate`` (``0.019`` = 1.9 %), rounded half-up."""
    if type(fee_units) is not int or fee_units < 0:
        raise ValueError(f"fee_units must be a non-negative int, got {fee_units!r}")
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0:
        raise ValueError(f"service charge rate must be a non-negative Decimal, got {rate!r}")
    return exact_cost_units([(fee_units, rate, UNITS_PER_USD)])


def exact_cost_units(terms: Iterable[tuple[Quantity, Decimal, int]]) -> int:
    """Σ quantity × price / per (USD), rounded half-up once to units of 10⁻¹⁰ USD.

    Exact: every Decimal is taken as its integer ratio, so nothing is rounded before the end.
    """
    num, den = 0, 1
    for quantity, price, per in terms:
        if not price.is_finite() or price < 0 or quantity < 0 or per <= 0:
            raise ValueError(f"invalid cost term {quantity!r} × {price!r} / {per!r}")
        q_n, q_d = quantity.as_integer_ratio()
        p_n, p_d = price.as_integer_ratio()
        t_n, t_d = q_n * p_n, q_d * p_d * per
        num, den = num * t_d + t_n * den, den * t_d
        common = gcd(num, den)
        num, den = num // common, den // common
    return _div_half_up(num * UNITS_PER_USD, den)


def rate_to_wire(rate: Decimal) -> str:
    """A tier rate as a decimal string with at least 10 fractional digits (more if the rate has them)."""
    exponent = rate.as_tuple().exponent
    assert isinstance(exponent, int), rate
    return f"{rate:.{max(10, -exponent)}f}"


def seconds_to_wire(seconds: Decimal) -> int | Decimal:
    """Whole seconds as an int; fractional seconds as a Decimal (the JSON encoder writes it as a number)."""
    return int(seconds) if seconds == seconds.to_integral_value() else seconds


def _div_half_up(num: int, den: int) -> int:
    assert num >= 0, num
    assert den > 0, den
    return (2 * num + den) // (2 * den)


def _item(tier: Tier, part: Quantity, cost: int) -> FeeBreakdownItem:
    tokens = int(part) if tier.type == "tokens_1m" else 0
    characters = int(part) if tier.type == "characters_1m" else 0
    seconds = Decimal(part) if tier.type == "minutes" else Decimal(0)
    requests = int(part) if tier.type == "requests" else 0
    return FeeBreakdownItem(tier, tokens, characters, seconds, cost, requests)


def _quantity(name: str, value: Quantity, tier_type: TierType) -> Quantity:
    """Seconds as Decimal; everything else as int (whole units only)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError(f"{name} must be an int or Decimal, got {value!r}")
    if tier_type == "minutes":
        return _seconds(name, value)
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{name} must be finite, got {value!r}")
    if value < 0 or value != int(value):
        raise ValueError(f"{name} must be a whole non-negative number of {tier_type} units, got {value!r}")
    return int(value)


def _seconds(name: str, value: object) -> Decimal:
    if type(value) is int:
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a non-negative Decimal, got {value!r}")
    return value

"""Money: integer units of 10⁻¹⁰ USD inside, 10-decimal strings on the wire.

Never use float for money. Parsing is strict: a wire amount has at most 10
fractional digits and no exponent.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

UNITS_PER_USD = 10**10
SCALE = 10
MAX_UNITS = 2**62  # comfortably inside BIGINT; ~461 million USD
_AMOUNT_RE = re.compile(r"^-?\d{1,12}(?:\.\d{1,10})?$")


def to_wire(units: int) -> str:
    """``125_5000000000`` → ``"125.5000000000"``."""
    assert isinstance(units, int), units
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), UNITS_PER_USD)
    return f"{sign}{whole}.{frac:010d}"


def parse_amount(text: str, *, allow_negative: bool = False) -> int:
    """Parse a decimal USD string into units. Raises ``ValueError`` with a clear message."""
    if not isinstance(text, str) or not _AMOUNT_RE.match(text.strip()):
        raise ValueError(f"amount must be a decimal string with at most 10 fractional digits, got {text!r}")
    value = Decimal(text.strip())
    if value < 0 and not allow_negative:
        raise ValueError(f"amount must not be negative, got {text!r}")
    units = int(value * UNITS_PER_USD)
    assert Decimal(units) == value * UNITS_PER_USD
    if abs(units) > MAX_UNITS:
        raise ValueError(f"amount {text!r} is too large")
    return units


def parse_rate(text: str) -> Decimal:
    """A rate (USD per unit, or a percentage) as an exact Decimal; up to 12 fractional digits."""
    try:
        value = Decimal(str(text).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"rate must be a decimal string, got {text!r}") from exc
    if not value.is_finite() or value < 0:
        raise ValueError(f"rate must be a non-negative decimal, got {text!r}")
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > 12:
        raise ValueError(f"rate has too many fractional digits: {text!r}")
    return value


def round_units(usd: Decimal) -> int:
    """Round an exact USD amount half-up to whole units of 10⁻¹⁰ USD."""
    return int((usd * UNITS_PER_USD).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def units_to_decimal(units: int) -> Decimal:
    return Decimal(units) / UNITS_PER_USD

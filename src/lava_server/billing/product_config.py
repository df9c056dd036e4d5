"""A product's pricing configuration: what the merchant charges on top of model cost.

Stored as JSON on the product row; parsed strictly so a bad configuration is refused
at creation, never discovered at charge time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, cast

from ..money import parse_amount, parse_rate, to_wire

RateType = Literal["fixed", "percentage"]
TierType = Literal["tokens_1m", "characters_1m", "minutes", "requests"]
TokenBasis = Literal["input+output", "output"]
Payer = Literal["wallet", "merchant"]

MAX_FIXED_RATE = Decimal(1_000_000)  # USD per 1M tokens (= $1 a token), 1M characters, minute or request
RATE_TYPES: tuple[RateType, ...] = ("fixed", "percentage")
TIER_TYPES: tuple[TierType, ...] = ("tokens_1m", "characters_1m", "minutes", "requests")
TOKEN_BASES: tuple[TokenBasis, ...] = ("input+output", "output")
PAYERS: tuple[Payer, ...] = ("wallet", "merchant")


@dataclass(frozen=True)
class Tier:
    start: int  # threshold in units of `type` (tokens, characters, seconds, requests)
    rate: Decimal  # fixed: USD per unit of `type`; percentage: percent of base cost ("20" = 20 %)
    type: TierType


@dataclass(frozen=True)
class ProductConfig:
    rate_type: RateType = "fixed"
    tiers: tuple[Tier, ...] = field(default_factory=lambda: (Tier(0, Decimal(0), "tokens_1m"),))
    token_basis: TokenBasis = "input+output"
    base_cost_payer: Payer = "wallet"
    service_charge_payer: Payer = "wallet"
    overdraft_floor_units: int = 0  # how far below zero the balance may go; 0 = no overdraft
    allow_unpriced_models: bool = False

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a product needs at least one tier")
        if self.tiers[0].start != 0:
            raise ValueError("the first tier must start at 0")
        for a, b in zip(self.tiers, self.tiers[1:], strict=False):
            if b.start <= a.start:
                raise ValueError("tier starts must be strictly ascending")
        if len({t.type for t in self.tiers}) != 1:
            raise ValueError("all tiers of a product must have the same type")
        if self.rate_type == "percentage" and any(t.rate > 1000 for t in self.tiers):
            raise ValueError("a percentage rate above 1000 is surely a mistake")
        if self.rate_type == "fixed" and any(t.rate > MAX_FIXED_RATE for t in self.tiers):
            raise ValueError(f"a fixed rate above {MAX_FIXED_RATE} USD per unit is surely a mistake")
        if self.overdraft_floor_units < 0:
            raise ValueError("overdraft floor must not be negative")

    def with_tiers(self, tiers: tuple[Tier, ...]) -> ProductConfig:
        """The same product priced by ``tiers`` (validated like any ProductConfig: ValueError)."""
        return replace(self, tiers=tiers)

    def to_json(self) -> str:
        return json.dumps(
            {
                "rate_type": self.rate_type,
                "tiers": [{"start": t.start, "rate": str(t.rate), "type": t.type} for t in self.tiers],
                "token_basis": self.token_basis,
                "base_cost_payer": self.base_cost_payer,
                "service_charge_payer": self.service_charge_payer,
                "overdraft_floor": to_wire(self.overdraft_floor_units),
                "allow_unpriced_models": self.allow_unpriced_models,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ProductConfig:
        data = json.loads(text)
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProductConfig:
        tiers = tuple(
            Tier(int(t["start"]), parse_rate(str(t["rate"])), _choice(t.get("type", "tokens_1m"), TIER_TYPES))
            for t in data.get("tiers") or [{"start": 0, "rate": "0", "type": "tokens_1m"}]
        )
        return cls(
            rate_type=_choice(data.get("rate_type", "fixed"), RATE_TYPES),
            tiers=tiers,
            token_basis=_choice(data.get("token_basis", "input+output"), TOKEN_BASES),
            base_cost_payer=_choice(data.get("base_cost_payer", "wallet"), PAYERS),
            service_charge_payer=_choice(data.get("service_charge_payer", "wallet"), PAYERS),
            overdraft_floor_units=parse_amount(str(data.get("overdraft_floor", "0"))),
            allow_unpriced_models=bool(data.get("allow_unpriced_models", False)),
        )


def _choice(value: Any, allowed: tuple[str, ...]) -> Any:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {', '.join(allowed)}")
    return cast(Any, value)


def parse_tier_spec(spec: str, default_type: TierType = "tokens_1m") -> Tier:
    """CLI form ``START:RATE[:TYPE]``, e.g. ``0:5.00:tokens_1m``."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise ValueError(f"tier must be START:RATE[:TYPE], got {spec!r}")
    try:
        start = int(parts[0])
    except ValueError as exc:
        raise ValueError(f"tier start must be an integer, got {parts[0]!r}") from exc
    if start < 0:
        raise ValueError("tier start must not be negative")
    tier_type = _choice(parts[2], TIER_TYPES) if len(parts) == 3 else default_type
    return Tier(start, parse_rate(parts[1]), tier_type)

"""The unit pricing table and the price values: which catalogue price keys price which
:class:`Usage` field, and one model's prices (:class:`ModelPrices`, with threshold tiers).

Re-exported by :mod:`.pricing`, which callers use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from genai_prices.data_units import unit_data
from genai_prices.types import ModelPrice, TieredPrices

OVERRIDE_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")


@dataclass(frozen=True, slots=True)
class UnitPricing:
    """How one :class:`Usage` field is priced.

    ``catalogue_keys``: the genai-prices usage keys the field is passed as. ``price_keys``: the
    price keys that can price it, most specific first (a 1-hour cache write falls back to the
    cache-write price, then to the input price). A field whose ``price_keys`` are all missing
    from a model's prices is *unpriced* for that model and listed in the record.
    """

    catalogue_keys: tuple[str, ...]
    price_keys: tuple[str, ...]


UNIT_PRICING: Mapping[str, UnitPricing] = MappingProxyType(
    {
        "input_tokens": UnitPricing(("input_tokens",), ("input_mtok",)),
        "output_tokens": UnitPricing(("output_tokens",), ("output_mtok",)),
        "cached_input_tokens": UnitPricing(("cache_read_tokens",), ("cache_read_mtok", "input_mtok")),
        "cache_write_tokens": UnitPricing(("cache_write_tokens",), ("cache_write_mtok", "input_mtok")),
        "cache_write_1h_tokens": UnitPricing(
            ("cache_write_1h_tokens",), ("cache_write_1h_mtok", "cache_write_mtok", "input_mtok")
        ),
        "reasoning_tokens": UnitPricing(("output_reasoning_tokens",), ("output_reasoning_mtok", "output_mtok")),
        "input_audio_tokens": UnitPricing(("input_audio_tokens",), ("input_audio_mtok", "input_mtok")),
        "output_audio_tokens": UnitPricing(("output_audio_tokens",), ("output_audio_mtok", "output_mtok")),
        "input_image_tokens": UnitPricing(("input_image_tokens",), ("input_image_mtok", "input_mtok")),
        "output_image_tokens": UnitPricing(("output_image_tokens",), ("output_image_mtok", "output_mtok")),
        "input_characters": UnitPricing(("input_characters",), ("input_mchars",)),
        "output_characters": UnitPricing((), ()),  # the catalogue has no output-character unit
        "input_seconds": UnitPricing(("input_audio_seconds",), ("input_audio_hours", "audio_hours")),
        "output_seconds": UnitPricing(("output_audio_seconds",), ("output_audio_hours", "audio_hours")),
        "web_search_requests": UnitPricing(("web_searches",), ("web_searches_kcount",)),
        "file_search_requests": UnitPricing(("storage_searches",), ("storage_searches_kcount",)),
    }
)

_KNOWN_PRICE_KEYS = frozenset(str(unit.get("price_key", key)) for key, unit in unit_data.items())
_TOKEN_PARENTS = (
    ("cache_read_mtok", "input_mtok"),
    ("cache_write_mtok", "input_mtok"),
    ("cache_write_1h_mtok", "cache_write_mtok"),
)


@dataclass(frozen=True, slots=True)
class PriceTiers:
    """Threshold tiers: above ``start`` total input tokens, ``price`` applies to every unit."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "tiers", tuple(sorted(self.tiers, key=lambda tier: tier[0])))

    def resolve(self, total_input_tokens: int) -> Decimal:
        for start, price in reversed(self.tiers):
            if total_input_tokens > start:
                return price
        return self.base


Price = Decimal | PriceTiers


@dataclass(frozen=True, slots=True)
class ModelPrices:
    """One model's prices in USD per catalogue unit (per MTok for tokens), with their origin.

    ``extras`` holds the catalogue's other price keys (``input_mchars``, ``input_audio_hours``,
    ``requests_kcount``, …). ``provenance`` says where the prices came from.
    """

    input_mtok: Price | None = None
    output_mtok: Price | None = None
    cache_read_mtok: Price | None = None
    cache_write_mtok: Price | None = None
    cache_write_1h_mtok: Price | None = None
    extras: Mapping[str, Price] = field(default_factory=dict)
    provenance: Mapping[str, str] = field(default_factory=dict)
    _all: Mapping[str, Price] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "extras", MappingProxyType(dict(self.extras)))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))
        named = {key: getattr(self, key) for key in OVERRIDE_FIELDS if getattr(self, key) is not None}
        if named.keys() & self.extras.keys():
            raise ValueError(f"price keys given twice: {sorted(named.keys() & self.extras.keys())}")
        object.__setattr__(self, "_all", MappingProxyType({**named, **self.extras}))
        for key, parent in _TOKEN_PARENTS:
            if key in self._all and parent not in self._all:
                raise ValueError(f"{key} needs {parent} as well (its units are a subset of {parent}'s)")
        for key, price in self._all.items():
            if key not in _KNOWN_PRICE_KEYS:
                raise ValueError(f"unknown price key {key!r}")
            for value in (price.base, *(p for _, p in price.tiers)) if isinstance(price, PriceTiers) else (price,):
                if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                    raise ValueError(f"price {key} must be a non-negative Decimal, got {value!r}")

    def prices(self) -> Mapping[str, Price]:
        """Every set price by catalogue price key."""
        return self._all

    def effective(self, total_input_tokens: int) -> dict[str, Decimal]:
        """Flat prices for a request with this many input tokens (threshold tiers resolved)."""
        return {
            key: price.resolve(total_input_tokens) if isinstance(price, PriceTiers) else price
            for key, price in self._all.items()
        }

    @classmethod
    def from_catalogue(cls, price: ModelPrice, provenance: Mapping[str, str]) -> ModelPrices:
        values: dict[str, Price] = {}
        for key, value in vars(price).items():
            if key.startswith("_") or value is None:
                continue
            if isinstance(value, TieredPrices):
                values[key] = PriceTiers(value.base, tuple((tier.start, tier.price) for tier in value.tiers))
            else:
                values[key] = value
        named = {key: values.pop(key) for key in OVERRIDE_FIELDS if key in values}
        return cls(**named, extras=values, provenance=provenance)

    @classmethod
    def from_unit_prices(cls, unit_prices: Mapping[str, str], provenance: Mapping[str, str]) -> ModelPrices:
        """Rebuild flat prices from a recorded :attr:`BaseCost.unit_prices`."""
        try:  # not parse_rate: catalogue prices may carry more than 12 fractional digits
            values: dict[str, Price] = {key: Decimal(text) for key, text in unit_prices.items()}
        except ArithmeticError as exc:
            raise ValueError(f"recorded prices are not all decimals: {dict(unit_prices)}") from exc
        named = {key: values.pop(key) for key in OVERRIDE_FIELDS if key in values}
        return cls(**named, extras=values, provenance=provenance)

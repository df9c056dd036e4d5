"""Model prices and the base (model) cost of a request.

Prices come from pydantic's ``genai-prices`` catalogue, **bundled data only**: its
``UpdatePrices`` updater is never started, so nothing here touches the network. Operator
overrides, per ``"<provider>/<model>"``, win over the catalogue.

- The caller passes the request timestamp. Catalogue prices can depend on the date and the
  time of day (DeepSeek off-peak), so "now" is never assumed.
- The provider id is the catalogue's id (``"x-ai"``, not the gateway slug ``"xai"``). The
  gateway maps its slugs. Override keys use the same id.
- Threshold tiers (Gemini above 200k input tokens) follow the catalogue's rule: once the
  request's total input tokens exceed a tier's start, that tier's price applies to all of
  that kind of unit. They are resolved per request; :class:`BaseCost` records the flat
  prices it used (``unit_prices``) and their provenance, so :func:`reprice` recomputes any
  recorded charge exactly.
- ``input_cost`` is everything that is not output: input tokens, cache reads and writes,
  input audio and image tokens, characters, audio seconds, web and file searches, and
  per-request prices. ``output_cost`` is output tokens
  (reasoning included). Each is rounded half-up to a unit once.
- Not modelled: request-context price variants (batch, flex or priority service tiers) and
  provider quirks the catalogue applies outside its price tables (Groq bills Whisper for at
  least 10 s; we bill the seconds reported).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from genai_prices import Usage as _CatalogueUsage
from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices.data_units import unit_data
from genai_prices.types import ModelPrice

from ..money import round_units
from .fees import exact_cost_units
from .pricing_catalogue import (
    MAX_MODEL_REF_CHARS,
    PriceSource,
    UnknownModelPrice,
    override_key,
    parse_overrides,
    unknown_price_message,
)
from .pricing_units import OVERRIDE_FIELDS, UNIT_PRICING, ModelPrices, Price, PriceTiers, UnitPricing
from .usage import Usage

__all__ = [
    "GENAI_PRICES_VERSION",
    "MAX_MODEL_REF_CHARS",
    "OVERRIDE_FIELDS",
    "UNIT_PRICING",
    "BaseCost",
    "ModelPrices",
    "Price",
    "PriceSource",
    "PriceTiers",
    "UnitPricing",
    "UnknownModelPrice",
    "base_cost",
    "override_key",
    "parse_overrides",
    "reprice",
    "unknown_price_message",
    "unpriced_units",
]

_FAST_KEYS = frozenset(("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok"))
_IMPLICIT_KEYS = frozenset(("requests_kcount",))  # priced per call: every request counts one
# price key → the usage fields it can price (for the fast-path test below)
_FIELDS_OF_KEY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        key: tuple(name for name, unit in UNIT_PRICING.items() if key in unit.price_keys)
        for key in {key for unit in UNIT_PRICING.values() for key in unit.price_keys}
    }
)


@dataclass(frozen=True, slots=True)
class BaseCost:
    """The model cost of one request, with the exact prices used and where they came from."""

    input_cost_units: int
    output_cost_units: int
    unit_prices: Mapping[str, str]  # catalogue price key → USD per unit of that key, tiers resolved
    provenance: Mapping[str, str]

    def __post_init__(self) -> None:
        for units in (self.input_cost_units, self.output_cost_units):
            assert type(units) is int and units >= 0, units  # noqa: PT018
        object.__setattr__(self, "unit_prices", MappingProxyType(dict(self.unit_prices)))
        object.__setattr__(self, "provenance", MappingProxyType(dict(self.provenance)))

    @property
    def total_units(self) -> int:
        return self.input_cost_units + self.output_cost_units

    @classmethod
    def unpriced(cls, provider_id: str, model: str) -> BaseCost:
        """Zero cost for a model with no price, where the product allows unpriced models."""
        return cls(0, 0, {}, {"source": "unpriced", "provider_id": provider_id, "model_ref": model})


def base_cost(usage: Usage, prices: ModelPrices) -> BaseCost:
    """Price one request's usage.

    Every priced unit is charged (``UNIT_PRICING``). When only plain token prices apply, an
    exact integer fast path computes the cost; otherwise (characters, audio seconds or tokens,
    images, web or file searches, per-request prices, separately priced reasoning) the
    catalogue's own ``ModelPrice.calc_price`` computes it on the flat prices. Both give the
    same result where both apply.
    """
    flat = prices.effective(usage.input_tokens)
    if _fast_path(usage, flat):
        input_units, output_units = _token_cost(usage, flat)
    else:
        result = ModelPrice(**flat).calc_price(_catalogue_usage(usage))
        output_units = round_units(result["output_price"])
        input_units = round_units(result["total_price"] - result["output_price"])
    unit_prices = {key: format(value, "f") for key, value in flat.items()}
    return BaseCost(input_units, output_units, unit_prices, prices.provenance)


def unpriced_units(usage: Usage, price_keys: Collection[str]) -> tuple[str, ...]:
    """The usage fields with a non-zero count that none of ``price_keys`` prices.

    Such units were metered but cost nothing; the request record states them
    (``pricing.unpriced_units``), so an operator can add the missing price.
    """
    return tuple(
        name
        for name, unit in UNIT_PRICING.items()
        if getattr(usage, name) and not any(key in price_keys for key in unit.price_keys)
    )


def _fast_path(usage: Usage, flat: Mapping[str, Decimal]) -> bool:
    """True when every set price is a plain token price, or prices a unit this call did not use."""
    for key in flat:
        if key in _FAST_KEYS:
            continue
        if key in _IMPLICIT_KEYS or any(getattr(usage, name) for name in _FIELDS_OF_KEY.get(key, ())):
            return False
    return True


def reprice(usage: Usage, unit_prices: Mapping[str, str], provenance: Mapping[str, str]) -> BaseCost:
    """Recompute a recorded base cost from its recorded flat prices."""
    return base_cost(usage, ModelPrices.from_unit_prices(unit_prices, provenance))


def _token_cost(usage: Usage, flat: Mapping[str, Decimal]) -> tuple[int, int]:
    """Cached and cache-write tokens at their own price when it exists, else at the input price."""
    write_1h = usage.cache_write_1h_tokens if "cache_write_1h_mtok" in flat else 0
    write = usage.cache_write_tokens - write_1h if "cache_write_mtok" in flat else 0
    read = usage.cached_input_tokens if "cache_read_mtok" in flat else 0
    plain = usage.input_tokens - read - write - write_1h
    parts = (
        (plain, "input_mtok"),
        (read, "cache_read_mtok"),
        (write, "cache_write_mtok"),
        (write_1h, "cache_write_1h_mtok"),
    )
    input_units = exact_cost_units((count, flat[key], 1_000_000) for count, key in parts if key in flat)
    output_price = flat.get("output_mtok")
    output_units = exact_cost_units(
        [(usage.output_tokens, output_price, 1_000_000)] if output_price is not None else []
    )
    return input_units, output_units


# Catalogue usage keys where two priced dimensions overlap (cached audio, reasoning images, …).
# No provider we meter reports them, and ``Usage`` keeps audio and image parts uncached and
# non-reasoning, so they are stated as zero (the catalogue refuses to guess them).
_UNREPORTED_OVERLAPS = tuple(
    key
    for key, unit in unit_data.items()
    if key.startswith(("cache_audio_", "cache_image_", "output_audio_reasoning", "output_image_reasoning"))
)


def _catalogue_usage(usage: Usage) -> _CatalogueUsage:
    values: dict[str, int | Decimal] = dict.fromkeys(_UNREPORTED_OVERLAPS, 0)
    values["audio_seconds"] = usage.input_seconds + usage.output_seconds
    for name, unit in UNIT_PRICING.items():
        for key in unit.catalogue_keys:
            values[key] = getattr(usage, name)
    return _CatalogueUsage(**values)

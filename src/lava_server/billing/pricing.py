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

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from genai_prices import Usage as _CatalogueUsage
from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices import data_snapshot
from genai_prices.data_units import unit_data
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices

from ..money import parse_rate, round_units
from .fees import exact_cost_units
from .usage import Usage

__all__ = [
    "GENAI_PRICES_VERSION",
    "UNIT_PRICING",
    "BaseCost",
    "ModelPrices",
    "PriceSource",
    "PriceTiers",
    "UnitPricing",
    "UnknownModelPrice",
    "base_cost",
    "reprice",
    "unknown_price_message",
    "unpriced_units",
]

OVERRIDE_FIELDS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok")
_REQUIRED_OVERRIDE_FIELDS = ("input_mtok", "output_mtok")
_FAST_KEYS = frozenset(("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_1h_mtok"))
_IMPLICIT_KEYS = frozenset(("requests_kcount",))  # priced per call: every request counts one


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
# price key → the usage fields it can price (for the fast-path test below)
_FIELDS_OF_KEY: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        key: tuple(name for name, unit in UNIT_PRICING.items() if key in unit.price_keys)
        for key in {key for unit in UNIT_PRICING.values() for key in unit.price_keys}
    }
)
_KNOWN_PRICE_KEYS = frozenset(str(unit.get("price_key", key)) for key, unit in unit_data.items())
_OVERRIDE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*/\S+$")
_TOKEN_PARENTS = (
    ("cache_read_mtok", "input_mtok"),
    ("cache_write_mtok", "input_mtok"),
    ("cache_write_1h_mtok", "cache_write_mtok"),
)
MAX_MODEL_REF_CHARS = 256
_MAX_CONDITIONAL_PRICES = 32


class UnknownModelPrice(LookupError):
    """No price for this (provider, model). The API answers 400 ``unknown_model_price``."""

    code = "unknown_model_price"

    def __init__(self, provider_id: str, model: str) -> None:
        super().__init__(f"no price is known for model {model!r} of provider {provider_id!r}")
        self.provider_id = provider_id
        self.model = model


def unknown_price_message(provider: str, provider_id: str | None, model: str | None) -> str:
    """The ``unknown_model_price`` message: it names the exact command that prices the model.

    ``provider`` is the gateway slug, ``provider_id`` the price-key provider id that settlement
    looks prices up under (``lava prices set --provider`` writes the same id).
    """
    if not model:
        return (
            f"the gateway could not read which model this {provider} request uses, so it cannot price "
            "it; send the model in the JSON body, form field or URL, or allow unpriced models on the product"
        )
    pid = provider_id or provider
    return (
        f"no price for model {model!r} of provider {pid!r}; the operator can set one with "
        f"`lava prices set --provider {pid} --model {model} --input-mtok <USD> --output-mtok <USD>`, "
        "or allow unpriced models on the product"
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


@dataclass(slots=True)
class _Found:
    provider: Provider
    info: ModelInfo
    # id(catalogue ModelPrice) → (that ModelPrice, converted); one per conditional price at most
    converted: dict[int, tuple[ModelPrice, ModelPrices]] = field(default_factory=dict)


class PriceSource:
    """Looks up a model's prices: operator overrides first, then the bundled catalogue.

    Lookups are cached per instance in a bounded LRU (model names come from requests).
    """

    def __init__(self, overrides_file: str | Path | None = None, *, cache_size: int = 4096) -> None:
        self._file = Path(overrides_file) if overrides_file is not None else None
        self._overrides: dict[str, ModelPrices] = {}
        if self._file is not None:
            try:
                text = self._file.read_text(encoding="utf-8")
            except OSError as exc:
                raise ValueError(f"cannot read prices file {self._file}: {exc}") from exc
            self._overrides = parse_overrides(text, source=str(self._file))
        self._snapshot = data_snapshot.get_snapshot()  # bundled data; loads it once, up front
        self._cache_size = cache_size
        self._lookups: OrderedDict[tuple[str, str], _Found | None] = OrderedDict()
        self._lock = threading.Lock()

    def prices_for(self, provider_id: str, model: str, at: datetime) -> ModelPrices | None:
        """Prices in force at ``at`` (timezone-aware), or None if the model has none."""
        if at.tzinfo is None:
            raise ValueError("the request timestamp must be timezone-aware")
        key = override_key(provider_id, model)
        if key in self._overrides:
            return self._overrides[key]
        found = self._lookup(provider_id.strip().lower(), model.strip().lower())
        if found is None:
            return None
        catalogue_price = found.info.get_prices(at)  # resolves date and time-of-day conditions
        cached = found.converted.get(id(catalogue_price))
        if cached is not None and cached[0] is catalogue_price:
            return cached[1]
        provenance = {
            "source": "genai-prices",
            "version": GENAI_PRICES_VERSION,
            "provider_id": found.provider.id,
            "model_id": found.info.id,
        }
        prices = ModelPrices.from_catalogue(catalogue_price, provenance)
        if len(found.converted) >= _MAX_CONDITIONAL_PRICES:  # a bound, never reached by the bundled data
            found.converted.clear()
        found.converted[id(catalogue_price)] = (catalogue_price, prices)
        return prices

    def require(self, provider_id: str, model: str, at: datetime) -> ModelPrices:
        """Like :meth:`prices_for`, but an unknown model raises :class:`UnknownModelPrice`."""
        prices = self.prices_for(provider_id, model, at)
        if prices is None:
            raise UnknownModelPrice(provider_id, model)
        return prices

    def set_override(
        self,
        provider_id: str,
        model: str,
        *,
        input_mtok: Decimal | str,
        output_mtok: Decimal | str,
        cache_read_mtok: Decimal | str | None = None,
        cache_write_mtok: Decimal | str | None = None,
        cache_write_1h_mtok: Decimal | str | None = None,
    ) -> ModelPrices:
        key = override_key(provider_id, model)
        given = {
            "input_mtok": input_mtok,
            "output_mtok": output_mtok,
            "cache_read_mtok": cache_read_mtok,
            "cache_write_mtok": cache_write_mtok,
            "cache_write_1h_mtok": cache_write_1h_mtok,
        }
        entry = {name: str(value) for name, value in given.items() if value is not None}
        prices = _parse_override(key, entry, source=None)
        self._overrides[key] = prices
        return prices

    def remove_override(self, provider_id: str, model: str) -> bool:
        return self._overrides.pop(override_key(provider_id, model), None) is not None

    @property
    def overrides(self) -> Mapping[str, ModelPrices]:
        return MappingProxyType(self._overrides)

    def to_json(self) -> str:
        """The overrides in the prices-file format (what :func:`parse_overrides` reads)."""
        data = {
            key: {name: str(getattr(prices, name)) for name in OVERRIDE_FIELDS if getattr(prices, name) is not None}
            for key, prices in sorted(self._overrides.items())
        }
        return json.dumps(data, indent=2) + "\n"

    def _lookup(self, provider_id: str, model: str) -> _Found | None:
        if not provider_id or not model or len(model) > MAX_MODEL_REF_CHARS:
            return None
        cache_key = (provider_id, model)
        with self._lock:
            if cache_key in self._lookups:
                self._lookups.move_to_end(cache_key)
                return self._lookups[cache_key]
        found: _Found | None = None
        provider = data_snapshot.find_provider_by_id(self._snapshot.providers, provider_id)
        if provider is not None:
            info = provider.find_model(model, all_providers=self._snapshot.providers)
            found = _Found(provider, info) if info is not None else None
        with self._lock:
            self._lookups[cache_key] = found
            while len(self._lookups) > self._cache_size:
                self._lookups.popitem(last=False)
        return found


def override_key(provider_id: str, model: str) -> str:
    return f"{provider_id.strip().lower()}/{model.strip().lower()}"


def parse_overrides(text: str, *, source: str) -> dict[str, ModelPrices]:
    """Parse a prices file strictly. Every problem is a ``ValueError`` naming the entry.

    Format: ``{"<provider>/<model>": {"input_mtok": "2.50", "output_mtok": "10", ...}}``;
    prices are decimal strings in USD per million tokens. ``input_mtok`` and ``output_mtok``
    are required (an unknown model is never free by omission); ``cache_read_mtok``,
    ``cache_write_mtok`` and ``cache_write_1h_mtok`` are optional and fall back to the input
    price.
    """
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except ValueError as exc:
        raise ValueError(f"prices file {source}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f'prices file {source}: must be a JSON object of "<provider>/<model>" entries')
    result: dict[str, ModelPrices] = {}
    for raw_key, entry in data.items():
        key = raw_key.strip().lower()
        if not _OVERRIDE_KEY_RE.match(key):
            raise ValueError(f'prices file {source}: key {raw_key!r} must look like "<provider>/<model>"')
        if key in result:
            raise ValueError(f"prices file {source}: key {raw_key!r} appears twice (keys are case-insensitive)")
        result[key] = _parse_override(key, entry, source=source)
    return result


def _parse_override(key: str, entry: object, *, source: str | None) -> ModelPrices:
    where = f"prices file {source}: {key!r}" if source is not None else f"price override {key!r}"
    if not _OVERRIDE_KEY_RE.match(key):
        raise ValueError(f'{where}: key must look like "<provider>/<model>"')
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: must be an object of prices")
    unknown = sorted(set(entry) - set(OVERRIDE_FIELDS))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(OVERRIDE_FIELDS)}")
    missing = [name for name in _REQUIRED_OVERRIDE_FIELDS if name not in entry]
    if missing:
        raise ValueError(f"{where}: missing required field(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name, value in entry.items():
        if not isinstance(value, str):
            raise ValueError(f'{where}: {name} must be a decimal string like "2.50", got {value!r}')
        try:
            values[name] = parse_rate(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {name}: {exc}") from exc
    provenance = {"source": "override", "key": key}
    if source is not None:
        provenance["file"] = source
    try:
        return ModelPrices(**values, provenance=provenance)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise ValueError(f"duplicate key {name!r}")
        result[name] = value
    return result

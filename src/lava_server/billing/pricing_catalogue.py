"""Where prices come from: operator overrides first, then the bundled genai-prices catalogue
(never its network updater), looked up per provider and model at the request's time.

Re-exported by :mod:`.pricing`, which callers use.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

from genai_prices import __version__ as GENAI_PRICES_VERSION
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider

from ..money import parse_rate
from .pricing_units import OVERRIDE_FIELDS, ModelPrices

_REQUIRED_OVERRIDE_FIELDS = ("input_mtok", "output_mtok")
_OVERRIDE_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*/\S+$")
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

"""The one usage value: every field is serialised, priced (or declared unpriced), recorded and repriced.

These tests iterate the dataclass fields of ``billing.usage.Usage``: adding a field without
handling it in serialisation, ``pricing.UNIT_PRICING``, the catalogue mapping or repricing
makes one of them fail.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from lava_server.billing.pricing import UNIT_PRICING, ModelPrices, PriceSource, base_cost, unpriced_units
from lava_server.billing.product_config import ProductConfig, Tier
from lava_server.billing.repricing import recompute
from lava_server.billing.usage import MAX_COUNT, SECONDS_FIELDS, USAGE_FIELDS, Usage
from lava_server.gateway.dialects import ANTHROPIC_MESSAGES
from lava_server.gateway.providers import provider_for_host
from lava_server.gateway.usage import ReportedUsage, normalised
from lava_server.money import round_units, to_wire

from .usage_fixtures import PERCENT, RATE, all_prices, record_of

D = Decimal
AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# The smallest usage in which ``name`` is non-zero: its parents (the totals it is a part of) too.
PARENTS = {
    "cached_input_tokens": ("input_tokens",),
    "cache_write_tokens": ("input_tokens",),
    "cache_write_1h_tokens": ("cache_write_tokens", "input_tokens"),
    "reasoning_tokens": ("output_tokens",),
    "input_audio_tokens": ("input_tokens",),
    "input_image_tokens": ("input_tokens",),
    "output_audio_tokens": ("output_tokens",),
    "output_image_tokens": ("output_tokens",),
}


def only(name: str, count: int = 1000) -> Usage:
    values = dict.fromkeys((name, *PARENTS.get(name, ())), D(count) if name in SECONDS_FIELDS else count)
    return Usage(**values)


def every_unit(scale: int = 1) -> Usage:
    """Every field non-zero and distinct, within the invariants."""
    return Usage(
        input_tokens=100_000 * scale,
        output_tokens=50_000 * scale,
        cached_input_tokens=20_000 * scale,
        cache_write_tokens=30_000 * scale,
        cache_write_1h_tokens=7_000 * scale,
        reasoning_tokens=11_000 * scale,
        input_audio_tokens=13_000 * scale,
        output_audio_tokens=3_000 * scale,
        input_image_tokens=5_000 * scale,
        output_image_tokens=4_000 * scale,
        input_characters=1234 * scale,
        output_characters=77 * scale,
        input_seconds=D("12.345") * scale,
        output_seconds=D("6.5") * scale,
        web_search_requests=3 * scale,
        file_search_requests=2 * scale,
    )


def test_every_field_round_trips_through_json() -> None:
    usage = every_unit()
    data = orjson.loads(orjson.dumps(usage.to_json()))
    assert set(data) == set(USAGE_FIELDS)
    assert Usage.from_json(data) == usage
    for name in USAGE_FIELDS:  # each field individually, so none is silently dropped
        assert Usage.from_json(only(name).to_json()) == only(name)


def test_from_json_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="unknown usage field"):
        Usage.from_json({"input_tokens": 1, "teleport_tokens": 2})


def test_every_field_is_priced_or_declared_unpriced() -> None:
    assert set(UNIT_PRICING) == set(USAGE_FIELDS)
    declared_unpriced = {name for name, unit in UNIT_PRICING.items() if not unit.price_keys}
    assert declared_unpriced == {"output_characters"}  # the catalogue has no output-character unit
    for name, unit in UNIT_PRICING.items():
        assert bool(unit.catalogue_keys) == bool(unit.price_keys), name


@pytest.mark.parametrize("name", [n for n, u in UNIT_PRICING.items() if u.price_keys])
def test_a_priced_unit_is_charged_at_its_own_price(name: str) -> None:
    """With only that unit (and its parent totals) used, the cost equals count × its own price."""
    unit = UNIT_PRICING[name]
    own = unit.price_keys[0]
    usage = only(name)
    parents = {UNIT_PRICING[p].price_keys[0] for p in PARENTS.get(name, ())}
    flat = {key: D(1) for key in parents} | {own: D(40)}
    if own == "cache_write_1h_mtok":
        flat["cache_write_mtok"] = D(1)
    if own.endswith("_audio_hours"):
        flat["audio_hours"] = D(1)  # the catalogue needs the parent of a directional audio price
    named = {k: flat.pop(k) for k in list(flat) if k.endswith("_mtok") and k in ModelPrices.__dataclass_fields__}
    prices = ModelPrices(**named, extras=flat, provenance={})
    per = {"mtok": 1_000_000, "hours": 3600, "kcount": 1000, "mchars": 1_000_000}[own.rsplit("_", 1)[1]]
    cost = base_cost(usage, prices)
    assert cost.total_units == round_units(D(1000) * 40 / per)
    assert unpriced_units(usage, prices.prices().keys()) == ()


def test_a_metered_unit_without_price_is_stated() -> None:
    usage = Usage(input_tokens=10, output_tokens=5, web_search_requests=2, output_characters=9)
    prices = ModelPrices(input_mtok=D(1), output_mtok=D(2))
    assert unpriced_units(usage, prices.prices().keys()) == ("output_characters", "web_search_requests")
    rec = record_of(usage, prices, PERCENT)
    detail = orjson.loads(rec.pricing_detail or "{}")
    assert detail["unpriced_units"] == ["output_characters", "web_search_requests"]
    assert Usage.from_json(detail["usage"]) == usage


@pytest.mark.parametrize("config", [PERCENT, ProductConfig(tiers=(Tier(0, D("3"), "tokens_1m"),)), None])
@pytest.mark.parametrize("scale", [1, 7])
def test_repricing_agrees_with_settlement_for_every_unit(config: ProductConfig | None, scale: int) -> None:
    rec = record_of(every_unit(scale), all_prices(), config)
    recorded, recomputed = recompute(rec, config, default_rate=RATE)
    assert recorded == recomputed
    assert recorded["base_cost"] > 0


def test_claude_1h_cache_writes_reprice_without_a_false_mismatch() -> None:
    """The review's case: a Sonnet 4.5 call whose cache writes were all 1-hour ones."""
    prices = PriceSource().require("anthropic", "claude-sonnet-4-5-20250929", AT)
    usage = Usage(input_tokens=75_000, cache_write_tokens=75_000, cache_write_1h_tokens=75_000)
    rec = record_of(usage, prices, PERCENT)
    assert rec.base_cost == 4_500_000_000  # 75k × $6/M: the 1-hour write price, not $3.75
    recorded, recomputed = recompute(rec, PERCENT, default_rate=RATE)
    assert recorded == recomputed


# -- field fault "anthropic-web-search-fee" (own fixture: the provider's exact body) ---------

WEB_SEARCH_BODY = (
    b'{"id":"msg_qa_ws","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",'
    b'"content":[{"type":"text","text":"Found it."}],"stop_reason":"end_turn","stop_sequence":null,'
    b'"usage":{"input_tokens":10423,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,'
    b'"output_tokens":341,"server_tool_use":{"web_search_requests":3}}}'
)


def test_anthropic_web_searches_are_charged() -> None:
    provider = provider_for_host("api.anthropic.com")
    assert provider is not None
    metered = ANTHROPIC_MESSAGES.meter_body(200, "application/json", WEB_SEARCH_BODY, None, provider)
    assert metered.usage is not None and metered.usage.web_search_requests == 3
    prices = PriceSource().require("anthropic", "claude-sonnet-4-5-20250929", AT)
    rec = record_of(metered.usage, prices, PERCENT)
    # 10423 × $3/M + 341 × $15/M + 3 × $10/1000
    assert to_wire(rec.base_cost) == "0.0663840000"
    assert recompute(rec, PERCENT, default_rate=RATE)[0] == recompute(rec, PERCENT, default_rate=RATE)[1]


# -- provider numbers out of range (issue 14 item 2) ---------------------------------------


@pytest.mark.parametrize("value", [2**63 + 5, 2**64 - 1, int(1e308), -(2**70), MAX_COUNT + 1])
def test_out_of_range_provider_numbers_are_recorded_as_text_and_capped(value: int) -> None:
    reported = ReportedUsage(input_tokens=10, output_tokens=value)
    as_dict = reported.as_dict()
    assert as_dict["output_tokens"] == str(value)
    assert as_dict["out_of_range"] == ["output_tokens"]
    orjson.dumps(as_dict)  # never raises
    usage = normalised(input_tokens=10, output_tokens=value)
    assert usage.output_tokens == (MAX_COUNT if value > 0 else 0)


def test_usage_refuses_counts_beyond_the_cap() -> None:
    with pytest.raises(ValueError):
        Usage(input_tokens=MAX_COUNT + 1)
    with pytest.raises(ValueError):
        Usage(input_seconds=D("1e12"))
    assert dataclasses.replace(Usage(), input_tokens=MAX_COUNT).input_tokens == MAX_COUNT

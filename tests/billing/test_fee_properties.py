"""Property-based checks of the fee and charge arithmetic."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lava_server.billing.charges import Charges, compute_charges
from lava_server.billing.fees import (
    Quantity,
    UnitCounts,
    billable_units,
    compute_fee,
    compute_service_charge,
    tier_split,
)
from lava_server.billing.pricing import BaseCost
from lava_server.billing.product_config import TIER_TYPES, ProductConfig, Tier, TierType

D = Decimal

rates = st.builds(lambda n, k: D(n).scaleb(-k), st.integers(0, 10**9), st.integers(3, 12))  # ≤ MAX_FIXED_RATE
percentages = st.builds(lambda n: D(n).scaleb(-2), st.integers(0, 10**5))  # ≤ 1000 %
seconds = st.builds(lambda n: D(n).scaleb(-3), st.integers(0, 10**8))


@st.composite
def configs(draw: st.DrawFn, rate_type: str | None = None) -> ProductConfig:
    tier_type: TierType = draw(st.sampled_from(TIER_TYPES))
    kind = rate_type or draw(st.sampled_from(["fixed", "percentage"]))
    gaps = draw(st.lists(st.integers(1, 10**6), max_size=4))
    starts = [0]
    for gap in gaps:
        starts.append(starts[-1] + gap)
    rate = percentages if kind == "percentage" else rates
    return ProductConfig(
        rate_type=kind,  # type: ignore[arg-type]
        tiers=tuple(Tier(start, draw(rate), tier_type) for start in starts),
        token_basis=draw(st.sampled_from(["input+output", "output"])),
        base_cost_payer=draw(st.sampled_from(["wallet", "merchant"])),
        service_charge_payer=draw(st.sampled_from(["wallet", "merchant"])),
    )


@st.composite
def usages(draw: st.DrawFn) -> UnitCounts:
    total = draw(st.integers(0, 10**7))
    read = draw(st.integers(0, total))
    write = draw(st.integers(0, total - read))
    output = draw(st.integers(0, 10**7))
    return UnitCounts(
        input_tokens=total,
        output_tokens=output,
        cached_input_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=draw(st.integers(0, write)),
        reasoning_tokens=draw(st.integers(0, output)),
        input_characters=draw(st.integers(0, 10**7)),
        output_characters=draw(st.integers(0, 10**7)),
        input_seconds=draw(seconds),
        output_seconds=draw(seconds),
    )


def counter(draw: st.DrawFn, config: ProductConfig) -> Quantity:
    if config.tiers[0].type == "minutes":
        return draw(seconds)
    return draw(st.integers(0, 5 * 10**6))


bases = st.one_of(
    st.none(), st.builds(lambda i, o: BaseCost(i, o, {}, {}), st.integers(0, 10**12), st.integers(0, 10**12))
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[ProductConfig | None, UnitCounts, Quantity, BaseCost | None, bool, Decimal]:
    managed = draw(st.booleans())
    config = draw(configs()) if managed else draw(st.one_of(st.none(), configs()))
    before = counter(draw, config) if config is not None else 0
    svc_rate = draw(st.builds(lambda n: D(n).scaleb(-4), st.integers(0, 10**4)))
    return config, draw(usages()), before, draw(bases), managed, svc_rate


def charges_for(case: tuple[ProductConfig | None, UnitCounts, Quantity, BaseCost | None, bool, Decimal]) -> Charges:
    config, units, before, base, managed, svc_rate = case
    return compute_charges(
        config, units=units, units_before=before, base=base, managed=managed, service_charge_rate=svc_rate
    )


@given(requests())
def test_totals_are_sums_of_rounded_components(case: Any) -> None:
    charges = charges_for(case)
    charged_base = charges.base_cost_units if charges.base_charged else 0
    assert charges.fee.amount_units == sum(item.cost_units for item in charges.fee.breakdown)
    assert charges.total_units == charged_base + charges.fee.amount_units + charges.service_charge_units
    assert charges.wallet_units + charges.merchant_units == charges.total_units
    wire = charges.to_wire()
    assert D(wire["total_wallet_cost"]) + D(wire["total_merchant_cost"]) == D(wire["total_request_cost"])
    assert D(wire["model_usage"]["input_cost"]) + D(wire["model_usage"]["output_cost"]) == D(
        wire["model_usage"]["total_cost"]
    )
    assert D(wire["fee"]["amount"]) == sum(D(i["cost"]) for i in wire["fee"]["breakdown"])
    assert charges.service_charge_units == compute_service_charge(charges.fee.amount_units, case[5])


@given(requests())
def test_never_a_float_anywhere(case: Any) -> None:
    charges = charges_for(case)
    assert_no_floats(charges)
    assert_no_floats(charges.to_wire())
    for value in (charges.wallet_units, charges.merchant_units, charges.service_charge_units, charges.total_units):
        assert type(value) is int


@given(st.data())
def test_straddled_split_sums_to_the_request_units(data: st.DataObject) -> None:
    config = data.draw(configs())
    before = counter(data.draw, config)
    now = billable_units(config, data.draw(usages()), request_count=data.draw(st.integers(0, 3)))
    parts = tier_split(config.tiers, before, now)
    assert sum(units for _, units in parts) == now
    assert [tier.start for tier, _ in parts] == sorted({tier.start for tier, _ in parts})
    if now > 0:
        assert all(units > 0 for _, units in parts)
    fee = compute_fee(config, units_before=before, units_now=now, base_cost_units=data.draw(st.integers(0, 10**12)))
    assert sum(item.units for item in fee.breakdown) == now
    position = before
    for item in fee.breakdown:  # each entry lies inside its tier
        following = [t.start for t in config.tiers if t.start > item.tier.start]
        assert item.tier.start <= position
        assert not following or position + item.units <= following[0]
        position += item.units


@given(st.data())
def test_fixed_fee_is_monotonic_in_units(data: st.DataObject) -> None:
    config = data.draw(configs("fixed"))
    before = counter(data.draw, config)
    small = counter(data.draw, config)
    more = small + counter(data.draw, config)
    low = compute_fee(config, units_before=before, units_now=small).amount_units
    high = compute_fee(config, units_before=before, units_now=more).amount_units
    assert low <= high


@given(st.data())
def test_percentage_fee_is_monotonic_in_base_cost(data: st.DataObject) -> None:
    config = data.draw(configs("percentage"))
    before, now = counter(data.draw, config), counter(data.draw, config)
    base = data.draw(st.integers(0, 10**12))
    extra = data.draw(st.integers(0, 10**12))
    low = compute_fee(config, units_before=before, units_now=now, base_cost_units=base).amount_units
    high = compute_fee(config, units_before=before, units_now=now, base_cost_units=base + extra).amount_units
    assert low <= high


@given(st.data())
def test_splitting_a_request_changes_the_fee_only_by_rounding(data: st.DataObject) -> None:
    config = data.draw(configs("fixed"))
    before = counter(data.draw, config)
    first, second = counter(data.draw, config), counter(data.draw, config)
    whole = compute_fee(config, units_before=before, units_now=first + second).amount_units
    split = (
        compute_fee(config, units_before=before, units_now=first).amount_units
        + compute_fee(config, units_before=before + first, units_now=second).amount_units
    )
    assert abs(whole - split) <= len(config.tiers)


@settings(max_examples=50)
@given(requests())
def test_byok_and_metering_only_never_charge_the_base(case: Any) -> None:
    config, units, before, base, _, svc_rate = case
    charges = compute_charges(
        config, units=units, units_before=before, base=base, managed=False, service_charge_rate=svc_rate
    )
    assert charges.total_units == charges.fee.amount_units + charges.service_charge_units
    if config is None:
        assert charges.total_units == 0


def assert_no_floats(value: object) -> None:
    assert not isinstance(value, float), value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            assert_no_floats(getattr(value, field.name))
    elif isinstance(value, dict):
        for key, item in value.items():
            assert_no_floats(key)
            assert_no_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            assert_no_floats(item)
    elif hasattr(value, "items"):  # mapping proxies
        for key, item in value.items():  # type: ignore[attr-defined]
            assert_no_floats(key)
            assert_no_floats(item)

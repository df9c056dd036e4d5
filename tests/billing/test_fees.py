"""Hand-computed fee and service-charge cases (docs/design.md "Money", docs/billing.md "Fees and totals")."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lava_server.billing.fees import (
    FeeResult,
    UnitCounts,
    billable_units,
    compute_fee,
    compute_service_charge,
    exact_cost_units,
    rate_to_wire,
    seconds_to_wire,
    tier_split,
)
from lava_server.billing.product_config import ProductConfig, Tier, TierType
from lava_server.money import to_wire

D = Decimal


def config(*tiers: tuple[int, str], type: TierType = "tokens_1m", **kw: object) -> ProductConfig:
    return ProductConfig(tiers=tuple(Tier(start, D(rate), type) for start, rate in tiers), **kw)  # type: ignore[arg-type]


def fee_for(cfg: ProductConfig, units: UnitCounts, before: int | Decimal = 0, base: int = 0) -> FeeResult:
    return compute_fee(cfg, units_before=before, units_now=billable_units(cfg, units), base_cost_units=base)


# --- worked examples, recomputed by hand -----------------------------------------------------------------------------


def test_example_b_fixed_tiers_output_basis_straddles_two_tiers() -> None:
    cfg = config((0, "5.00"), (1_000_000, "3.00"), token_basis="output")
    fee = fee_for(cfg, UnitCounts(input_tokens=2000, output_tokens=600), before=999_800)
    assert fee.to_wire() == {
        "amount": "0.0022000000",
        "rate_type": "fixed",
        "token_basis": "output",
        "breakdown": [
            {
                "tier": {"start": 0, "rate": "5.0000000000", "type": "tokens_1m"},
                "tokens": 200,
                "characters": 0,
                "seconds": 0,
                "cost": "0.0010000000",
            },
            {
                "tier": {"start": 1_000_000, "rate": "3.0000000000", "type": "tokens_1m"},
                "tokens": 400,
                "characters": 0,
                "seconds": 0,
                "cost": "0.0012000000",
            },
        ],
    }
    assert to_wire(compute_service_charge(fee.amount_units)) == "0.0000418000"


def test_example_c_requests() -> None:
    cfg = config((0, "0.02"), type="requests")
    fee = fee_for(cfg, UnitCounts(input_tokens=123, output_tokens=45))
    assert to_wire(fee.amount_units) == "0.0200000000"
    assert [(item.requests, item.tokens) for item in fee.breakdown] == [(1, 0)]


def test_example_c_characters() -> None:
    cfg = config((0, "30"), type="characters_1m")
    fee = fee_for(cfg, UnitCounts(input_characters=1200))
    assert to_wire(fee.amount_units) == "0.0360000000"
    assert fee.breakdown[0].characters == 1200


def test_example_c_minutes() -> None:
    cfg = config((0, "0.10"), type="minutes")
    fee = fee_for(cfg, UnitCounts(input_seconds=D(90)))
    assert to_wire(fee.amount_units) == "0.1500000000"
    assert fee.to_wire()["breakdown"][0]["seconds"] == 90


def test_example_a_percentage_fee_and_service_charge() -> None:
    cfg = config((0, "20"), rate_type="percentage")
    fee = fee_for(cfg, UnitCounts(input_tokens=1000, output_tokens=500), base=75_000_000)
    assert to_wire(fee.amount_units) == "0.0015000000"
    assert to_wire(compute_service_charge(fee.amount_units)) == "0.0000285000"


# --- billable units --------------------------------------------------------------------------

USAGE = UnitCounts(
    input_tokens=100,
    output_tokens=40,
    input_characters=7,
    output_characters=3,
    input_seconds=D("2.5"),
    output_seconds=D("1.25"),
)


@pytest.mark.parametrize(
    ("tier_type", "basis", "expected"),
    [
        ("tokens_1m", "input+output", 140),
        ("tokens_1m", "output", 40),
        ("characters_1m", "input+output", 10),
        ("characters_1m", "output", 3),
        ("minutes", "input+output", D("3.75")),
        ("minutes", "output", D("1.25")),
        ("requests", "input+output", 1),
        ("requests", "output", 1),
    ],
)
def test_billable_units_per_type_and_basis(tier_type: TierType, basis: str, expected: object) -> None:
    cfg = config((0, "1"), type=tier_type, token_basis=basis)
    value = billable_units(cfg, USAGE)
    assert value == expected
    assert type(value) is type(expected)


def test_billable_requests_count() -> None:
    assert billable_units(config((0, "1"), type="requests"), UnitCounts(), request_count=3) == 3
    with pytest.raises(ValueError):
        billable_units(config((0, "1"), type="requests"), UnitCounts(), request_count=-1)


# --- tiers -------------------------------------------------------------------------------------

THREE = config((0, "10"), (100, "5"), (1000, "1"))


def test_straddles_three_tiers() -> None:
    fee = compute_fee(THREE, units_before=50, units_now=2000)
    assert [(item.tier.start, item.tokens) for item in fee.breakdown] == [(0, 50), (100, 900), (1000, 1050)]
    # 50×10 + 900×5 + 1050×1 = 6050 USD-per-million-tokens → 0.00605 USD
    assert [item.cost_units for item in fee.breakdown] == [5_000_000, 45_000_000, 10_500_000]
    assert to_wire(fee.amount_units) == "0.0060500000"


def test_tier_boundaries_are_inclusive_starts() -> None:
    # units 0..99 are tier 0; unit 100 is the first of tier 1
    assert [(t.start, n) for t, n in tier_split(THREE.tiers, 0, 100)] == [(0, 100)]
    assert [(t.start, n) for t, n in tier_split(THREE.tiers, 100, 1)] == [(100, 1)]
    assert [(t.start, n) for t, n in tier_split(THREE.tiers, 99, 2)] == [(0, 1), (100, 1)]


def test_zero_units_report_the_current_tier_at_zero_cost() -> None:
    for before, start in [(0, 0), (99, 0), (100, 100), (5000, 1000)]:
        fee = compute_fee(THREE, units_before=before, units_now=0)
        assert [(item.tier.start, item.tokens, item.cost_units) for item in fee.breakdown] == [(start, 0, 0)]
        assert fee.amount_units == 0


def test_minutes_thresholds_are_seconds_and_fractional_seconds_stay_exact() -> None:
    cfg = config((0, "0.60"), (60, "0.30"), type="minutes")
    fee = compute_fee(cfg, units_before=D("59.5"), units_now=D("1.25"))
    assert [(item.tier.start, item.seconds) for item in fee.breakdown] == [(0, D("0.5")), (60, D("0.75"))]
    # 0.5 s × 0.60/60 = 0.005; 0.75 s × 0.30/60 = 0.00375
    assert [to_wire(item.cost_units) for item in fee.breakdown] == ["0.0050000000", "0.0037500000"]
    assert fee.to_wire()["breakdown"][1]["seconds"] == D("0.75")


def test_minutes_accept_int_counters() -> None:
    fee = compute_fee(config((0, "0.10"), type="minutes"), units_before=0, units_now=90)
    assert fee.breakdown[0].seconds == D(90)
    assert isinstance(fee.breakdown[0].seconds, Decimal)


# --- percentage --------------------------------------------------------------------------------


def test_percentage_straddle_shares_the_base_by_units() -> None:
    cfg = config((0, "20"), (1000, "10"), rate_type="percentage")
    fee = compute_fee(cfg, units_before=500, units_now=1000, base_cost_units=75_000_000)
    # half the base at 20 %, half at 10 %
    assert [(item.tokens, item.cost_units) for item in fee.breakdown] == [(500, 7_500_000), (500, 3_750_000)]
    assert fee.amount_units == 11_250_000


def test_percentage_with_no_units_charges_the_current_tier() -> None:
    cfg = config((0, "20"), (1000, "10"), rate_type="percentage", token_basis="output")
    fee = fee_for(cfg, UnitCounts(input_tokens=10), before=1500, base=1_000)
    assert [(item.tier.start, item.tokens, item.cost_units) for item in fee.breakdown] == [(1000, 0, 100)]


def test_percentage_on_zero_base_is_zero() -> None:
    fee = compute_fee(config((0, "20"), rate_type="percentage"), units_before=0, units_now=10)
    assert fee.amount_units == 0


def test_percentage_thirds_round_per_tier() -> None:
    cfg = config((0, "100"), (1, "100"), (2, "100"), rate_type="percentage")
    fee = compute_fee(cfg, units_before=0, units_now=3, base_cost_units=100)
    # 100/3 = 33.33… per tier, rounded each: 33 + 33 + 33
    assert [item.cost_units for item in fee.breakdown] == [33, 33, 33]
    assert fee.amount_units == 99


# --- rounding ----------------------------------------------------------------------------------


def test_exactly_half_a_unit_rounds_up() -> None:
    # 1 token at $0.00005 per million tokens = 5e-11 USD = 0.5 unit
    assert compute_fee(config((0, "0.00005")), units_before=0, units_now=1).amount_units == 1
    assert compute_fee(config((0, "0.000049")), units_before=0, units_now=1).amount_units == 0
    # 1 second at $0.000000003 per minute = 5e-11 USD
    assert compute_fee(config((0, "0.000000003"), type="minutes"), units_before=0, units_now=1).amount_units == 1


def test_tiny_counts_at_tiny_rates() -> None:
    # 1 token at $0.01/MTok = 1e-8 USD = 100 units; 3 tokens at $0.000000000001/MTok round to 0
    assert compute_fee(config((0, "0.01")), units_before=0, units_now=1).amount_units == 100
    assert compute_fee(config((0, "0.000000000001")), units_before=0, units_now=3).amount_units == 0


def test_each_tier_rounds_on_its_own() -> None:
    # 1 token in each tier at 0.5 unit each: each rounds up to 1, so the fee is 2 (not round(1.0) = 1)
    cfg = config((0, "0.00005"), (1, "0.00005"))
    fee = compute_fee(cfg, units_before=0, units_now=2)
    assert [item.cost_units for item in fee.breakdown] == [1, 1]
    assert fee.amount_units == 2


def test_service_charge_rounding_and_rate() -> None:
    assert compute_service_charge(50, D("0.01")) == 1  # 0.5 → 1
    assert compute_service_charge(149, D("0.01")) == 1  # 1.49 → 1
    assert compute_service_charge(0) == 0
    assert compute_service_charge(10_000_000_000, D("0.05")) == 500_000_000
    for bad in (D("-0.01"), D("NaN")):
        with pytest.raises(ValueError):
            compute_service_charge(100, bad)
    with pytest.raises(ValueError):
        compute_service_charge(-1)


def test_exact_cost_units_does_not_round_before_the_end() -> None:
    # three terms of 1/3 unit each: 1 unit in total, although each alone rounds to 0
    third = (1, D(1), 3 * 10**10)
    assert exact_cost_units([third]) == 0
    assert exact_cost_units([third, third, third]) == 1


# --- rendering and validation ------------------------------------------------------------------


def test_rate_and_seconds_rendering() -> None:
    assert rate_to_wire(D("5.00")) == "5.0000000000"
    assert rate_to_wire(D("0")) == "0.0000000000"
    assert rate_to_wire(D("0.000000000001")) == "0.000000000001"  # 12 digits are kept, not rounded
    assert rate_to_wire(D("5E+2")) == "500.0000000000"
    assert seconds_to_wire(D("90.000")) == 90
    assert type(seconds_to_wire(D("90.000"))) is int
    assert seconds_to_wire(D("1.5")) == D("1.5")


def test_fee_zero() -> None:
    assert FeeResult.zero(None).to_wire() == {
        "amount": "0.0000000000",
        "rate_type": "fixed",
        "token_basis": "input+output",
        "breakdown": [],
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_tokens": -1},
        {"input_tokens": 1.0},
        {"input_tokens": True},
        {"output_tokens": D(3)},
        {"input_seconds": 1.5},
        {"input_seconds": D(-1)},
        {"input_seconds": D("NaN")},
        {"input_tokens": 10, "cached_input_tokens": 6, "cache_write_tokens": 5},
        {"input_tokens": 10, "cache_write_tokens": 2, "cache_write_1h_tokens": 3},
        {"output_tokens": 1, "reasoning_tokens": 2},
    ],
)
def test_unit_counts_reject_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        UnitCounts(**kwargs)  # type: ignore[arg-type]


def test_unit_counts_convert_int_seconds() -> None:
    counts = UnitCounts(input_seconds=2)  # type: ignore[arg-type]
    assert counts.input_seconds == D(2)
    assert isinstance(counts.input_seconds, Decimal)


@pytest.mark.parametrize(
    ("before", "now"),
    [(-1, 1), (0, -1), (D("0.5"), 1), (0, 1.0), (True, 1), (D("Infinity"), 1)],
)
def test_compute_fee_rejects_bad_quantities(before: object, now: object) -> None:
    with pytest.raises(ValueError):
        compute_fee(THREE, units_before=before, units_now=now)  # type: ignore[arg-type]


def test_compute_fee_rejects_bad_base() -> None:
    with pytest.raises(ValueError):
        compute_fee(THREE, units_before=0, units_now=1, base_cost_units=-1)

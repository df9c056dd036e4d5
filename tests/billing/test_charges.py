"""Charges for one request: docs/design.md "Money" totals, hand-computed examples, payers, BYOK and metering only."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lava_server.billing.charges import Charges, UnitCounts, compute_charges, no_charge
from lava_server.billing.pricing import BaseCost, ModelPrices, base_cost
from lava_server.billing.product_config import ProductConfig, Tier

D = Decimal
SVC = D("0.019")


def example_a_config(**kw: object) -> ProductConfig:
    return ProductConfig(rate_type="percentage", tiers=(Tier(0, D("20"), "tokens_1m"),), **kw)  # type: ignore[arg-type]


EXAMPLE_A_USAGE = UnitCounts(input_tokens=1000, output_tokens=500)
EXAMPLE_A_BASE = base_cost(EXAMPLE_A_USAGE, ModelPrices(input_mtok=D("2.50"), output_mtok=D("10.00")))


def test_example_a_percentage_fee_wallet_pays_everything() -> None:
    charges = compute_charges(
        example_a_config(),
        units=EXAMPLE_A_USAGE,
        units_before=0,
        base=EXAMPLE_A_BASE,
        managed=True,
        service_charge_rate=SVC,
    )
    assert charges.to_wire() == {
        "model_usage": {
            "input_cost": "0.0025000000",
            "output_cost": "0.0050000000",
            "total_cost": "0.0075000000",
            "payer": "wallet",
        },
        "fee": {
            "amount": "0.0015000000",
            "rate_type": "percentage",
            "token_basis": "input+output",
            "breakdown": [
                {
                    "tier": {"start": 0, "rate": "20.0000000000", "type": "tokens_1m"},
                    "tokens": 1500,
                    "characters": 0,
                    "seconds": 0,
                    "cost": "0.0015000000",
                }
            ],
        },
        "service_charge": {"amount": "0.0000285000", "payer": "wallet"},
        "total_request_cost": "0.0090285000",
        "total_wallet_cost": "0.0090285000",
        "total_merchant_cost": "0.0000000000",
    }
    assert charges.billable_units == 1500


def test_example_b_fixed_tiers_merchant_absorbs_base_and_service_charge() -> None:
    config = ProductConfig(
        rate_type="fixed",
        tiers=(Tier(0, D("5.00"), "tokens_1m"), Tier(1_000_000, D("3.00"), "tokens_1m")),
        token_basis="output",
        base_cost_payer="merchant",
        service_charge_payer="merchant",
    )
    usage = UnitCounts(input_tokens=2000, output_tokens=600)
    base = base_cost(usage, ModelPrices(input_mtok=D(3), output_mtok=D(15)))
    wire = compute_charges(
        config, units=usage, units_before=999_800, base=base, managed=True, service_charge_rate=SVC
    ).to_wire()
    assert wire["model_usage"] == {
        "input_cost": "0.0060000000",
        "output_cost": "0.0090000000",
        "total_cost": "0.0150000000",
        "payer": "merchant",
    }
    assert wire["fee"]["amount"] == "0.0022000000"
    assert [(item["tokens"], item["cost"]) for item in wire["fee"]["breakdown"]] == [
        (200, "0.0010000000"),
        (400, "0.0012000000"),
    ]
    assert wire["service_charge"] == {"amount": "0.0000418000", "payer": "merchant"}
    assert (wire["total_wallet_cost"], wire["total_merchant_cost"], wire["total_request_cost"]) == (
        "0.0022000000",
        "0.0150418000",
        "0.0172418000",
    )


@pytest.mark.parametrize(
    ("tier", "usage", "fee"),
    [
        (Tier(0, D("0.02"), "requests"), UnitCounts(), "0.0200000000"),
        (Tier(0, D("30"), "characters_1m"), UnitCounts(input_characters=1200), "0.0360000000"),
        (Tier(0, D("0.10"), "minutes"), UnitCounts(input_seconds=D(90)), "0.1500000000"),
    ],
)
def test_example_c_manual_requests_without_model_cost(tier: Tier, usage: UnitCounts, fee: str) -> None:
    charges = compute_charges(
        ProductConfig(tiers=(tier,)), units=usage, units_before=0, base=None, managed=True, service_charge_rate=SVC
    )
    wire = charges.to_wire()
    assert wire["fee"]["amount"] == fee
    assert wire["model_usage"]["total_cost"] == "0.0000000000"
    assert charges.total_units == charges.fee.amount_units + charges.service_charge_units


BASE = BaseCost(1_000, 3_000, {}, {})  # 4000 units of model cost
FIXED = ProductConfig(tiers=(Tier(0, D("1000000"), "tokens_1m"),))  # 1 USD per token: 10^10 units per token


@pytest.mark.parametrize(
    ("base_payer", "svc_payer", "wallet", "merchant"),
    [
        ("wallet", "wallet", 4000 + 100 + 2, 0),
        ("wallet", "merchant", 4000 + 100, 2),
        ("merchant", "wallet", 100 + 2, 4000),
        ("merchant", "merchant", 100, 4000 + 2),
    ],
)
def test_payers(base_payer: str, svc_payer: str, wallet: int, merchant: int) -> None:
    config = ProductConfig(
        rate_type="percentage",
        tiers=(Tier(0, D("2.5"), "tokens_1m"),),
        base_cost_payer=base_payer,  # type: ignore[arg-type]
        service_charge_payer=svc_payer,  # type: ignore[arg-type]
    )
    charges = compute_charges(
        config, units=UnitCounts(output_tokens=1), units_before=0, base=BASE, managed=True, service_charge_rate=SVC
    )
    assert charges.fee.amount_units == 100  # 2.5 % of 4000
    assert charges.service_charge_units == 2  # 1.9 % of 100 = 1.9 → 2
    assert (charges.wallet_units, charges.merchant_units) == (wallet, merchant)
    assert charges.total_units == 4000 + 100 + 2
    assert charges.to_wire()["model_usage"]["payer"] == base_payer
    assert charges.to_wire()["service_charge"]["payer"] == svc_payer


def test_byok_records_the_base_cost_but_charges_only_fee_and_service_charge() -> None:
    charges = compute_charges(
        example_a_config(),
        units=EXAMPLE_A_USAGE,
        units_before=0,
        base=EXAMPLE_A_BASE,
        managed=False,
        service_charge_rate=SVC,
    )
    wire = charges.to_wire()
    assert wire["model_usage"] == {
        "input_cost": "0.0025000000",
        "output_cost": "0.0050000000",
        "total_cost": "0.0075000000",
        "payer": "merchant",
    }
    assert wire["fee"]["amount"] == "0.0015000000"  # a percentage fee still takes the base cost as its base
    assert wire["service_charge"]["amount"] == "0.0000285000"
    assert wire["total_request_cost"] == "0.0015285000"
    assert wire["total_wallet_cost"] == "0.0015285000"
    assert wire["total_merchant_cost"] == "0.0000000000"
    assert charges.base_charged is False
    assert charges.charged_base_units == 0


def test_byok_with_merchant_as_base_payer_still_excludes_the_base() -> None:
    config = example_a_config(base_cost_payer="merchant", service_charge_payer="merchant")
    charges = compute_charges(
        config, units=EXAMPLE_A_USAGE, units_before=0, base=EXAMPLE_A_BASE, managed=False, service_charge_rate=SVC
    )
    assert (charges.wallet_units, charges.merchant_units) == (15_000_000, 285_000)


def test_metering_only_records_and_charges_nothing() -> None:
    charges = compute_charges(
        None, units=EXAMPLE_A_USAGE, units_before=123, base=EXAMPLE_A_BASE, managed=False, service_charge_rate=SVC
    )
    wire = charges.to_wire()
    assert wire["model_usage"]["total_cost"] == "0.0075000000"
    assert wire["model_usage"]["payer"] == "merchant"
    assert wire["fee"] == {
        "amount": "0.0000000000",
        "rate_type": "fixed",
        "token_basis": "input+output",
        "breakdown": [],
    }
    assert wire["service_charge"]["amount"] == "0.0000000000"
    assert wire["total_request_cost"] == wire["total_wallet_cost"] == wire["total_merchant_cost"] == "0.0000000000"
    assert charges.billable_units == 0


def test_managed_call_without_a_product_is_refused() -> None:
    with pytest.raises(ValueError, match="managed"):
        compute_charges(
            None, units=EXAMPLE_A_USAGE, units_before=0, base=EXAMPLE_A_BASE, managed=True, service_charge_rate=SVC
        )


def test_failed_call_is_never_charged() -> None:
    config = ProductConfig(tiers=(Tier(0, D("0.02"), "requests"),), base_cost_payer="merchant")
    charges = no_charge(config, managed=True)
    wire = charges.to_wire()
    assert wire["total_request_cost"] == "0.0000000000"
    assert wire["model_usage"]["total_cost"] == "0.0000000000"
    assert wire["model_usage"]["payer"] == "merchant"
    assert wire["fee"]["breakdown"] == []
    assert charges.billable_units == 0


def test_the_fee_advances_with_the_connection_counter() -> None:
    config = ProductConfig(tiers=(Tier(0, D("5"), "tokens_1m"), Tier(100, D("1"), "tokens_1m")))
    usage = UnitCounts(input_tokens=60, output_tokens=0)
    first = compute_charges(config, units=usage, units_before=0, base=None, managed=True, service_charge_rate=SVC)
    second = compute_charges(
        config, units=usage, units_before=first.billable_units, base=None, managed=True, service_charge_rate=SVC
    )
    assert [(i.tier.start, i.tokens) for i in second.fee.breakdown] == [(0, 40), (100, 20)]


def test_service_charge_rate_is_configurable() -> None:
    charges = compute_charges(
        FIXED, units=UnitCounts(input_tokens=1), units_before=0, base=None, managed=True, service_charge_rate=D("0.05")
    )
    assert charges.fee.amount_units == 10**10
    assert charges.service_charge_units == 5 * 10**8


def test_charges_refuse_totals_that_do_not_reconcile() -> None:
    fee = no_charge(FIXED, managed=True).fee
    with pytest.raises(AssertionError):
        Charges(BASE, "wallet", True, fee, 0, "wallet", 0, 1, 0)

"""Shared by the usage-value and sample tests: prices for every unit and what settlement records."""

from __future__ import annotations

from decimal import Decimal

from lava_server.billing.charges import compute_charges, no_charge
from lava_server.billing.plans import Outcome
from lava_server.billing.pricing import UNIT_PRICING, ModelPrices, base_cost
from lava_server.billing.product_config import ProductConfig, Tier
from lava_server.billing.records import apply_charges, apply_usage
from lava_server.billing.usage import Usage
from lava_server.store.requests import RequestRecord

D = Decimal
RATE = D("0.019")
PERCENT = ProductConfig(rate_type="percentage", tiers=(Tier(0, D("20"), "tokens_1m"),))


# prices the catalogue requires where two priced dimensions meet (cached audio, cached images)
JOIN_KEYS = {
    "cache_audio_read_mtok",
    "cache_audio_write_mtok",
    "cache_audio_write_1h_mtok",
    "cache_image_read_mtok",
    "cache_image_write_mtok",
    "cache_image_write_1h_mtok",
    "output_audio_reasoning_mtok",
    "output_image_reasoning_mtok",
}


def all_prices() -> ModelPrices:
    """A price for every key any usage field can be priced by, each a different number."""
    keys = sorted({key for unit in UNIT_PRICING.values() for key in unit.price_keys} | JOIN_KEYS)
    values = {key: D(index + 1) / 7 for index, key in enumerate(keys)}
    named = {k: values.pop(k) for k in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")}
    named["cache_write_1h_mtok"] = values.pop("cache_write_1h_mtok")
    return ModelPrices(**named, extras=values, provenance={"source": "test"})


def record_of(usage: Usage, prices: ModelPrices | None, config: ProductConfig | None) -> RequestRecord:
    """What settlement writes for ``usage``: usage columns, charges and their pricing detail."""
    rec = RequestRecord(
        id="req_1",
        merchant_id="m",
        mode="test",
        status="pending",
        provider="anthropic",
        provider_key_type="managed",
        endpoint="POST x",
        created_at=0,
        connection_id="con" if config else None,
    )
    base = base_cost(usage, prices) if prices is not None else None
    apply_usage(rec, Outcome(usage, None, "m", None), 1)
    if config is None:
        charges = no_charge(None, managed=False, base=base, usage=usage)
    else:
        charges = compute_charges(
            config, units=usage, units_before=0, base=base, managed=True, service_charge_rate=RATE
        )
    apply_charges(rec, charges, 0, RATE)
    return rec

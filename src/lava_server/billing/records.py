"""Writing usage and charges onto a request record (and the JSON details that make it reproducible)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ..store.requests import RequestRecord
from .charges import Charges
from .plans import Outcome, SubCallUsage
from .pricing import BaseCost, unpriced_units


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON for stored details: Decimals are written as exact JSON numbers, never floats."""
    return orjson.dumps(value, default=_json_default).decode()


_COUNT_COLUMNS = (  # request columns named like the usage field they summarise
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "input_characters",
    "output_characters",
)


def apply_usage(rec: RequestRecord, outcome: Outcome, at: int) -> None:
    """Mark ``rec`` completed with ``outcome``'s usage in its queryable columns.

    The columns are a summary for listing and filtering; the whole usage value is recorded by
    :func:`apply_charges` (``pricing_detail.usage``), which is what repricing reads.
    """
    usage = outcome.usage
    rec.status = "completed"
    rec.model = outcome.model or rec.model
    rec.response_id = outcome.response_id
    for column in _COUNT_COLUMNS:
        setattr(rec, column, getattr(usage, column))
    rec.input_ms = int(usage.input_seconds * 1000)
    rec.output_ms = int(usage.output_seconds * 1000)
    rec.usage_estimated = 1 if outcome.estimated else 0
    rec.provider_usage = dumps(outcome.provider_usage) if outcome.provider_usage else None
    rec.timestamp = rec.completed_at = at


def apply_charges(rec: RequestRecord, charges: Charges, units_before_milli: int, service_charge_rate: Decimal) -> None:
    """Write the charges and everything needed to recompute them (``pricing_detail``): the usage
    value they were computed from, the flat unit prices and their provenance, the service-charge
    rate, and the metered units no price covered (``unpriced_units``)."""
    rec.input_cost = charges.input_cost_units
    rec.output_cost = charges.output_cost_units
    rec.base_cost = charges.base_cost_units
    rec.base_cost_payer = charges.base_payer
    rec.fee_amount = charges.fee.amount_units
    rec.service_charge = charges.service_charge_units
    rec.service_charge_payer = charges.service_charge_payer
    wallet = charges.wallet_units - rec.shortfall
    rec.total_wallet_cost = wallet
    rec.total_merchant_cost = charges.merchant_units + rec.shortfall
    rec.total_request_cost = charges.total_units
    fee = charges.fee.to_wire()
    fee["units_before"] = (
        Decimal(units_before_milli) / 1000 if units_before_milli % 1000 else units_before_milli // 1000
    )
    rec.fee_detail = dumps(fee)
    detail: dict[str, Any] = {"service_charge_rate": str(service_charge_rate), "usage": charges.usage.to_json()}
    if charges.base is not None:
        detail |= {"unit_prices": dict(charges.base.unit_prices), "provenance": dict(charges.base.provenance)}
        unpriced = unpriced_units(charges.usage, charges.base.unit_prices)
        if unpriced:  # metered, but the model has no price for them: charged nothing, said so
            detail["unpriced_units"] = list(unpriced)
    rec.pricing_detail = dumps(detail)


def record_sub_calls(rec: RequestRecord, sub_costs: list[tuple[SubCallUsage, BaseCost]]) -> None:
    """Keep each sub-call's usage and prices next to the main ones, so ``reprice`` can redo them."""
    if not sub_costs:
        return
    detail = orjson.loads(rec.pricing_detail or "{}")
    detail["sub_calls"] = [
        {
            "model": sub.model,
            "usage": sub.usage.to_json(),
            "unit_prices": dict(cost.unit_prices),
            "provenance": dict(cost.provenance),
            "input_cost": cost.input_cost_units,
            "output_cost": cost.output_cost_units,
        }
        for sub, cost in sub_costs
    ]
    rec.pricing_detail = dumps(detail)

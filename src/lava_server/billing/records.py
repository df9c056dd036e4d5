"""Writing usage and charges onto a request record (and the JSON details that make it reproducible)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ..store.requests import RequestRecord
from .charges import Charges
from .plans import Outcome, SubCallUsage
from .pricing import BaseCost


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """JSON for stored details: Decimals are written as exact JSON numbers, never floats."""
    return orjson.dumps(value, default=_json_default).decode()


def apply_usage(rec: RequestRecord, outcome: Outcome, at: int) -> None:
    usage = outcome.usage
    rec.status = "completed"
    rec.model = outcome.model or rec.model
    rec.response_id = outcome.response_id
    rec.input_tokens = usage.input_tokens
    rec.output_tokens = usage.output_tokens
    rec.cached_input_tokens = usage.cached_input_tokens
    rec.cache_write_tokens = usage.cache_write_tokens
    rec.reasoning_tokens = usage.reasoning_tokens
    rec.input_characters = usage.input_characters
    rec.output_characters = usage.output_characters
    rec.input_ms = int(usage.input_seconds * 1000)
    rec.output_ms = int(usage.output_seconds * 1000)
    rec.usage_estimated = 1 if outcome.estimated else 0
    rec.provider_usage = orjson.dumps(outcome.provider_usage).decode() if outcome.provider_usage else None
    rec.timestamp = rec.completed_at = at


def apply_charges(rec: RequestRecord, charges: Charges, units_before_milli: int, service_charge_rate: Decimal) -> None:
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
    detail: dict[str, Any] = {"service_charge_rate": str(service_charge_rate)}
    if charges.base is not None:
        detail |= {"unit_prices": dict(charges.base.unit_prices), "provenance": dict(charges.base.provenance)}
    rec.pricing_detail = dumps(detail)


def record_sub_calls(rec: RequestRecord, sub_costs: list[tuple[SubCallUsage, BaseCost]]) -> None:
    """Keep each sub-call's usage and prices next to the main ones, so ``reprice`` can redo them."""
    if not sub_costs:
        return
    detail = orjson.loads(rec.pricing_detail or "{}")
    detail["sub_calls"] = [
        {
            "model": sub.model,
            "usage": {name: getattr(sub.usage, name) for name in sub.usage.__slots__},
            "unit_prices": dict(cost.unit_prices),
            "provenance": dict(cost.provenance),
            "input_cost": cost.input_cost_units,
            "output_cost": cost.output_cost_units,
        }
        for sub, cost in sub_costs
    ]
    rec.pricing_detail = dumps(detail)

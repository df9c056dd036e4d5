"""``lava requests reprice``: recompute a recorded charge from its recorded prices and usage.

Every completed request stores, in ``pricing_detail``, the usage value it was charged for
(``usage``, every unit incl. 1-hour cache writes and web searches), the flat unit prices it
used (with their provenance), the service-charge rate, and its connection's cumulative tier
units before it. From those the whole charge is recomputed and compared field by field.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson

from ..money import to_wire
from ..store.merchants import get_product
from ..store.requests import COLUMNS, RequestRecord
from .charges import compute_charges
from .deps import BillingDeps
from .plans import MERCHANT_PAYS_FORMS, service_charge_rate_for
from .pricing import BaseCost, reprice
from .product_config import ProductConfig
from .usage import Usage


def _usage_of_columns(rec: RequestRecord) -> Usage:
    """Records written before ``pricing_detail.usage`` existed: the usage their columns keep."""
    return Usage(
        input_tokens=rec.input_tokens,
        output_tokens=rec.output_tokens,
        cached_input_tokens=rec.cached_input_tokens,
        cache_write_tokens=rec.cache_write_tokens,
        reasoning_tokens=rec.reasoning_tokens,
        input_characters=rec.input_characters,
        output_characters=rec.output_characters,
        input_seconds=Decimal(rec.input_ms) / 1000,
        output_seconds=Decimal(rec.output_ms) / 1000,
    )


async def reprice_request(svc: BillingDeps, request_id: str) -> dict[str, Any]:
    """Recompute request ``request_id``'s charge from its recorded usage value and prices.

    Returns ``matches`` (recorded == recomputed, field by field) with both sets of amounts as
    wire strings. Raises ``ValueError`` for an unknown request id.
    """
    row = await svc.db.fetchone(f"SELECT {COLUMNS} FROM requests WHERE id = $1", request_id)
    if row is None:  # a caller's own POST /v1/requests id, when only one merchant used it
        rows = await svc.db.fetchall(f"SELECT {COLUMNS} FROM requests WHERE external_id = $1 LIMIT 2", request_id)
        row = rows[0] if len(rows) == 1 else None
    if row is None:
        raise ValueError(f"no request {request_id}")
    from ..store.requests import _record

    rec: RequestRecord = _record(row)
    if rec.status != "completed":
        return {"request_id": rec.id, "status": rec.status, "matches": True, "note": "not completed: nothing charged"}
    config: ProductConfig | None = None
    if (
        rec.connection_id is not None and rec.token_form not in MERCHANT_PAYS_FORMS
    ):  # the merchant pays: no customer config
        config = ProductConfig()
        if rec.product_id is not None:
            product = await get_product(svc.db, rec.merchant_id, rec.mode, rec.product_id)
            if product is not None:
                config = ProductConfig.from_json(product.config_json)
    detail = orjson.loads(rec.pricing_detail or "{}")
    recorded, recomputed = recompute(rec, config, default_rate=svc.settings.service_charge_rate)
    return {
        "request_id": rec.id,
        "matches": recorded == recomputed,
        "recorded": {k: to_wire(v) for k, v in recorded.items()},
        "recomputed": {k: to_wire(v) for k, v in recomputed.items()},
        "prices": detail,
    }


def recompute(
    rec: RequestRecord, config: ProductConfig | None, *, default_rate: Decimal
) -> tuple[dict[str, int], dict[str, int]]:
    """The recorded amounts of a completed request and the same amounts recomputed from its
    ``pricing_detail`` (usage value, unit prices, service-charge rate) and tier position.

    ``config`` is the product's configuration (None for metering only). Pure: no database.
    """
    detail = orjson.loads(rec.pricing_detail or "{}")
    usage = Usage.from_json(detail["usage"]) if "usage" in detail else _usage_of_columns(rec)
    base = reprice(usage, detail["unit_prices"], detail.get("provenance", {})) if "unit_prices" in detail else None
    if base is not None:
        for sub in detail.get("sub_calls", []):  # separately priced model calls (advisor iterations)
            sub_usage = Usage.from_json(sub["usage"])
            if sub["unit_prices"]:
                cost = reprice(sub_usage, sub["unit_prices"], sub.get("provenance", {}))
                base = BaseCost(
                    base.input_cost_units + cost.input_cost_units,
                    base.output_cost_units + cost.output_cost_units,
                    base.unit_prices,
                    base.provenance,
                )
    managed = rec.provider_key_type == "managed" and rec.provider != "manual"
    before: Any = Decimal(rec.units_before_milli) / 1000
    if config is not None and config.tiers[0].type != "minutes":
        before = rec.units_before_milli // 1000
    rate = Decimal(
        detail.get("service_charge_rate", str(service_charge_rate_for(rec.token_form or "legacy", default_rate)))
    )
    if config is None:
        recomputed = {
            "base_cost": base.total_units if base else 0,
            "fee": 0,
            "service_charge": 0,
            "wallet": 0,
            # a managed key's cost is debited to the merchant (docs/current-api.md "Who pays")
            "merchant": base.total_units if base and managed and rec.token_form in MERCHANT_PAYS_FORMS else 0,
        }
    else:
        # Settlement counts a call for per-request tiers only when it was billable and consumed
        # something (not a queued background call or a repeated poll); the record shows it.
        counted = config.tiers[0].type != "requests" or rec.fee_units_milli > 0
        charges = compute_charges(
            config,
            units=usage,
            units_before=before,
            base=base,
            managed=managed,
            service_charge_rate=rate,
            request_count=1 if counted else 0,
        )
        recomputed = {
            "base_cost": charges.base_cost_units,
            "fee": charges.fee.amount_units,
            "service_charge": charges.service_charge_units,
            "wallet": charges.wallet_units - rec.shortfall,
            "merchant": charges.merchant_units + rec.shortfall,
        }
    recorded = {
        "base_cost": rec.base_cost,
        "fee": rec.fee_amount,
        "service_charge": rec.service_charge,
        "wallet": rec.total_wallet_cost,
        "merchant": rec.total_merchant_cost,
    }
    return recorded, recomputed

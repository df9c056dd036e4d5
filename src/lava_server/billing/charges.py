"""What one request costs and who pays each part (docs/design.md "Money", docs/billing.md).

Three components, each an integer number of units rounded on its own: the base (model) cost,
the merchant fee and the service charge. Totals are sums of the rounded components:

    wallet   = (base if base payer is wallet) + fee + (service charge if its payer is wallet)
    merchant = (base if base payer is merchant) + (service charge if its payer is merchant)
    total_request_cost = wallet + merchant

Decisions:
- **BYOK** (``managed=False``): the provider bills the merchant directly. The base cost is
  computed and reported in ``model_usage`` with payer ``merchant``, but it is not part of
  any total, so nobody is charged for it twice. The fee (a percentage fee still takes the
  base cost as its base) and the service charge apply as usual.
- **Metering only** (no product config: no connection and no product): everything is
  recorded, nothing is charged; fee, service charge and all totals are 0. A managed-key call
  must have a config (otherwise the platform would pay the provider for nobody), so
  ``config=None`` with ``managed=True`` is refused.
- **Failed calls** are never charged: use :func:`no_charge`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ..money import to_wire
from .fees import FeeResult, Quantity, UnitCounts, billable_units, compute_fee, compute_service_charge
from .pricing import BaseCost
from .product_config import Payer, ProductConfig
from .usage import Usage

__all__ = ["Charges", "UnitCounts", "compute_charges", "no_charge"]

_NO_USAGE = Usage()


@dataclass(frozen=True, slots=True)
class Charges:
    base: BaseCost | None  # the model cost as recorded; None when there is none (e.g. POST /requests)
    base_payer: Payer
    base_charged: bool  # False for BYOK and metering only: recorded, not charged
    fee: FeeResult
    service_charge_units: int
    service_charge_payer: Payer
    billable_units: Quantity  # add this to the connection's cumulative counter
    wallet_units: int
    merchant_units: int
    usage: Usage = _NO_USAGE  # the usage these charges were computed from (recorded for repricing)

    def __post_init__(self) -> None:
        for value in (self.service_charge_units, self.wallet_units, self.merchant_units):
            assert type(value) is int, value
            assert value >= 0, value
        charged = self.charged_base_units + self.fee.amount_units + self.service_charge_units
        assert self.wallet_units + self.merchant_units == charged, self

    @property
    def input_cost_units(self) -> int:
        return self.base.input_cost_units if self.base is not None else 0

    @property
    def output_cost_units(self) -> int:
        return self.base.output_cost_units if self.base is not None else 0

    @property
    def base_cost_units(self) -> int:
        return self.input_cost_units + self.output_cost_units

    @property
    def charged_base_units(self) -> int:
        return self.base_cost_units if self.base_charged else 0

    @property
    def total_units(self) -> int:
        return self.wallet_units + self.merchant_units

    def to_wire(self) -> dict[str, Any]:
        """The money fields of a ``Request`` (its schema in ``/openapi.json``)."""
        return {
            "model_usage": {
                "input_cost": to_wire(self.input_cost_units),
                "output_cost": to_wire(self.output_cost_units),
                "total_cost": to_wire(self.base_cost_units),
                "payer": self.base_payer,
            },
            "fee": self.fee.to_wire(),
            "service_charge": {"amount": to_wire(self.service_charge_units), "payer": self.service_charge_payer},
            "total_request_cost": to_wire(self.total_units),
            "total_wallet_cost": to_wire(self.wallet_units),
            "total_merchant_cost": to_wire(self.merchant_units),
        }


def compute_charges(
    config: ProductConfig | None,
    *,
    units: UnitCounts,
    units_before: Quantity,
    base: BaseCost | None,
    managed: bool,
    service_charge_rate: Decimal,
    request_count: int = 1,
) -> Charges:
    """Charges for one successful request.

    ``units_before`` is the connection's cumulative billable units since its usage reset,
    before this request (ignored for metering only).
    """
    if config is None:
        if managed:
            raise ValueError("a managed-key call needs a product config; metering only is for BYOK calls")
        return no_charge(None, managed=False, base=base, usage=units)
    quantity = billable_units(config, units, request_count)
    base_units = base.total_units if base is not None else 0
    fee = compute_fee(config, units_before=units_before, units_now=quantity, base_cost_units=base_units)
    service = compute_service_charge(fee.amount_units, service_charge_rate)
    base_payer: Payer = config.base_cost_payer if managed else "merchant"
    charged_base = base_units if managed else 0
    wallet = fee.amount_units
    merchant = 0
    for amount, payer in ((charged_base, base_payer), (service, config.service_charge_payer)):
        if payer == "wallet":
            wallet += amount
        else:
            merchant += amount
    return Charges(
        base, base_payer, managed, fee, service, config.service_charge_payer, quantity, wallet, merchant, units
    )


def no_charge(
    config: ProductConfig | None, *, managed: bool, base: BaseCost | None = None, usage: Usage | None = None
) -> Charges:
    """All-zero charges: a failed call (``base`` None), or metering only (``base`` and ``usage`` recorded)."""
    payer: Payer = config.base_cost_payer if config is not None and managed else "merchant"
    svc_payer: Payer = config.service_charge_payer if config is not None else "merchant"
    return Charges(base, payer, False, FeeResult.zero(config), 0, svc_payer, 0, 0, 0, usage or Usage())

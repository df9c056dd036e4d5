"""The customer and meter filters of /v1/requests and /v1/usage, in both vocabularies (docs/current-api.md "Vocabulary").

``customer_id`` ≡ ``connection_id`` (a ``con_`` id; ``customer_id`` also a customer's reference_id) and
``meter_id`` ≡ ``product_id``. Both spellings present with different values: 400.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..context import Services
from ..errors import invalid_request
from ..ids import CONNECTION, PRODUCT, id_pattern
from ..store.customers import find_customer
from ..store.merchants import MerchantKey
from .params import id_param

# A reference_id that names no customer still filters: to this id, which matches nothing.
NO_MATCH = "con_00000000000000000000000000"


def _alias(query: Mapping[str, str], current: str, legacy: str) -> str | None:
    a, b = query.get(current) or None, query.get(legacy) or None
    if a is not None and b is not None and a != b:
        raise invalid_request(f"{current} and {legacy} are the same filter; they were given different values")
    return a if a is not None else b


async def customer_and_meter(
    svc: Services, key: MerchantKey, query: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """(connection id, product id) to filter on, either possibly None (no filter)."""
    customer = _alias(query, "customer_id", "connection_id")
    connection_id: str | None = None
    if not query.get("customer_id"):  # the 2025 spelling takes only a con_ id, as it always did
        customer = id_param(customer, CONNECTION, "connection_id")
    if customer is not None:
        if id_pattern(CONNECTION).match(customer):
            connection_id = customer
        else:
            found = await find_customer(svc.db, key.merchant_id, key.mode, customer)
            connection_id = found.id if found is not None else NO_MATCH
    meter = _alias(query, "meter_id", "product_id")
    return connection_id, id_param(meter, PRODUCT, "meter_id")

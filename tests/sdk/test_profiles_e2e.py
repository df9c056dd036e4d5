"""End to end: whatever profile the server answers in (``current``, ``compat``, or ``2025`` for a
legacy ``api_version``), the SDK's models carry both vocabularies with the same values."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lava import Lava, Request

from ._e2e import new_merchant

CHAT_URL = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}


def _view(request: Request) -> tuple[Any, ...]:
    return (
        request.customer_id,
        request.connection_id,
        request.meter_id,
        request.product_id,
        request.cost,
        request.charge.amount,
        request.fee.amount,
        request.model_usage.total_cost,
    )


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_request_and_usage_read_the_same_in_every_profile(current_live_stack: Any, profile: str) -> None:
    server = current_live_stack.server
    key = new_merchant(server)
    server.cli("merchants", "profile", "--secret-key", key, "--profile", profile)
    with Lava(key, base_url=server.api_base, max_retries=0) as client:
        meter = client.meters.create(
            name="Chat", meter_slug=f"p-{uuid.uuid4().hex[:8]}", rate_type="fixed", tier_type="requests",
            tiers=[{"start": 0, "rate": "0.25"}],
        )  # fmt: skip
        customer = client.customers.create(reference_id=f"p-{uuid.uuid4().hex[:8]}")
        server.cli("wallets", "credit", "--secret-key", key, "--connection-id", customer.customer_id, "--amount", "5")
        answer = client.gateway(CHAT_URL, body=CHAT, customer_id=customer.customer_id, meter_slug=meter.meter_slug)
        assert answer.lava.request_id is not None
        record = client.requests.retrieve(answer.lava.request_id)
        assert record.customer_id == record.connection_id == customer.customer_id
        assert record.meter_id == record.product_id == meter.meter_id
        assert record.charge.amount == record.fee.amount == Decimal("0.25")  # one request at $0.25
        assert record.cost == record.model_usage.total_cost
        usage = client.usage.retrieve(start=datetime.now(UTC) - timedelta(days=1), customer_id=customer.customer_id)
        assert usage.totals.total_charge == usage.totals.total_fee_amount == Decimal("0.25")
        assert usage.totals.total_cost == usage.totals.total_usage_cost == record.cost

    # the same record through a legacy client: the 2025 shape, read into the same values
    with Lava(key, base_url=server.api_base, api_version="2025-04-28.v1", max_retries=0) as legacy:
        again = legacy.requests.retrieve(answer.lava.request_id)
        assert _view(again) == _view(record)

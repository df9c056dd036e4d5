"""Current-generation gaps (issue 9/11 follow-up), through ``/v1/forward`` on the fake upstream:

- current forms (rows 1-5, spend keys, ``POST /v1/requests`` by customer) carry no service
  charge (spec lava-api-current section 1.4); the 2025 form keeps it; reprice agrees;
- ``spend_key_id`` on request objects, only when non-null (spec section 2.4 "Payer").

``lava ledger check`` runs after every test.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from tests.compat.current_support import LEGACY, customer_and_meter, rest
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import GatewayStack

fake_gateway = conftest_gateway.fake_gateway

OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 16}
ZERO = "0.0000000000"


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, f"lava ledger check failed: {report.problems}"


def token(**fields: Any) -> str:
    return base64.b64encode(json.dumps(fields, separators=(",", ":")).encode()).decode()


def forward(stack: GatewayStack, bearer: str, body: dict[str, Any] | None = None) -> httpx.Response:
    return httpx.post(
        f"{stack.server.url}/v1/forward?u={OPENAI_CHAT}",
        headers={"Authorization": f"Bearer {bearer}"},
        json=body or CHAT,
        timeout=30,
    )


def record(stack: GatewayStack, key: str, request_id: str) -> dict[str, Any]:
    r = rest(stack.server, key, "GET", f"requests/{request_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def reprice(stack: GatewayStack, request_id: str) -> dict[str, Any]:
    out: dict[str, Any] = stack.server.cli("requests", "reprice", request_id)
    return out


def new_merchant(stack: GatewayStack) -> str:
    key: str = stack.server.merchant(f"gaps-{uuid.uuid4().hex[:8]}")["secret_key"]
    return key


def test_current_forms_carry_no_service_charge_legacy_keeps_it(stack: GatewayStack) -> None:
    key = new_merchant(stack)
    customer, meter = customer_and_meter(stack.server, key, rate="5")
    r = forward(stack, token(secret_key=key, customer_id=customer["customer_id"], meter_slug=meter["meter_slug"]))
    assert r.status_code == 200, r.text
    current = record(stack, key, r.headers["x-lava-request-id"])
    assert current["charge"]["amount"] != ZERO  # the customer was charged a fee ...
    assert current["service_charge"] == {"amount": ZERO, "payer": "merchant"}  # ... with no service charge
    assert current["total_wallet_cost"] == current["charge"]["amount"]
    assert reprice(stack, current["request_id"])["matches"] is True
    # POST /v1/requests by customer + meter is current too.
    manual = rest(
        stack.server,
        key,
        "POST",
        "requests",
        json={
            "request_id": f"r-{uuid.uuid4().hex[:8]}",
            "customer_id": customer["customer_id"],
            "meter_slug": meter["meter_slug"],
            "input_tokens": 100000,
            "output_tokens": 100000,
        },
    )
    assert manual.status_code == 201, manual.text
    assert manual.json()["charge"]["amount"] != ZERO
    assert manual.json()["service_charge"]["amount"] == ZERO
    assert reprice(stack, manual.json()["request_id"])["matches"] is True
    # The usage volumes agree: net = gross when no service charge was taken.
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    got = rest(stack.server, key, "GET", "usage", params={"start": start})
    assert got.status_code == 200, got.text
    usage = got.json()["totals"]
    assert usage["total_net_volume"] == usage["total_gross_volume"] != ZERO
    # The 2025 form keeps its service charge (payer per product, on the fee).
    acct = stack.account()
    legacy = forward(stack, acct.token())
    assert legacy.status_code == 200, legacy.text
    rec = acct.request(legacy.headers["x-lava-request-id"])
    if rec["fee"]["amount"] != ZERO:
        assert rec["service_charge"]["amount"] != ZERO
    assert reprice(stack, rec["request_id"])["matches"] is True


def test_spend_key_id_on_request_objects_only_when_non_null(stack: GatewayStack) -> None:
    key = new_merchant(stack)
    made = rest(stack.server, key, "POST", "spend_keys", json={"name": "agent"})
    assert made.status_code == 201, made.text
    spend = made.json()
    r = forward(stack, spend["key"])
    assert r.status_code == 200, r.text
    request_id = r.headers["x-lava-request-id"]
    for profile in ({}, LEGACY):
        got = rest(stack.server, key, "GET", f"requests/{request_id}", headers=profile)
        assert got.status_code == 200, got.text
        assert got.json()["spend_key_id"] == spend["spend_key_id"]
    listed = rest(stack.server, key, "GET", "requests").json()["data"]
    assert [x.get("spend_key_id") for x in listed] == [spend["spend_key_id"]]
    # A call without a spend key has no such field at all (not null).
    plain = forward(stack, key)
    assert plain.status_code == 200, plain.text
    assert "spend_key_id" not in record(stack, key, plain.headers["x-lava-request-id"])

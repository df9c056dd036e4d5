"""Current-generation gaps (issue 9/11 follow-up), through ``/v1/forward`` on the fake upstream:

- current forms (rows 1-5, spend keys, ``POST /v1/requests`` by customer) carry no service
  charge (spec lava-api-current section 1.4); the 2025 form keeps it; reprice agrees;
- ``spend_key_id`` on request objects, only when non-null (spec section 2.4 "Payer");
- ``enforce_merchant_wallet`` (spec section 4.1): an uncoverable worst case of a call whose cost
  the merchant bears is 402 ``insufficient_balance`` with nothing upstream; off by default;
- merchant-stored provider keys (spec section 2.3 "Key choice"): stored, else managed, else 403.

``lava ledger check`` runs after every test.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from lava_server.billing.accounts import merchant_revenue_account
from lava_server.money import to_wire
from tests.compat.current_support import LEGACY, customer_and_meter, rest
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import MANAGED_KEYS, GatewayStack, make_token

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
    product = stack.server.cli("products", "create", "--secret-key", key, "--tier", "0:5")
    conn = stack.server.cli("connections", "create", "--secret-key", key, "--credit", "50")
    legacy = forward(stack, make_token(key, conn["connection_secret"], product["product_secret"]))
    assert legacy.status_code == 200, legacy.text
    rec = record(stack, key, legacy.headers["x-lava-request-id"])
    assert rec["fee"]["amount"] != ZERO
    assert rec["service_charge"]["amount"] != ZERO and rec["service_charge"]["payer"] == "wallet"
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


def merchant_balance(stack: GatewayStack, merchant_id: str) -> str:
    """The merchant wallet: its revenue ledger account (test mode), as a wire amount."""
    got = stack.server.call(stack.server.services.ledger.balance(merchant_revenue_account(merchant_id, "test")))
    return to_wire(got.balance)


def enforcing_merchant(stack: GatewayStack) -> tuple[str, str]:
    m = stack.server.merchant(f"enforce-{uuid.uuid4().hex[:8]}")
    out = stack.server.cli("merchants", "wallet-enforcement", "--secret-key", m["secret_key"], "--enforce", "on")
    assert out["enforce_merchant_wallet"] is True
    return str(m["secret_key"]), str(m["merchant_id"])


def test_enforced_merchant_wallet_refuses_uncoverable_calls_before_upstream(stack: GatewayStack) -> None:
    key, merchant_id = enforcing_merchant(stack)
    customer, meter = customer_and_meter(stack.server, key, rate="5")
    spend = rest(stack.server, key, "POST", "spend_keys", json={"name": "agent"}).json()["key"]
    hits = stack.upstream_hits()
    for bearer in (
        key,  # row 1
        token(secret_key=key, meter_slug=meter["meter_slug"]),  # row 2
        token(secret_key=key, customer_id=customer["customer_id"], meter_slug=meter["meter_slug"]),  # row 3
        spend,
    ):
        r = forward(stack, bearer)
        assert r.status_code == 402, r.text
        assert r.json()["error"]["code"] == "insufficient_balance"
    assert stack.upstream_hits() == hits  # nothing went upstream
    assert merchant_balance(stack, merchant_id) == ZERO
    # BYOK costs are only recorded: not checked.
    byok = forward(stack, token(secret_key=key, provider_key="sk-own-byok"))
    assert byok.status_code == 200, byok.text
    # Fees earned (a customer's reported usage) fund the merchant wallet; then calls pass.
    funded = rest(
        stack.server,
        key,
        "POST",
        "requests",
        json={
            "request_id": f"r-{uuid.uuid4().hex[:8]}",
            "customer_id": customer["customer_id"],
            "meter_slug": meter["meter_slug"],
            "input_tokens": 1_000_000,
        },
    )
    assert funded.status_code == 201, funded.text
    before = merchant_balance(stack, merchant_id)
    assert before == "5.0000000000"
    r = forward(stack, key)
    assert r.status_code == 200, r.text
    cost = record(stack, key, r.headers["x-lava-request-id"])["cost"]
    assert cost != ZERO
    assert merchant_balance(stack, merchant_id) == to_wire(int(before.replace(".", "")) - int(cost.replace(".", "")))
    # Switched off (the default), the wallet may go negative again.
    stack.server.cli("merchants", "wallet-enforcement", "--secret-key", key, "--enforce", "off")
    count = stack.server.services.db.fetchval(
        "SELECT COUNT(*) FROM merchant_wallet_holds WHERE merchant_id = $1", merchant_id
    )
    assert int(stack.server.call(count)) == 0  # every in-flight worst case was released


def test_merchant_wallet_is_not_enforced_by_default(stack: GatewayStack) -> None:
    m = stack.server.merchant(f"free-{uuid.uuid4().hex[:8]}")
    r = forward(stack, m["secret_key"])
    assert r.status_code == 200, r.text
    assert merchant_balance(stack, m["merchant_id"]).startswith("-")


def test_stored_provider_key_wins_then_managed_then_not_configured(stack: GatewayStack) -> None:
    m = stack.server.merchant(f"stored-{uuid.uuid4().hex[:8]}")
    key, merchant_id = str(m["secret_key"]), str(m["merchant_id"])
    own = f"sk-merchant-own-{uuid.uuid4().hex}"
    out = stack.server.cli("provider-keys", "set", "--secret-key", key, "--provider", "openai", "--key", own)
    assert out["hint"] == "…" + own[-4:]
    listed = stack.server.cli("provider-keys", "list", "--secret-key", key)["keys"]
    assert listed == [{"provider": "openai", "mode": "test", "hint": "…" + own[-4:]}]
    stored_rows = stack.server.call(stack.server.services.db.fetchall("SELECT key_enc FROM merchant_provider_keys"))
    assert all(own not in str(row["key_enc"]) for row in stored_rows)  # encrypted at rest
    # 1. The stored key wins: sent upstream, recorded as stored, cost recorded, nothing debited.
    for bearer in (key, token(secret_key=key)):
        r = forward(stack, bearer)
        assert r.status_code == 200, r.text
        assert stack.fake_requests()[-1]["headers"]["authorization"] == f"Bearer {own}"
        rec = record(stack, key, r.headers["x-lava-request-id"])
        assert rec["provider_key_type"] == "stored" and rec["cost"] != ZERO
        assert rec["total_merchant_cost"] == ZERO
    assert merchant_balance(stack, merchant_id) == ZERO
    # A provider_key in the token still wins over the stored key (BYOK).
    r = forward(stack, token(secret_key=key, provider_key="sk-token-byok"))
    assert r.status_code == 200 and stack.fake_requests()[-1]["headers"]["authorization"] == "Bearer sk-token-byok"
    assert record(stack, key, r.headers["x-lava-request-id"])["provider_key_type"] == "unmanaged"
    # Another merchant does not get this merchant's key.
    other = stack.server.merchant(f"other-{uuid.uuid4().hex[:8]}")
    r = forward(stack, other["secret_key"])
    assert r.status_code == 200 and stack.fake_requests()[-1]["headers"]["authorization"] == (
        f"Bearer {MANAGED_KEYS['openai']}"
    )
    # 2. Deleted: the operator's managed key, debited to the merchant.
    assert stack.server.cli("provider-keys", "delete", "--secret-key", key, "--provider", "openai")["deleted"] is True
    r = forward(stack, key)
    assert r.status_code == 200, r.text
    assert stack.fake_requests()[-1]["headers"]["authorization"] == f"Bearer {MANAGED_KEYS['openai']}"
    assert record(stack, key, r.headers["x-lava-request-id"])["provider_key_type"] == "managed"
    assert merchant_balance(stack, merchant_id).startswith("-")
    # 3. Neither (no operator key for groq): 403 provider_not_configured; a stored one is used,
    #    and GET /v1/models lists the provider for this merchant only.
    groq = "https://api.groq.com/openai/v1/chat/completions"
    url = f"{stack.server.url}/v1/forward?u={groq}"
    r = httpx.post(url, headers={"Authorization": f"Bearer {key}"}, json=CHAT, timeout=30)
    assert r.status_code == 403 and r.json()["error"]["code"] == "provider_not_configured"

    def owners(secret: str) -> set[str]:
        got = httpx.get(f"{stack.server.api_base}models", headers={"Authorization": f"Bearer {secret}"}, timeout=30)
        assert got.status_code == 200, got.text
        return {m["owned_by"] for m in got.json()["data"]}

    assert "groq" not in owners(key)
    stack.server.cli("provider-keys", "set", "--secret-key", key, "--provider", "groq", "--key", "gsk-own-groq")
    assert "groq" in owners(key) and "groq" not in owners(other["secret_key"])
    r = httpx.post(url, headers={"Authorization": f"Bearer {key}"}, json=CHAT, timeout=30)
    assert r.status_code != 403, r.text  # forwarded with the stored key (the test upstream is unreachable)
    assert "x-lava-request-id" in r.headers
    assert record(stack, key, r.headers["x-lava-request-id"])["provider_key_type"] == "stored"


def test_enforced_wallet_never_goes_negative_under_concurrent_calls(stack: GatewayStack) -> None:
    key, merchant_id = enforcing_merchant(stack)
    customer, meter = customer_and_meter(stack.server, key, rate="5")
    funded = rest(
        stack.server,
        key,
        "POST",
        "requests",
        json={
            "request_id": f"r-{uuid.uuid4().hex[:8]}",
            "customer_id": customer["customer_id"],
            "meter_slug": meter["meter_slug"],
            "input_tokens": 20,  # $0.0001: a handful of worst cases
        },
    )
    assert funded.status_code == 201, funded.text
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(lambda _: forward(stack, key).status_code, range(40)))
    assert set(statuses) == {200, 402}, statuses
    assert not merchant_balance(stack, merchant_id).startswith("-")

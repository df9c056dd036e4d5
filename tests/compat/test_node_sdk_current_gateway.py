"""The OFFICIAL @lavapayments/nodejs 11.2.0: billed ``gateway()`` calls in every forward-token form,
charged as docs/current-api.md "Token forms" says, against the fake-upstream gateway stack
(managed OpenAI key, fake OpenAI); and test and live never mixing.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.compat.current_support import (
    # noqa: F401,
    OPENAI_CHAT,
    ZERO,
    balance,
    conforms,
    customer_and_meter,
    new_merchant,
    rest,
)
from tests.compat.test_node_sdk import Driver, assert_api_error, ok
from tests.e2e.conftest_gateway import GatewayStack

pytestmark = pytest.mark.node


# --- billed gateway() calls in every token form ---------------------------------------------


def test_gateway_token_forms(drive: Driver, stack: GatewayStack) -> None:
    server = stack.server
    key = new_merchant(server)
    customer, meter = customer_and_meter(server, key, credit="10", rate="1000")
    foreign, _ = customer_and_meter(server, new_merchant(server))
    hits = stack.upstream_hits()
    out = drive.run(
        "gateway",
        key,
        chat_url=OPENAI_CHAT,
        customer_id=customer["customer_id"],
        reference_id=customer["reference_id"],
        meter_slug=meter["meter_slug"],
        foreign_customer_id=foreign["customer_id"],
    )
    forms = out["forms"]
    for form in ("merchant", "meter_only", "customer", "customer_by_reference", "disable_billing", "byok"):
        assert ok(forms[form], f"gateway() {form}")["object"] == "chat.completion", form
    assert "customer_id requires meter_slug" in forms["customer_without_meter"]["error"]
    assert_api_error(forms["unknown_meter"], "an unknown meter_slug", 401, "invalid_meter_slug")
    assert_api_error(forms["foreign_customer"], "another merchant's customer", 401, "invalid_customer")
    assert stack.upstream_hits() == hits + 6  # refused forms never went upstream

    decoded = out["decoded"]
    assert decoded["secret_only"] == {"secret_key": key}
    assert decoded["disable_billing"]["disable_billing"] is True
    assert decoded["byok"] == {
        "secret_key": key,
        "customer_id": None,
        "meter_slug": None,
        "provider_key": "sk-byok-1120",
    }

    r = rest(server, key, "GET", "requests", params={"limit": "100"})
    records = list(reversed(r.json()["data"]))  # oldest first = call order
    assert len(records) == 6
    merchant_pays, meter_only, charged, charged_by_ref, untracked, byok = records
    for rec in records:
        conforms(rec, "RestRequest", "compat")
        assert rec["status"] == "completed"
        assert Decimal(rec["cost"]) > 0  # gpt-4o-mini is priced
    assert "customer_id" not in merchant_pays and "meter_id" not in merchant_pays
    assert merchant_pays["charge"]["amount"] == ZERO and merchant_pays["provider_key_type"] == "managed"
    assert meter_only["meter_id"] == meter["meter_id"] and "customer_id" not in meter_only
    assert meter_only["charge"]["amount"] == ZERO
    for rec in (charged, charged_by_ref):
        assert rec["customer_id"] == customer["customer_id"] and rec["meter_id"] == meter["meter_id"]
        assert Decimal(rec["charge"]["amount"]) > 0
        assert rec["model_usage"]["payer"] == "merchant"  # the merchant bears the provider cost
    assert untracked["customer_id"] == customer["customer_id"] and untracked["charge"]["amount"] == ZERO
    assert byok["provider_key_type"] == "unmanaged" and byok["charge"]["amount"] == ZERO
    # Who paid is recorded (our compat extension), and a managed key's cost is debited to the
    # merchant when no customer is charged (docs/current-api.md "Who pays"); BYOK costs nobody anything here.
    forms = [r.get("token_form") for r in records]
    assert forms == ["merchant", "meter", "customer", "customer", "customer_untracked", "merchant"]
    for rec in (merchant_pays, meter_only, untracked):
        assert rec["total_merchant_cost"] == rec["cost"] and rec["total_wallet_cost"] == ZERO
    assert byok["total_merchant_cost"] == ZERO and byok["total_request_cost"] == ZERO
    for rec in records:  # settlement and `lava requests reprice` agree on every form
        assert server.cli("requests", "reprice", rec["request_id"])["matches"] is True, rec["request_id"]
    spent = sum(int(rec["charge"]["amount"].replace(".", "")) for rec in (charged, charged_by_ref))
    assert int(balance(server, key, customer["customer_id"]).replace(".", "")) == 10 * 10**10 - spent

    # The customer filter finds exactly the calls that named the customer.
    by_customer = rest(server, key, "GET", "requests", params={"customer_id": customer["reference_id"]}).json()
    assert {r["request_id"] for r in by_customer["data"]} == {
        charged["request_id"],
        charged_by_ref["request_id"],
        untracked["request_id"],
    }

    # /v1/quote takes the current form too: secret key as Bearer, customer and meter in the body.
    quote = rest(
        server,
        key,
        "POST",
        "quote",
        json={
            "url": OPENAI_CHAT,
            "body": {"model": "gpt-4o-mini", "messages": []},
            "customer_id": customer["reference_id"],
            "meter_slug": meter["meter_slug"],
        },
    )
    assert quote.status_code == 200, quote.text
    assert float(quote.json()["hold"]) > 0

    # A customer without credits: 402 insufficient_credits, nothing upstream, nothing recorded.
    broke = server.cli("customers", "create", "--secret-key", key, "--reference-id", "broke")
    hits = stack.upstream_hits()
    poor = drive.run("token", key, options={"customer_id": broke["customer_id"], "meter_slug": meter["meter_slug"]})
    resp = httpx.post(
        f"{server.api_base}forward?u={OPENAI_CHAT}",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {poor['token']}"},
        timeout=30,
    )
    assert resp.status_code == 402 and resp.json()["error"]["code"] == "insufficient_credits", resp.text
    assert stack.upstream_hits() == hits

    # A deleted customer's token is refused before anything goes upstream.
    token = drive.run("token", key, options={"customer_id": customer["customer_id"], "meter_slug": meter["meter_slug"]})
    assert rest(server, key, "DELETE", f"customers/{customer['customer_id']}").json() == {"success": True}
    hits = stack.upstream_hits()
    resp = httpx.post(
        f"{server.api_base}forward?u={OPENAI_CHAT}",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {token['token']}"},
        timeout=30,
    )
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "customer_inactive"
    assert stack.upstream_hits() == hits

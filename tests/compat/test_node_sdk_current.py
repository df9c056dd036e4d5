"""The OFFICIAL @lavapayments/nodejs 11.2.0 (the current API generation) against our REST API.

Every method whose server side exists is called through the SDK itself (``node/sdk1120.mjs``):
customers, meters, requests, usage, secretKeys, models and checkoutSessions. Each response is
checked against the field list of the SDK's own ``index.d.ts`` types (``dts_shapes``): exactly,
under the merchant profile ``current``; as a superset, under ``compat`` (the default, which also
serves 8.1.0). Billed ``gateway()`` calls are in ``test_node_sdk_current_gateway.py``. Every test
makes its own merchants; ``lava ledger check`` runs after each.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from lava_server.auth.merchant_keys import KeyAuthenticator
from tests.compat.current_support import (
    # noqa: F401,
    FOREIGN_CUSTOMER,
    LEGACY,
    OPENAI_CHAT,
    ZERO,
    balance,
    conforms,
    customer_and_meter,
    new_merchant,
    rest,
)
from tests.compat.dts_shapes import check, shape
from tests.compat.test_node_sdk import DRIVER_TIMEOUT_S, SDKS, Driver, assert_api_error, ok
from tests.e2e.conftest_gateway import GatewayStack
from tests.support.live import LiveServer

pytestmark = pytest.mark.node


# --- surface -------------------------------------------------------------------------------


def test_surface(drive: Driver) -> None:
    out = drive.run("surface", "aks_test_x")
    assert out["package_version"] == "11.2.0"
    res = out["resources"]
    assert {"create", "list", "retrieve", "update", "delete", "getSubscription"} <= set(res["customers"])
    assert {"create", "list", "retrieve", "update", "delete"} <= set(res["meters"])
    assert {"create", "list", "retrieve"} <= set(res["requests"])
    assert {"create", "list", "delete"} <= set(res["secretKeys"])
    assert "list" in res["models"]
    assert (out["gateway"], out["generate_forward_token"]) == ("function", "function")


# --- customers -----------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_customers(drive: Driver, stack: GatewayStack, profile: str) -> None:
    server = stack.server
    key = new_merchant(server, profile)
    other_key = new_merchant(server)
    foreign = server.cli("customers", "create", "--secret-key", other_key, "--reference-id", "foreign")
    out = drive.run("customers", key, reference_id="user_42", foreign_customer_id=foreign["customer_id"])

    created = ok(out["created"], "customers.create")
    conforms(created, "RestCustomer", profile)
    assert created["customer_id"].startswith("con_test_")
    assert created["reference_id"] == "user_42"
    assert created["contact"] == {
        "phone": "+14155550123",
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
    }
    assert created["metadata"] == {"plan": "pro", "seats": 3}
    assert (created["subscription"]["name"], created["subscription"]["status"]) == ("Free", "active")  # docs/plans.md
    assert ok(out["replay"], "customers.create replay") == created  # idempotent by reference_id

    others = [ok(o, "customers.create({})")["customer_id"] for o in out["others"]]
    pages = ok(out["pages"], "customers.list paging")
    assert [i for p in pages for i in p["ids"]] == [*reversed(others), created["customer_id"]]
    assert [len(p["ids"]) for p in pages] == [2, 2]

    conforms(ok(out["retrieved"], "customers.retrieve"), "RestCustomer", profile)
    assert ok(out["by_reference"], "customers.retrieve(reference_id)")["customer_id"] == created["customer_id"]
    updated = ok(out["updated"], "customers.update")
    conforms(updated, "RestCustomer", profile)
    assert updated["contact"]["first_name"] == "Ada" and updated["contact"]["last_name"] == "King"
    assert updated["contact"]["email"] == ""  # null cleared it
    assert updated["metadata"] == {"plan": "team"}  # replaced, not merged
    current_sub = ok(out["subscription"], "customers.getSubscription")["subscription"]
    conforms(current_sub, "RestSubscriptionBase", profile)
    assert (
        current_sub["plan"]["name"] == "Free"
        and current_sub["subscription_id"] == created["subscription"]["subscription_id"]
    )
    assert ok(out["deleted"], "customers.delete") == {"success": True}
    assert_api_error(out["after_delete"], "retrieve a deleted customer", 404, "not_found")
    for call in ("foreign_retrieve", "foreign_update", "foreign_delete", "foreign_subscription"):
        assert_api_error(out[call], f"{call} of another merchant's customer", 404, "not_found")
    # The customer is the connection: the same id on the legacy path.
    legacy = rest(server, key, "GET", f"connections/{others[0]}", headers=LEGACY)
    assert legacy.status_code == 200 and legacy.json()["connection_id"] == others[0]
    assert rest(server, other_key, "GET", f"customers/{foreign['customer_id']}").status_code == 200


def test_test_and_live_never_mix(stack: GatewayStack) -> None:
    """The same merchant's live key sees none of its test customers or meters, anywhere."""
    from lava_server.accounts.merchants import create_secret_key

    server = stack.server
    key = new_merchant(server)
    customer, meter = customer_and_meter(server, key)
    merchant_id = server.call(server.services.keys.resolve(key)).merchant_id
    live = server.call(create_secret_key(server.services, merchant_id, "live"))
    assert live.startswith("aks_live_")
    assert rest(server, live, "GET", f"customers/{customer['customer_id']}").status_code == 404
    assert rest(server, live, "GET", f"customers/{customer['reference_id']}").status_code == 404
    assert rest(server, live, "GET", f"meters/{meter['meter_id']}").status_code == 404
    assert rest(server, live, "GET", "customers").json()["data"] == []
    assert rest(server, live, "GET", "meters").json()["data"] == []
    body = {"request_id": f"live_{uuid.uuid4().hex[:8]}", "customer_id": customer["customer_id"]}
    assert rest(server, live, "POST", "requests", json=body | {"meter_slug": meter["meter_slug"]}).status_code == 404
    token = base64.b64encode(
        json.dumps(
            {"secret_key": live, "customer_id": customer["customer_id"], "meter_slug": meter["meter_slug"]}
        ).encode()
    ).decode()
    resp = httpx.post(
        f"{server.api_base}forward?u={OPENAI_CHAT}",
        json={"model": "gpt-4o-mini", "messages": []},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert resp.status_code == 401 and resp.json()["error"]["code"] in ("invalid_customer", "invalid_meter_slug")


# --- meters --------------------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_meters(drive: Driver, stack: GatewayStack, profile: str) -> None:
    server = stack.server
    key = new_merchant(server, profile)
    foreign = server.cli("meters", "create", "--secret-key", new_merchant(server), "--name", "theirs")
    out = drive.run("meters", key, foreign_meter_id=foreign["meter_id"])

    tokens = ok(out["tokens"], "meters.create")
    conforms(tokens, "RestMeter", profile)
    assert tokens["meter_slug"] == "gpt-tokens-eu"  # generated from the name
    assert tokens["rate_type"] == "fixed"
    assert [(t["start"], t["type"]) for t in tokens["tiers"]] == [(0, "tokens_1m"), (1000000, "tokens_1m")]
    assert [float(t["rate"]) for t in tokens["tiers"]] == [5.0, 4.0]
    per_request = ok(out["per_request"], "meters.create (requests)")
    assert per_request["meter_slug"] == "per-call"
    assert per_request["tiers"][0]["type"] == "requests"
    if profile == "compat":
        assert per_request["token_basis"] == "input+output"
        assert per_request["base_cost_payer"] == "merchant"

    assert_api_error(out["duplicate"], "a taken meter_slug", 409, "meter_slug_taken")
    assert_api_error(out["bad_tiers"], "tiers not starting at 0", 400, "invalid_request")
    listed = ok(out["listed"], "meters.list")
    assert [m["meter_id"] for m in listed["data"]] == [per_request["meter_id"], tokens["meter_id"]]
    for meter in listed["data"]:
        conforms(meter, "RestMeter", profile)
    assert ok(out["retrieved"], "meters.retrieve") == tokens
    updated = ok(out["updated"], "meters.update")
    assert updated["name"] == "GPT tokens" and [t["rate"] for t in updated["tiers"]] == ["6.0000000000"]
    assert updated["meter_slug"] == "gpt-tokens-eu"
    assert_api_error(out["immutable"], "changing rate_type", 400, "immutable_field")
    assert ok(out["deleted"], "meters.delete") == {"id": tokens["meter_id"], "deleted": True}
    assert_api_error(out["after_delete"], "retrieve a deleted meter", 404, "not_found")
    assert_api_error(out["foreign_retrieve"], "another merchant's meter", 404, "not_found")
    assert_api_error(out["foreign_delete"], "delete another merchant's meter", 404, "not_found")


# --- requests and usage --------------------------------------------------------------------


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_requests_and_usage(drive: Driver, stack: GatewayStack, profile: str) -> None:
    server = stack.server
    key = new_merchant(server, profile)
    customer, meter = customer_and_meter(server, key)
    other_meter = server.cli("meters", "create", "--secret-key", key, "--name", "unused")
    request_id = f"evt_{uuid.uuid4().hex[:12]}"
    out = drive.run(
        "requests",
        key,
        request_id=request_id,
        customer_id=customer["customer_id"],
        meter_slug=meter["meter_slug"],
        meter_id=meter["meter_id"],
        other_meter_id=other_meter["meter_id"],
        foreign_customer_id=FOREIGN_CUSTOMER,
        start=(datetime.now(UTC) - timedelta(days=2)).strftime("%Y-%m-%dT00:00:00Z"),
    )
    created = ok(out["created"], "requests.create")
    conforms(created, "RestRequest", profile)
    assert created["customer_id"] == customer["customer_id"] and created["meter_id"] == meter["meter_id"]
    assert created["cost"] == ZERO  # no provider call
    assert created["charge"]["amount"] == "5.0000000000"  # 1M tokens at $5 / 1M
    assert created["charge"]["rate_type"] == "fixed"
    assert [e["tokens"] for e in created["charge"]["breakdown"]] == [1_000_000]
    assert balance(server, key, customer["customer_id"]) == "45.0000000000"
    assert ok(out["replay"], "requests.create replay") == created
    assert_api_error(out["conflict"], "same request_id, other payload", 409, "idempotency_conflict")
    assert_api_error(out["unknown_customer"], "an unknown customer", 404, "not_found")

    listed = ok(out["listed"], "requests.list({customer_id, meter_id, metadata_filters})")
    assert [r["request_id"] for r in listed["data"]] == [request_id]
    conforms(listed["data"][0], "RestRequest", profile)
    assert ok(out["other_meter"], "requests.list({meter_id: other})")["data"] == []
    assert ok(out["retrieved"], "requests.retrieve") == created

    usage = ok(out["usage"], "usage.retrieve({customer_id, meter_id})")
    conforms(usage, "RestUsage", profile)
    assert usage["totals"]["total_charge"] == "5.0000000000"
    assert usage["totals"]["total_cost"] == ZERO
    assert usage["totals"]["total_requests"] == 1
    assert sum(Decimal(i["total_charge"]) for i in usage["items"]) == Decimal(5)
    # A meter in use can be deleted: its past requests keep their price (and reprice agrees).
    assert rest(server, key, "DELETE", f"meters/{meter['meter_id']}").json() == {
        "id": meter["meter_id"],
        "deleted": True,
    }
    after = rest(server, key, "GET", f"requests/{request_id}").json()
    assert after["charge"] == created["charge"] and after["meter_id"] == meter["meter_id"]
    assert server.cli("requests", "reprice", request_id)["matches"] is True
    if profile == "compat":  # the 2025 totals ride along for older clients
        assert usage["totals"]["total_fee_amount"] == "5.0000000000"
        assert listed["data"][0]["fee"]["amount"] == "5.0000000000"
        assert listed["data"][0]["connection_id"] == customer["customer_id"]


def test_legacy_header_gets_2025_shapes_and_810_sees_compat(stack: GatewayStack, node_1120: str) -> None:
    """The same request: 2025 shape with the legacy header; 8.1.0 (no header) still finds fee and
    connection_id under compat; current-only fields never leak into the 2025 profile."""
    server = stack.server
    key = new_merchant(server)
    customer, meter = customer_and_meter(server, key)
    body = {"request_id": "r810", "customer_id": customer["customer_id"], "meter_slug": meter["meter_slug"]}
    body |= {"input_tokens": 10, "metadata": {"team": "a"}}
    assert rest(server, key, "POST", "requests", json=body).status_code == 201
    legacy = rest(server, key, "GET", "requests/r810", headers=LEGACY).json()
    assert "fee" in legacy and "connection_id" in legacy
    assert "cost" not in legacy and "charge" not in legacy and "customer_id" not in legacy
    out = Driver(SDKS["8.1.0"], node_1120, server).run(
        "requests", key, connection_id=customer["customer_id"], unknown_request_id="req_test_01ARZ3NDEKTSV4RRFFQ69G5FAV"
    )
    seen = ok(out["filtered"], "8.1.0 requests.list")["data"]
    assert [r["request_id"] for r in seen] == ["r810"]
    assert seen[0]["connection_id"] == customer["customer_id"]
    assert seen[0]["fee"]["amount"] == seen[0]["charge"]["amount"]
    # 8.x connection and request types, checked against 8.1.0's own declarations.
    for alias_, type_name, path in (
        ("lava810", "RestConnection", f"connections/{customer['customer_id']}"),
        ("lava810", "RestRequest", "requests/r810"),
    ):
        got = rest(server, key, "GET", path).json()
        problems = check(got, shape(alias_, type_name), exact=False)
        assert not problems, (type_name, problems)
    # 8.0.0 sends the 2025 header yet types the 8.x fields: they are in the 2025 profile too.
    assert legacy["meter_id"] == meter["meter_id"]
    start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT00:00:00Z")
    usage_2025 = rest(server, key, "GET", "usage", params={"start": start}, headers=LEGACY).json()
    assert not check(usage_2025, shape("lava800", "RestUsage"), exact=False)
    sub = rest(server, key, "GET", f"connections/{customer['customer_id']}/subscription")
    assert sub.json()["subscription"]["plan"]["name"] == "Free"  # every customer starts on Free (docs/plans.md)


# --- secret keys ---------------------------------------------------------------------------


def _backdate_key(server: LiveServer, key_id: str) -> None:
    async def run() -> None:
        async with server.services.db.transaction() as tx:
            await tx.execute("UPDATE secret_keys SET created_at = created_at - 60000000 WHERE id = $1", key_id)

    server.call(run())


def test_secret_keys(drive: Driver, stack: GatewayStack) -> None:
    server = stack.server
    key = new_merchant(server, "current")
    old = server.cli("secret-keys", "create", "--secret-key", key, "--name", "old")
    _backdate_key(server, old["secret_key_id"])
    foreign = server.cli("secret-keys", "create", "--secret-key", new_merchant(server), "--name", "theirs")

    # A second replica's cache, warmed before the revocation (same database, own process state).
    replica = KeyAuthenticator(server.services.db, server.services.keyring, ttl_s=3600)
    assert server.call(replica.resolve(old["secret_key"])) is not None

    out = drive.run(
        "secret_keys",
        key,
        old_key_id=old["secret_key_id"],
        old_key=old["secret_key"],
        foreign_key_id=foreign["secret_key_id"],
    )
    listed = ok(out["listed"], "secretKeys.list")
    assert len(listed["data"]) == 2
    for item in listed["data"]:
        conforms(item, "RestSecretKey", "current")
    created = ok(out["created"], "secretKeys.create")
    conforms(created, "RestSecretKey", "current", ignore=("$.secret_key:",))
    assert created["secret_key"].startswith("aks_test_") and created["secret_key"].endswith(created["secret_key_hint"])
    assert created["name"] == "ci key"
    assert len(ok(out["new_key_works"], "the new key authenticates")["data"]) == 3
    assert_api_error(out["cooldown"], "revoking a key younger than 15 s", 409, "secret_key_cooldown")
    assert ok(out["deleted"], "secretKeys.delete") == {"id": old["secret_key_id"], "deleted": True}
    assert_api_error(out["old_key_after"], "a revoked key", 401, "authentication_failed")
    assert_api_error(out["foreign_delete"], "another merchant's key", 404, "not_found")
    # Stored hashed: the secret appears nowhere in the database.
    rows = server.call(server.services.db.fetchall("SELECT key_hash, hint FROM secret_keys"))
    assert all(created["secret_key"] not in (r["key_hash"], r["hint"]) for r in rows)
    # The other replica no longer trusts its cached entry.
    assert server.call(replica.resolve(old["secret_key"])) is None


def test_last_secret_key_cannot_be_deleted(drive: Driver, stack: GatewayStack) -> None:
    key = new_merchant(stack.server)
    out = drive.run("last_key", key)
    assert len(ok(out["listed"], "secretKeys.list")["data"]) == 1
    assert_api_error(out["deleted"], "deleting the last key", 400, "last_secret_key")


# --- models and checkout -------------------------------------------------------------------


def test_models(drive: Driver, stack: GatewayStack) -> None:
    out = drive.run("models", new_merchant(stack.server))
    listed = ok(out["listed"], "models.list")
    assert listed["object"] == "list"
    ids = {m["id"] for m in listed["data"]}
    assert "gpt-4o-mini" in ids  # openai has a managed key on this stack
    for model in listed["data"]:
        assert set(model) == {"id", "object", "created", "owned_by"}
        assert model["object"] == "model" and isinstance(model["created"], int)
    assert {m["owned_by"] for m in listed["data"]} <= {"openai", "anthropic", "google", "mistral"}
    unauthenticated = httpx.get(f"{stack.server.api_base}models", timeout=30)
    assert unauthenticated.status_code == 200 and unauthenticated.json()["data"]


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_checkout_session_carries_customer_id(drive: Driver, stack: GatewayStack, profile: str) -> None:
    key = new_merchant(stack.server, profile)
    customer = stack.server.cli("customers", "create", "--secret-key", key)
    out = drive.run("checkout", key, origin_url="http://127.0.0.1:3000", customer_id=customer["customer_id"])
    created = ok(out["created"], "checkoutSessions.create")
    # topup is a legacy mode 11.2.0 does not type (subscription/credit_bundle come with plans);
    # compat keeps the 2025 `completed_at: null` that existing clients read.
    ignore = ("$.checkout_mode:", "$.completed_at: null") if profile == "compat" else ("$.checkout_mode:",)
    conforms(created, "RestCheckoutSession", profile, ignore=ignore)
    if profile == "current":
        assert "completed_at" not in created
    assert created["customer_id"] == customer["customer_id"]
    assert out["token"]["usable_by_hook"] is True
    if profile == "compat":
        assert created["connection_id"] == customer["customer_id"]
    # customer_id may name the customer by reference_id, as everywhere (docs/current-api.md "Vocabulary")
    by_ref = stack.server.cli("customers", "create", "--secret-key", key, "--reference-id", f"co_{profile}")
    session = rest(
        stack.server,
        key,
        "POST",
        "checkout_sessions",
        json={"checkout_mode": "topup", "origin_url": "http://127.0.0.1:3000", "customer_id": f"co_{profile}"},
    )
    assert session.status_code == 201 and session.json()["customer_id"] == by_ref["customer_id"]


def test_driver_timeout_is_shared() -> None:
    assert DRIVER_TIMEOUT_S >= 20

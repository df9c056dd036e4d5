"""The OFFICIAL @lavapayments/nodejs 11.2.0 (the current API generation) against our server.

Every method whose server side exists is called through the SDK itself (``node/sdk1120.mjs``):
customers, meters, requests, usage, secretKeys, models, checkoutSessions and the billed
``gateway()`` helper in each forward-token form. Each response is checked against the field list
of the SDK's own ``index.d.ts`` types (``dts_shapes``): exactly, under the merchant profile
``current``; as a superset, under ``compat`` (the default, which also serves 8.1.0).

The server is the fake-upstream gateway stack (managed OpenAI key, fake OpenAI), so billed calls
really go "upstream". Every test makes its own merchants; ``lava ledger check`` runs after each.
"""

from __future__ import annotations

import base64
import json
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from lava_server.auth.merchant_keys import KeyAuthenticator
from lava_server.billing import ledger
from tests.compat.dts_shapes import check, shape
from tests.compat.test_node_sdk import DRIVER_TIMEOUT_S, NODE_DIR, SDKS, Driver, SdkVersion, assert_api_error, ok
from tests.e2e.conftest_gateway import GatewayStack, fake_gateway  # noqa: F401
from tests.support.live import LiveServer

pytestmark = pytest.mark.node

SDK = SdkVersion("11.2.0", "lava1120", "sdk1120.mjs", None)
ALIAS = SDK.alias
OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
ZERO = "0.0000000000"
LEGACY = {"X-Lava-API-Version": "2025-04-28.v1"}
FOREIGN_CUSTOMER = "con_test_01ARZ3NDEKTSV4RRFFQ69G5FAV"


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node_1120() -> str:
    """node, after checking 11.2.0 is what npm installed under the alias (fails, never skips)."""
    pins = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    assert pins[ALIAS] == "npm:@lavapayments/nodejs@11.2.0"
    installed = json.loads((NODE_DIR / "node_modules" / ALIAS / "package.json").read_text())
    assert (installed["name"], installed["version"]) == ("@lavapayments/nodejs", "11.2.0"), installed
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10, check=True)
    assert out.stdout.startswith("v")
    return "node"


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:  # noqa: F811
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, f"lava ledger check failed: {report.problems}"


@pytest.fixture
def drive(node_1120: str, stack: GatewayStack) -> Driver:
    return Driver(SDK, node_1120, stack.server)


def new_merchant(server: LiveServer, profile: str = "compat") -> str:
    key: str = server.merchant(f"cur-{uuid.uuid4().hex[:8]}")["secret_key"]
    if profile != "compat":
        server.cli("merchants", "profile", "--secret-key", key, "--profile", profile)
    return key


def conforms(value: Any, type_name: str, profile: str, *, ignore: tuple[str, ...] = ()) -> None:
    """``value`` has every field of the SDK's type; under ``current`` no other field."""
    problems = [
        p for p in check(value, shape(ALIAS, type_name), exact=profile == "current") if not p.startswith(ignore)
    ]
    assert not problems, f"{type_name} ({profile}): {problems}\n{json.dumps(value, indent=1)}"


def rest(server: LiveServer, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    return httpx.request(method, f"{server.api_base}{path}", headers=headers, timeout=30, **kw)


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
    customer, meter = _customer_and_meter(server, key)
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


def _customer_and_meter(
    server: LiveServer, key: str, *, credit: str = "50", rate: str = "5"
) -> tuple[dict[str, Any], dict[str, Any]]:
    ref = f"ref_{uuid.uuid4().hex[:8]}"
    customer = server.cli("customers", "create", "--secret-key", key, "--reference-id", ref)
    server.cli("wallets", "credit", "--secret-key", key, "--connection-id", customer["customer_id"], "--amount", credit)
    meter = server.cli("meters", "create", "--secret-key", key, "--name", f"chat {ref}", "--tier", f"0:{rate}")
    return customer, meter


def _balance(server: LiveServer, key: str, customer_id: str) -> str:
    r = rest(server, key, "GET", f"connections/{customer_id}", headers=LEGACY)
    assert r.status_code == 200, r.text
    return str(r.json()["wallet"]["balance"])


@pytest.mark.parametrize("profile", ["current", "compat"])
def test_requests_and_usage(drive: Driver, stack: GatewayStack, profile: str) -> None:
    server = stack.server
    key = new_merchant(server, profile)
    customer, meter = _customer_and_meter(server, key)
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
    assert _balance(server, key, customer["customer_id"]) == "45.0000000000"
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
    assert sum(float(i["total_charge"]) for i in usage["items"]) == 5.0
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
    customer, meter = _customer_and_meter(server, key)
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


# --- billed gateway() calls in every token form ---------------------------------------------


def test_gateway_token_forms(drive: Driver, stack: GatewayStack) -> None:
    server = stack.server
    key = new_merchant(server)
    customer, meter = _customer_and_meter(server, key, credit="10", rate="1000")
    foreign, _ = _customer_and_meter(server, new_merchant(server))
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
        assert float(rec["cost"]) > 0  # gpt-4o-mini is priced
    assert "customer_id" not in merchant_pays and "meter_id" not in merchant_pays
    assert merchant_pays["charge"]["amount"] == ZERO and merchant_pays["provider_key_type"] == "managed"
    assert meter_only["meter_id"] == meter["meter_id"] and "customer_id" not in meter_only
    assert meter_only["charge"]["amount"] == ZERO
    for rec in (charged, charged_by_ref):
        assert rec["customer_id"] == customer["customer_id"] and rec["meter_id"] == meter["meter_id"]
        assert float(rec["charge"]["amount"]) > 0
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
    assert int(_balance(server, key, customer["customer_id"]).replace(".", "")) == 10 * 10**10 - spent

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


def test_driver_timeout_is_shared() -> None:
    assert DRIVER_TIMEOUT_S >= 20

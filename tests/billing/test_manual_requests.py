"""POST /v1/requests: usage reported by the merchant, fee on the reported units (docs/billing.md "Manual metering")."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from lava import Lava
from tests.billing.billing_fixtures import BillingEnv, Connection, make_env, units


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    e = make_env(tmp_path_factory.mktemp("manual"))
    yield e
    e.assert_ledger_ok()
    e.close()


def post(env: BillingEnv, body: dict[str, Any], secret_key: str | None = None) -> httpx.Response:
    sk = secret_key or env.sk
    return httpx.post(env.server.url + "/v1/requests", headers={"Authorization": f"Bearer {sk}"}, json=body, timeout=10)


def manual(con: Connection, product: dict[str, Any], **units_: Any) -> dict[str, Any]:
    return {
        "request_id": f"man_{uuid.uuid4().hex}",
        "connection_secret": con.secret,
        "product_secret": product["product_secret"],
        **units_,
    }


@pytest.mark.parametrize(
    ("tier", "basis", "reported", "fee", "breakdown_units"),
    [
        # 845 + 412 tokens at $5 per 1M
        (
            "0:5:tokens_1m",
            "input+output",
            {"input_tokens": 845, "output_tokens": 412},
            "0.0062850000",
            ("tokens", 1257),
        ),
        ("0:5:tokens_1m", "output", {"input_tokens": 845, "output_tokens": 412}, "0.0020600000", ("tokens", 412)),
        ("0:0.02:requests", "input+output", {"input_tokens": 845, "output_tokens": 412}, "0.0200000000", None),
        ("0:30:characters_1m", "input+output", {"input_characters": 1200}, "0.0360000000", ("characters", 1200)),
        (
            "0:0.10:minutes",
            "input+output",
            {"input_seconds": 60, "output_seconds": 30},
            "0.1500000000",
            ("seconds", 90),
        ),
    ],
)
def test_fee_on_reported_units(
    env: BillingEnv, tier: str, basis: str, reported: dict[str, Any], fee: str, breakdown_units: Any
) -> None:
    product = env.product("--rate-type", "fixed", "--tier", tier, "--token-basis", basis)
    con = env.connection(credit="1")
    r = post(env, manual(con, product, **reported))
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["status"] == "completed"
    assert rec["fee"]["amount"] == fee
    (entry,) = rec["fee"]["breakdown"]
    assert entry["cost"] == fee
    assert entry["tier"]["type"] == tier.rsplit(":", 1)[1]
    if breakdown_units is not None:
        assert entry[breakdown_units[0]] == breakdown_units[1]
    assert rec["model_usage"]["total_cost"] == "0.0000000000"
    svc = (units(fee) * 19 + 500) // 1000  # 1.9 % of the fee, half-up
    assert units(rec["service_charge"]["amount"]) == svc
    assert units(rec["total_wallet_cost"]) == units(fee) + svc
    assert units(rec["total_request_cost"]) == units(fee) + svc
    assert units("1") - env.balance(con) == units(fee) + svc
    assert env.server.cli("requests", "reprice", rec["request_id"])["matches"] is True
    env.assert_ledger_ok()


def test_graduated_tiers_accumulate_across_manual_requests(env: BillingEnv) -> None:
    product = env.product("--rate-type", "fixed", "--tier", "0:5", "--tier", "1000:1", "--token-basis", "output")
    con = env.connection(credit="1")
    a = post(env, manual(con, product, output_tokens=800)).json()
    b = post(env, manual(con, product, output_tokens=500)).json()
    assert a["fee"]["amount"] == "0.0040000000"  # 800 × $5/M
    assert [(x["tokens"], x["cost"]) for x in b["fee"]["breakdown"]] == [(200, "0.0010000000"), (300, "0.0003000000")]
    assert b["fee"]["amount"] == "0.0013000000"
    for rec in (a, b):
        assert env.server.cli("requests", "reprice", rec["request_id"])["matches"] is True
    env.assert_ledger_ok()


def test_idempotent_replay_and_conflict(env: BillingEnv) -> None:
    product = env.product("--rate-type", "fixed", "--tier", "0:0.02:requests")
    con = env.connection(credit="1")
    body = manual(con, product, input_tokens=10, metadata={"user_id": "u1"})
    first = post(env, body)
    assert first.status_code == 201
    after_first = env.balance(con)
    assert units("1") - after_first == units("0.0203800000")
    again = post(env, body)
    assert again.status_code == 200
    assert again.json() == first.json()
    assert env.balance(con) == after_first
    transfers = env.rows(
        "SELECT t.kind FROM ledger_transfers t JOIN requests r ON r.id = t.request_id WHERE r.external_id = $1",
        body["request_id"],
    )
    assert sorted(t["kind"] for t in transfers) == ["fee", "service_charge"]
    conflict = post(env, {**body, "input_tokens": 11})
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "idempotency_conflict"
    assert env.balance(con) == after_first
    env.assert_ledger_ok()


def test_request_id_is_scoped_per_merchant(env: BillingEnv) -> None:
    """Issue 14.6: merchant B may use the request_id merchant A used: no 409, no oracle, each charged once."""
    product = env.product("--rate-type", "fixed", "--tier", "0:0.02:requests")
    con = env.connection(credit="1")
    body = manual(con, product, input_tokens=10)
    assert post(env, body).status_code == 201
    other = env.server.merchant(f"other-{uuid.uuid4().hex[:6]}")
    osk = other["secret_key"]
    o_product = env.server.cli(
        "products", "create", "--secret-key", osk, "--rate-type", "fixed", "--tier", "0:0.01:requests"
    )
    o_con = env.server.cli("connections", "create", "--secret-key", osk, "--credit", "1")
    o_body = {
        "request_id": body["request_id"],
        "connection_secret": o_con["connection_secret"],
        "product_secret": o_product["product_secret"],
        "input_tokens": 99,
    }
    first = post(env, o_body, secret_key=osk)
    assert first.status_code == 201, first.text
    assert first.json()["request_id"] == body["request_id"]
    assert first.json()["connection_id"] == o_con["connection_id"]
    assert post(env, o_body, secret_key=osk).status_code == 200  # B's own replay
    assert post(env, {**o_body, "input_tokens": 1}, secret_key=osk).status_code == 409  # B's own conflict
    # each merchant reads its own record under the same id
    mine = env.request(body["request_id"])
    assert mine["connection_id"] == con.id and mine["model_usage"]["input_tokens"] == 10
    theirs = httpx.get(
        env.server.url + "/v1/requests/" + body["request_id"], headers={"Authorization": f"Bearer {osk}"}, timeout=10
    ).json()
    assert theirs["connection_id"] == o_con["connection_id"] and theirs["model_usage"]["input_tokens"] == 99
    assert units("1") - env.balance(con) == units("0.0203800000")
    rows = env.rows("SELECT COUNT(*) AS n FROM requests WHERE external_id = $1", body["request_id"])
    assert int(rows[0]["n"]) == 2
    env.assert_ledger_ok()


def test_other_merchants_connection_is_404(env: BillingEnv) -> None:
    other = env.server.merchant("other")
    product = env.product("--rate-type", "fixed", "--tier", "0:5")
    con = env.connection(credit="1")
    r = post(env, manual(con, product, input_tokens=5), secret_key=other["secret_key"])
    assert r.status_code == 404
    assert env.balance(con) == units("1")
    env.assert_ledger_ok()


def test_deleted_connection_is_403(env: BillingEnv) -> None:
    product = env.product("--rate-type", "fixed", "--tier", "0:5")
    con = env.connection(credit="1")
    d = httpx.delete(env.server.url + "/v1/connections/" + con.id, headers=env.admin_headers)
    assert d.status_code == 200, d.text
    r = post(env, manual(con, product, input_tokens=5))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "connection_inactive"
    assert (
        env.rows(
            "SELECT id FROM ledger_transfers WHERE request_id LIKE 'man_%' AND debit_account IN"
            " (SELECT 'wallet:' || wallet_id FROM connections WHERE id = $1)",
            con.id,
        )
        == []
    )
    env.assert_ledger_ok()


@pytest.mark.parametrize(
    "change",
    [
        {"request_id": ""},
        {"request_id": "bad id with spaces"},
        {"input_tokens": -1},
        {"input_tokens": 1.5},
        {"input_tokens": True},
        {"output_tokens": "12"},
        {"input_seconds": -2},
        {"input_seconds": "0.0001"},
        {"metadata": {"k": 1}},
        {"connection_secret": "nope"},
    ],
)
def test_bad_input_is_400(env: BillingEnv, change: dict[str, Any]) -> None:
    product = env.product("--rate-type", "fixed", "--tier", "0:5")
    con = env.connection(credit="1")
    r = post(env, {**manual(con, product, input_tokens=5), **change})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    assert env.balance(con) == units("1")
    env.assert_ledger_ok()


def test_python_sdk_requests_create(env: BillingEnv) -> None:
    product = env.product("--rate-type", "fixed", "--tier", "0:5")
    con = env.connection(credit="1")
    client = Lava(env.sk, base_url=env.server.url + "/v1/", max_retries=0)
    rid = f"sdk_{uuid.uuid4().hex}"
    req = client.requests.create(
        request_id=rid,
        connection_secret=con.secret,
        product_secret=product["product_secret"],
        input_tokens=600_000,
        output_tokens=400_000,
        metadata={"user_id": "42"},
    )
    assert req.request_id == rid
    assert req.status == "completed"
    assert env.request(rid)["fee"]["amount"] == "5.0000000000"
    assert env.request(rid)["metadata"] == {"user_id": "42"}
    # wallet had 1.00: 5.00 + 0.095 service exceeds it; the shortfall falls to the merchant
    rec = env.request(rid)
    assert units(rec["total_wallet_cost"]) == units("1")
    assert units(rec["total_merchant_cost"]) == units("4.095")
    assert env.balance(con) == 0
    again = client.requests.create(
        request_id=rid,
        connection_secret=con.secret,
        product_secret=product["product_secret"],
        input_tokens=600_000,
        output_tokens=400_000,
        metadata={"user_id": "42"},
    )
    assert again.request_id == rid
    assert env.balance(con) == 0
    env.assert_ledger_ok()

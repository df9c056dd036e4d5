"""Billing end to end through the gateway, with operator price overrides so every amount is
hand-computable (docs/billing.md)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.billing.billing_fixtures import CHAT_URL, BillingEnv, make_env, prompt_of, units

PRICES = [
    ("openai", "gpt-4o", "2.50", "10.00"),  # example A
    ("openai", "gpt-4.1-mini", "3", "15"),  # example B
    ("openai", "gpt-4o-mini", "0", "10"),  # round holds
    ("openai", "error-500", "2.50", "10.00"),
]
REPRICE: list[str] = []


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    e = make_env(tmp_path_factory.mktemp("e2e"), PRICES)
    yield e
    for rid in REPRICE:  # every charged request recomputes exactly from what it recorded
        result = e.server.cli("requests", "reprice", rid)
        assert result["matches"] is True, result
    e.assert_ledger_ok()
    e.close()


def body_a(max_tokens: int | None = 1000) -> dict[str, object]:
    body: dict[str, object] = {"model": "gpt-4o", "messages": prompt_of(1000, out_words=500)}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def test_example_a_percentage_wallet_pays_all(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    before = env.balance(con)
    r = env.forward(env.token(con, product), body_a())
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == 1000
    assert r.json()["usage"]["completion_tokens"] == 500
    rid = r.headers["x-lava-request-id"]
    rec = env.request(rid)
    REPRICE.append(rid)
    assert rec["status"] == "completed"
    mu = rec["model_usage"]
    assert (mu["input_tokens"], mu["output_tokens"], mu["total_tokens"]) == (1000, 500, 1500)
    assert mu["input_cost"] == "0.0025000000"
    assert mu["output_cost"] == "0.0050000000"
    assert mu["total_cost"] == "0.0075000000"
    assert mu["payer"] == "wallet"
    assert rec["fee"]["amount"] == "0.0015000000"
    assert rec["fee"]["rate_type"] == "percentage"
    assert [b["cost"] for b in rec["fee"]["breakdown"]] == ["0.0015000000"]
    assert rec["service_charge"] == {"amount": "0.0000285000", "payer": "wallet"}
    assert rec["total_request_cost"] == "0.0090285000"
    assert rec["total_wallet_cost"] == "0.0090285000"
    assert rec["total_merchant_cost"] == "0.0000000000"
    after = env.balance(con)
    assert before - after == units("0.0090285000")
    assert r.headers["x-lava-request-cost"] == "0.0090285000"
    assert units(r.headers["x-lava-balance"]) == after
    assert env.holds(rid) == [{"amount": env.holds(rid)[0]["amount"], "status": "settled"}]
    assert env.wallet_row(con)["held"] == 0
    env.assert_ledger_ok()


def test_example_b_fixed_tiers_output_basis_merchant_pays(env: BillingEnv) -> None:
    product = env.product(
        "--rate-type",
        "fixed",
        "--tier",
        "0:5.00",
        "--tier",
        "1000000:3.00",
        "--token-basis",
        "output",
        "--base-cost-payer",
        "merchant",
        "--service-charge-payer",
        "merchant",
    )
    con = env.connection(credit="10")
    # accumulate 999,800 billable (output) tokens on the connection with a manual request
    r0 = httpx.post(
        env.server.url + "/v1/requests",
        headers=env.admin_headers,
        json={
            "request_id": f"acc-{con.id}",
            "connection_secret": con.secret,
            "product_secret": product["product_secret"],
            "output_tokens": 999_800,
        },
    )
    assert r0.status_code in (200, 201), r0.text
    assert r0.json()["fee"]["amount"] == "4.9990000000"
    REPRICE.append(r0.json()["request_id"])
    before = env.balance(con)
    assert before == units("5.0010000000")
    body = {"model": "gpt-4.1-mini", "max_tokens": 600, "messages": prompt_of(2000, out_words=600)}
    r = env.forward(env.token(con, product), body)
    assert r.status_code == 200, r.text
    rid = r.headers["x-lava-request-id"]
    REPRICE.append(rid)
    rec = env.request(rid)
    assert rec["status"] == "completed"
    mu = rec["model_usage"]
    assert (mu["input_tokens"], mu["output_tokens"]) == (2000, 600)
    assert (mu["input_cost"], mu["output_cost"], mu["total_cost"], mu["payer"]) == (
        "0.0060000000",
        "0.0090000000",
        "0.0150000000",
        "merchant",
    )
    fee = rec["fee"]
    assert fee["amount"] == "0.0022000000"
    assert fee["token_basis"] == "output"
    assert [(b["tier"]["start"], b["tier"]["type"], b["tokens"], b["cost"]) for b in fee["breakdown"]] == [
        (0, "tokens_1m", 200, "0.0010000000"),
        (1000000, "tokens_1m", 400, "0.0012000000"),
    ]
    assert [units(b["tier"]["rate"]) for b in fee["breakdown"]] == [units("5"), units("3")]
    assert rec["service_charge"] == {"amount": "0.0000418000", "payer": "merchant"}
    assert rec["total_wallet_cost"] == "0.0022000000"
    assert rec["total_merchant_cost"] == "0.0150418000"
    assert rec["total_request_cost"] == "0.0172418000"
    assert before - env.balance(con) == units("0.0022000000")
    assert units(r.headers["x-lava-balance"]) == env.balance(con)
    env.assert_ledger_ok()


def test_mixed_payers_base_wallet_service_merchant(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20", "--service-charge-payer", "merchant")
    con = env.connection(credit="1")
    before = env.balance(con)
    r = env.forward(env.token(con, product), body_a())
    assert r.status_code == 200, r.text
    rec = env.request(r.headers["x-lava-request-id"])
    REPRICE.append(rec["request_id"])
    assert rec["total_wallet_cost"] == "0.0090000000"  # base + fee
    assert rec["total_merchant_cost"] == "0.0000285000"  # service charge
    assert rec["total_request_cost"] == "0.0090285000"
    assert before - env.balance(con) == units("0.0090000000")
    env.assert_ledger_ok()


def test_byok_base_recorded_not_charged(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    before = env.balance(con)
    hits = env.fake_hits()
    r = env.forward(env.token(con, product, provider_key="sk-merchant-own"), body_a())
    assert r.status_code == 200, r.text
    assert env.fake_hits() == hits + 1
    last = httpx.get(env.fake.url + "/_fake/stats").json()["last_request"]
    assert last["headers"]["authorization"] == "Bearer sk-merchant-own"
    rec = env.request(r.headers["x-lava-request-id"])
    REPRICE.append(rec["request_id"])
    assert rec["provider_key_type"] == "unmanaged"
    mu = rec["model_usage"]
    assert (mu["input_cost"], mu["output_cost"], mu["total_cost"]) == ("0.0025000000", "0.0050000000", "0.0075000000")
    assert rec["fee"]["amount"] == "0.0015000000"
    assert rec["service_charge"]["amount"] == "0.0000285000"
    # the provider bills the merchant directly: the wallet pays only fee + service charge
    assert rec["total_wallet_cost"] == "0.0015285000"
    assert before - env.balance(con) == units("0.0015285000")
    env.assert_ledger_ok()


def test_metering_only_token_charges_nothing(env: BillingEnv) -> None:
    (accounts_before,) = env.rows("SELECT COUNT(*) AS n, SUM(ABS(balance)) AS s FROM ledger_accounts")
    (transfers_before,) = env.rows("SELECT COUNT(*) AS n FROM ledger_transfers")
    r = env.forward(env.token(None, None, provider_key="sk-merchant-own"), body_a())
    assert r.status_code == 200, r.text
    rec = env.request(r.headers["x-lava-request-id"])
    REPRICE.append(rec["request_id"])
    assert rec["status"] == "completed"
    assert rec.get("connection_id") is None and rec.get("product_id") is None
    assert rec["provider_key_type"] == "unmanaged"
    assert rec["model_usage"]["input_tokens"] == 1000
    assert rec["fee"]["amount"] == "0.0000000000"
    assert rec["service_charge"]["amount"] == "0.0000000000"
    assert rec["total_wallet_cost"] == "0.0000000000"
    assert rec["total_merchant_cost"] == "0.0000000000"
    assert env.holds(rec["request_id"]) == []
    (transfers_after,) = env.rows("SELECT COUNT(*) AS n FROM ledger_transfers")
    assert transfers_after["n"] == transfers_before["n"]
    (accounts_after,) = env.rows("SELECT COUNT(*) AS n, SUM(ABS(balance)) AS s FROM ledger_accounts")
    assert accounts_after == accounts_before
    env.assert_ledger_ok()


def test_upstream_error_records_error_and_releases_hold(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    before = env.balance(con)
    body = body_a()
    body["model"] = "error-500"
    r = env.forward(env.token(con, product), body)
    assert r.status_code == 500
    rid = r.headers["x-lava-request-id"]
    rec = env.request(rid)
    assert rec["status"] == "error"
    for k in ("total_request_cost", "total_wallet_cost", "total_merchant_cost"):
        assert rec[k] == "0.0000000000"
    assert rec["fee"]["amount"] == "0.0000000000"
    assert rec["model_usage"]["total_cost"] == "0.0000000000"
    assert env.balance(con) == before
    (hold,) = env.holds(rid)
    assert hold["status"] == "released" and int(hold["amount"]) > 0
    assert env.wallet_row(con)["held"] == 0
    assert env.rows("SELECT id FROM ledger_transfers WHERE request_id = $1", rid) == []
    env.assert_ledger_ok()


def test_insufficient_balance_402_before_upstream(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="0.01")
    hits = env.fake_hits()
    # hold = 100,000 output tokens × $10/M = 1.00 base, + 20 % fee 0.20, + 1.9 % of fee 0.0038
    body = {"model": "gpt-4o-mini", "max_tokens": 100_000, "messages": prompt_of(20)}
    r = env.forward(env.token(con, product), body)
    assert r.status_code == 402, r.text
    err = r.json()["error"]
    assert err["code"] == "insufficient_balance"
    assert "$1.2038000000" in err["message"], err["message"]
    assert "$0.0100000000" in err["message"], err["message"]
    assert "$1.1938000000" in err["message"], err["message"]
    assert env.fake_hits() == hits
    assert env.balance(con) == units("0.01")
    assert env.wallet_row(con) == {"balance": units("0.01"), "held": 0}
    env.assert_ledger_ok()


def test_unknown_model_400_before_upstream(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    hits = env.fake_hits()
    r = env.forward(env.token(con, product), {"model": "no-such-model-xyz", "messages": prompt_of(10)})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "unknown_model_price"
    assert env.fake_hits() == hits
    assert env.balance(con) == units("1")
    env.assert_ledger_ok()


def test_quote_returns_the_hold_open_places(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    tok = env.token(con, product)
    body = {"model": "gpt-4o-mini", "max_tokens": 1000, "messages": prompt_of(30)}
    q = httpx.post(
        env.server.url + "/v1/quote",
        headers={"Authorization": f"Bearer {tok}"},
        json={"url": CHAT_URL, "body": body},
    )
    assert q.status_code == 200, q.text
    quote = q.json()
    # input price 0: hold = 1000 × $10/M = 0.01, fee 20 % = 0.002, service 1.9 % of fee = 0.000038
    assert quote["hold"] == "0.0120380000"
    assert quote["available_balance"] == "1.0000000000"
    assert quote["sufficient"] is True
    assert quote["max_output_tokens"] == 1000
    r = env.forward(tok, body)
    assert r.status_code == 200, r.text
    rid = r.headers["x-lava-request-id"]
    REPRICE.append(rid)
    assert env.holds(rid) == [{"amount": units(quote["hold"]), "status": "settled"}]
    # the fake wrote 12 words: 12 × $10/M = 0.00012, fee 0.000024, service 0.000000456
    rec = env.request(rid)
    assert rec["total_wallet_cost"] == "0.0001444560"
    assert units(r.headers["x-lava-request-cost"]) == units(rec["total_request_cost"])
    assert units(r.headers["x-lava-balance"]) == units("1") - units("0.0001444560") == env.balance(con)
    # a quote that cannot be covered says so
    poor = env.connection(credit="0.001")
    q2 = httpx.post(
        env.server.url + "/v1/quote",
        headers={"Authorization": f"Bearer {env.token(poor, product)}"},
        json={"url": CHAT_URL, "body": body},
    )
    assert q2.json()["sufficient"] is False
    env.assert_ledger_ok()


def test_streamed_call_charged_once(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    body = body_a()
    body["stream"] = True
    r = env.forward(env.token(con, product), body)
    assert r.status_code == 200
    assert "data: [DONE]" in r.text
    rid = r.headers["x-lava-request-id"]
    REPRICE.append(rid)
    deadline = time.monotonic() + 10
    while env.request(rid)["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
    rec = env.request(rid)
    assert rec["status"] == "completed"
    assert rec["total_wallet_cost"] == "0.0090285000"
    assert units("1") - env.balance(con) == units("0.0090285000")
    assert len(env.rows("SELECT id FROM ledger_transfers WHERE request_id = $1", rid)) == 3
    env.assert_ledger_ok()


def test_prices_set_while_running_takes_effect(env: BillingEnv) -> None:
    env.server.cli(
        "prices", "set", "--provider", "openai", "--model", "gpt-4o-mini", "--input-mtok", "0", "--output-mtok", "20"
    )
    time.sleep(1.2)  # LivePrices re-checks the overrides file at most once a second
    product = env.product("--rate-type", "fixed", "--tier", "0:0")
    con = env.connection(credit="1")
    r = env.forward(env.token(con, product), {"model": "gpt-4o-mini", "max_tokens": 50, "messages": prompt_of(10)})
    assert r.status_code == 200, r.text
    rec = env.request(r.headers["x-lava-request-id"])
    REPRICE.append(rec["request_id"])
    assert rec["model_usage"]["output_cost"] == "0.0002400000"  # 12 × $20/M
    assert rec["model_usage"]["input_cost"] == "0.0000000000"
    env.server.cli(
        "prices", "set", "--provider", "openai", "--model", "gpt-4o-mini", "--input-mtok", "0", "--output-mtok", "10"
    )
    time.sleep(1.2)
    env.assert_ledger_ok()


def test_reprice_matches_all(env: BillingEnv, tmp_path: Path) -> None:
    assert len(REPRICE) >= 5
    for rid in REPRICE:
        result = env.server.cli("requests", "reprice", rid)
        assert result["matches"] is True, result
    env.assert_ledger_ok()

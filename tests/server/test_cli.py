"""The admin CLI: a stable interface, one JSON object on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from lava_server.billing.product_config import ProductConfig
from lava_server.store import merchants as merchant_repo
from tests.support.live import LiveServer, cli_json


def test_merchant_product_connection_credit(lava_server: LiveServer) -> None:
    m = lava_server.cli("merchants", "create", "--name", "Acme")
    assert set(m) >= {"merchant_id", "secret_key"}
    assert m["secret_key"].startswith("aks_test_")
    p = lava_server.cli(
        "products", "create", "--secret-key", m["secret_key"],
        "--rate-type", "fixed", "--tier", "0:5.00", "--tier", "1000000:3.00:tokens_1m",
        "--token-basis", "output", "--base-cost-payer", "merchant", "--service-charge-payer", "merchant",
        "--overdraft-floor", "1.5",
    )  # fmt: skip
    assert p["product_id"].startswith("prd_test_")
    assert p["product_secret"].startswith("ps_test_")
    stored = lava_server.call(
        merchant_repo.find_product_by_secret(
            lava_server.services.db, lava_server.services.keyring.hash_secret(p["product_secret"])
        )
    )
    config = ProductConfig.from_json(stored.config_json)
    assert [(t.start, str(t.rate), t.type) for t in config.tiers] == [
        (0, "5.00", "tokens_1m"),
        (1000000, "3.00", "tokens_1m"),
    ]
    assert config.token_basis == "output"
    assert config.base_cost_payer == "merchant"
    assert config.overdraft_floor_units == 15_000_000_000
    c = lava_server.cli("connections", "create", "--secret-key", m["secret_key"], "--credit", "1.25")
    assert c["connection_id"].startswith("con_test_")
    w = lava_server.cli(
        "wallets", "credit", "--secret-key", m["secret_key"], "--connection-id", c["connection_id"], "--amount", "0.75",
        "--idempotency-key", "once",
    )  # fmt: skip
    assert w == {"connection_id": c["connection_id"], "balance": "2.0000000000"}
    again = lava_server.cli(
        "wallets", "credit", "--secret-key", m["secret_key"], "--connection-id", c["connection_id"], "--amount", "0.75",
        "--idempotency-key", "once",
    )  # fmt: skip
    assert again["balance"] == "2.0000000000"
    check = lava_server.cli("ledger", "check")
    assert check["ok"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["products", "create", "--secret-key", "aks_test_nope"], "invalid secret key"),
        (
            ["wallets", "credit", "--secret-key", "{key}", "--connection-id", "con_x", "--amount", "1"],
            "not a connection id",
        ),
        (
            [
                "wallets",
                "credit",
                "--secret-key",
                "{key}",
                "--connection-id",
                "con_test_01ARZ3NDEKTSV4RRFFQ69G5FAV",
                "--amount",
                "1",
            ],
            "not found",
        ),
        (["connections", "create", "--secret-key", "{key}", "--credit", "1.00000000001"], "10 fractional digits"),
        (["connections", "create", "--secret-key", "{key}", "--credit", "-3"], "must not be negative"),
        (["products", "create", "--secret-key", "{key}", "--tier", "5:1.0"], "first tier must start at 0"),
        (["products", "create", "--secret-key", "{key}", "--tier", "0:abc"], "rate"),
        (["products", "create", "--secret-key", "{key}", "--tier", "0:1:weird"], "weird"),
        (["products", "create", "--secret-key", "{key}", "--tier", "0:1", "--tier", "0:2"], "ascending"),
    ],
)
def test_cli_errors(lava_server: LiveServer, merchant: dict[str, str], args: list[str], message: str) -> None:
    argv = [a.replace("{key}", merchant["secret_key"]) for a in args]
    assert message in lava_server.cli_error(*argv)


def test_main_prints_one_json_object_and_exit_codes(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path), "--database-url", f"sqlite:///{tmp_path / 'x.db'}"]
    ok = cli_json(["merchants", "create", "--name", "x", *data])
    assert ok["code"] == 0
    assert set(ok["json"]) == {"merchant_id", "secret_key", "mode"}
    assert ok["stdout"].count("\n") == 1
    bad = cli_json(["products", "create", "--secret-key", "aks_test_zz", *data])
    assert bad["code"] == 1
    assert bad["stdout"] == ""
    assert bad["stderr"].startswith("lava: error: ") and bad["stderr"].count("\n") == 1


def test_console_script_and_serve_demo(tmp_path: Path) -> None:
    """`lava serve --demo` as a user runs it: prints the listening URL and working demo credentials."""
    env = {**os.environ, "LAVA_DATA_DIR": str(tmp_path)}
    env.pop("LAVA_DATABASE_URL", None)
    lava = Path(sys.executable).parent / "lava"
    proc = subprocess.Popen(
        [str(lava), "serve", "--port", "0", "--demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = proc.stdout.readline()  # type: ignore[union-attr]
        announced = json.loads(line)
        demo = announced["demo"]
        import httpx

        r = httpx.get(
            f"{announced['listening']}/v1/connections/{demo['connection_id']}",
            headers={"Authorization": f"Bearer {demo['secret_key']}"},
        )
        assert r.status_code == 200
        assert r.json()["wallet"]["balance"] == "10.0000000000"
        # The Python SDK example the demo prints must work verbatim.
        from lava import Lava

        with Lava(demo["secret_key"], base_url=f"{announced['listening']}/v1/") as lava_client:
            assert str(lava_client.connections.retrieve(demo["connection_id"]).wallet.balance) == "10.0000000000"
            # A billed call works at once: with no OpenAI key, the demo serves api.openai.com itself.
            assert announced["demo_provider"] is True
            from openai import OpenAI

            token = lava_client.generate_forward_token(
                connection_secret=demo["connection_secret"], product_secret=demo["product_secret"]
            )
            client = OpenAI(api_key=token, base_url=lava_client.base_url_for("openai"), max_retries=0)
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", max_tokens=50, messages=[{"role": "user", "content": "Hello!"}]
            )
            assert "demo provider" in raw.parse().choices[0].message.content
            cost = raw.headers["x-lava-request-cost"]
            assert cost != "0.0000000000"
            record = lava_client.requests.retrieve(raw.headers["x-lava-request-id"])
            assert record.status == "completed"
            assert record.model_usage.output_tokens > 0
            balance = lava_client.connections.retrieve(demo["connection_id"]).wallet.balance
            assert str(balance) == raw.headers["x-lava-balance"]
            assert balance == Decimal("10") - Decimal(cost)
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    stderr = proc.stderr.read()  # type: ignore[union-attr]
    assert "curl -s" in stderr and demo["secret_key"] in stderr
    assert "BUILT-IN DEMO PROVIDER" in stderr
    # a second --demo start reuses the same demo credentials
    assert json.loads((tmp_path / "demo.json").read_text())["secret_key"] == demo["secret_key"]


def test_checkout_amount_settings(lava_server: LiveServer, merchant: dict[str, str]) -> None:
    from lava_server.checkout.payments import amount_settings

    out = lava_server.cli(
        "checkout",
        "settings",
        "--secret-key",
        merchant["secret_key"],
        "--presets",
        "20,40",
        "--min",
        "10",
        "--max",
        "80",
    )
    assert out == {
        "mode": "test",
        "presets": ["20.0000000000", "40.0000000000"],
        "min": "10.0000000000",
        "max": "80.0000000000",
    }
    key = lava_server.call(lava_server.services.keys.resolve(merchant["secret_key"]))
    stored = lava_server.call(amount_settings(lava_server.services, key.merchant_id, key.mode))
    assert stored.presets == (20 * 10**10, 40 * 10**10)
    assert (stored.min_amount, stored.max_amount) == (10 * 10**10, 80 * 10**10)
    for args, message in (
        (["--presets", "5", "--min", "10", "--max", "80"], "between min and max"),
        (["--presets", "20", "--min", "90", "--max", "80"], "min <= max"),
        (["--presets", "x", "--min", "1", "--max", "2"], "decimal string"),
    ):
        assert message in lava_server.cli_error("checkout", "settings", "--secret-key", merchant["secret_key"], *args)

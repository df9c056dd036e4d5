"""Helpers for the billing end-to-end tests: a live server wired to the fake upstreams,
price overrides written before start-up, forward tokens and direct ledger queries.

Import explicitly: ``from tests.billing.billing_fixtures import BillingEnv, make_env``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from lava_server.cli import run as cli_run
from tests.fakes.providers import make_fake_app
from tests.fakes.server import RunningServer, start_in_thread
from tests.support.live import LiveServer, start_server

UNIT = Decimal("0.0000000001")
CHAT_URL = "https://api.openai.com/v1/chat/completions"
FORWARD_PATH = "/v1/forward?u=" + CHAT_URL


def units(wire: str | Decimal | int) -> int:
    """Wire money ("0.0025000000") → integer units of 10⁻¹⁰ USD."""
    value = Decimal(str(wire)) / UNIT
    assert value == value.to_integral_value(), wire
    return int(value)


def wire(amount_units: int) -> str:
    return f"{(Decimal(amount_units) * UNIT):.10f}"


def prompt_of(tokens: int, out_words: int | None = None) -> list[dict[str, str]]:
    """One user message the fake counts as exactly ``tokens`` prompt tokens (3 + 3 + words)."""
    n = tokens - 6
    assert n >= 1
    words = ["w"] * n
    if out_words is not None:
        words[-1] = f"fake-words={out_words}"
    return [{"role": "user", "content": " ".join(words)}]


def token(
    secret_key: str, connection_secret: str | None, product_secret: str | None, provider_key: str | None = None
) -> str:
    body: dict[str, Any] = {
        "secret_key": secret_key,
        "connection_secret": connection_secret,
        "product_secret": product_secret,
    }
    if provider_key is not None:
        body["provider_key"] = provider_key
    return base64.b64encode(json.dumps(body, separators=(",", ":")).encode()).decode()


def set_prices_offline(data_dir: Path, prices: Sequence[tuple[str, str, str, str]]) -> None:
    """Write operator overrides before the server starts, so the first call already sees them."""
    for provider, model, input_mtok, output_mtok in prices:
        cli_run(
            [
                "prices",
                "set",
                "--provider",
                provider,
                "--model",
                model,
                "--input-mtok",
                input_mtok,
                "--output-mtok",
                output_mtok,
                "--prices-file",
                str(data_dir / "prices.json"),
                "--data-dir",
                str(data_dir),
            ]
        )


@dataclass
class Connection:
    id: str
    secret: str


@dataclass
class BillingEnv:
    server: LiveServer
    fake: RunningServer
    merchant: dict[str, Any]
    _stop: Any

    @property
    def sk(self) -> str:
        return str(self.merchant["secret_key"])

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.sk}"}

    def close(self) -> None:
        self._stop()
        self.fake.stop()

    # -- setup --------------------------------------------------------------------
    def product(self, *args: str) -> dict[str, Any]:
        return self.server.cli("products", "create", "--secret-key", self.sk, *args)

    def connection(self, credit: str | None = None) -> Connection:
        extra = ["--credit", credit] if credit is not None else []
        c = self.server.cli("connections", "create", "--secret-key", self.sk, *extra)
        return Connection(c["connection_id"], c["connection_secret"])

    def token(self, con: Connection | None, product: dict[str, Any] | None, provider_key: str | None = None) -> str:
        return token(
            self.sk,
            con.secret if con else None,
            product["product_secret"] if product else None,
            provider_key,
        )

    # -- calls --------------------------------------------------------------------
    def forward(self, tok: str, body: dict[str, Any], **kw: Any) -> httpx.Response:
        return httpx.post(
            self.server.url + FORWARD_PATH, headers={"Authorization": f"Bearer {tok}"}, json=body, timeout=30, **kw
        )

    def request(self, request_id: str) -> dict[str, Any]:
        r = httpx.get(self.server.url + "/v1/requests/" + request_id, headers=self.admin_headers, timeout=10)
        assert r.status_code == 200, r.text
        return dict(r.json())

    def balance(self, con: Connection) -> int:
        r = httpx.get(self.server.url + "/v1/connections/" + con.id, headers=self.admin_headers, timeout=10)
        assert r.status_code == 200, r.text
        return units(r.json()["wallet"]["balance"])

    def fake_hits(self) -> int:
        return int(httpx.get(self.fake.url + "/_fake/stats", timeout=10).json()["requests"])

    # -- database -----------------------------------------------------------------
    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.server.call(self.server.services.db.fetchall(sql, *args))]

    def holds(self, request_id: str) -> list[dict[str, Any]]:
        return self.rows("SELECT amount, status FROM ledger_holds WHERE request_id = $1", request_id)

    def wallet_row(self, con: Connection) -> dict[str, Any]:
        (w,) = self.rows(
            "SELECT a.balance, a.held FROM ledger_accounts a JOIN connections c ON a.id = 'wallet:' || c.wallet_id"
            " WHERE c.id = $1",
            con.id,
        )
        return {"balance": int(w["balance"]), "held": int(w["held"])}

    def assert_ledger_ok(self) -> None:
        report = self.server.cli("ledger", "check")
        assert report["ok"] is True, report
        (row,) = self.rows("SELECT COUNT(*) AS n FROM ledger_holds WHERE status = 'open'")
        assert int(row["n"]) == 0, "a hold was left open"


def make_env(
    data_dir: Path,
    prices: Sequence[tuple[str, str, str, str]] = (),
    database_url: str | None = None,
    **overrides: Any,
) -> BillingEnv:
    data_dir.mkdir(parents=True, exist_ok=True)
    set_prices_offline(data_dir, prices)
    fake = start_in_thread(lambda: make_fake_app())
    upstream = {"api.openai.com": fake.url, "api.anthropic.com": fake.url}
    server, stop = start_server(
        data_dir, database_url=database_url, upstream_map=upstream, prices_file=data_dir / "prices.json", **overrides
    )
    merchant = server.merchant()
    server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed-test")
    return BillingEnv(server, fake, merchant, stop)

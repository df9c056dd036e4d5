"""Field fault "custom-host-price-override-ignored": every provider an operator can add is priceable.

An operator-added host (``LAVA_EXTRA_UPSTREAM_HOSTS``) and a built-in provider the catalogue
lacks are priced by ``lava prices set`` exactly like a built-in one, and the
``unknown_model_price`` error names a command that works (this test runs the very command
the error message gives).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator

import httpx
import pytest

from lava_server.gateway.providers import generic_provider, price_provider_id, provider_for_host
from tests.billing.billing_fixtures import BillingEnv, prompt_of
from tests.fakes.providers import make_fake_app
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

HOST = "llm.acme-inference.example"
URL = f"https://{HOST}/v1/chat/completions"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    data_dir = tmp_path_factory.mktemp("operator-prices")
    fake = start_in_thread(lambda: make_fake_app())
    server, stop = start_server(
        data_dir,
        upstream_map={HOST: fake.url, "api.kluster.ai": fake.url},
        extra_upstream_hosts=(HOST,),
        prices_file=data_dir / "prices.json",
    )
    e = BillingEnv(server, fake, server.merchant(), stop)
    yield e
    e.assert_ledger_ok()
    e.close()


def forward(env: BillingEnv, url: str, tok: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(
        env.server.url + "/v1/forward", params={"u": url}, headers={"Authorization": f"Bearer {tok}"}, json=body
    )


def price_command(message: str) -> list[str]:
    """The ``lava prices set ...`` command an error message names, with prices filled in."""
    match = re.search(r"`lava (prices set [^`]+)`", message)
    assert match, message
    args = shlex.split(match.group(1))
    return [
        a.replace("<USD>", "1") if i < args.index("--output-mtok") else a.replace("<USD>", "2")
        for i, a in enumerate(args)
    ]


@pytest.mark.parametrize(
    ("url", "model"), [(URL, "acme-large-2"), ("https://api.kluster.ai/v1/chat/completions", "k-1")]
)
def test_the_command_the_error_names_prices_the_model(env: BillingEnv, url: str, model: str) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    tok = env.token(con, product, provider_key="sk-operator-host")
    body = {"model": model, "messages": prompt_of(1000, out_words=500)}
    refused = forward(env, url, tok, body)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "unknown_model_price"
    env.server.cli(*price_command(refused.json()["error"]["message"]))
    r = forward(env, url, tok, body)
    assert r.status_code == 200, r.text
    rec = env.request(r.headers["x-lava-request-id"])
    # 1000 × $1/M + 500 × $2/M, recorded (BYOK: the provider bills the merchant) and fee'd at 20 %
    assert rec["model_usage"]["total_cost"] == "0.0020000000"
    assert rec["fee"]["amount"] == "0.0004000000"
    assert rec["pricing"]["provenance"]["source"] == "override"
    assert env.server.cli("requests", "reprice", r.headers["x-lava-request-id"])["matches"] is True


def test_prices_set_accepts_slug_host_or_catalogue_id() -> None:
    assert price_provider_id("xai") == "x-ai"  # gateway slug → the catalogue id lookups use
    assert price_provider_id("x-ai") == "x-ai"
    assert price_provider_id("api.x.ai") == "x-ai"
    assert price_provider_id(HOST) == "llm-acme-inference-example"
    assert price_provider_id("LLM-Acme-Inference-Example") == "llm-acme-inference-example"
    assert generic_provider(HOST).price_provider_id == "llm-acme-inference-example"
    kluster = provider_for_host("api.kluster.ai")
    assert kluster is not None and kluster.price_provider_id == "kluster"

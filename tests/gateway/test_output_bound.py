"""Field fault "n-choices-hold-undersized" and issue 14 item 2 (client numbers): every dialect's
worst-case output covers every multiplier, and out-of-range client numbers are refused."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from lava_server.errors import ApiError
from lava_server.gateway.dialects import ROUTES, Dialect
from lava_server.gateway.dialects._base import MAX_CHOICES, OutputBound, read_output_bound
from lava_server.gateway.usage import MAX_COUNT
from tests.billing.billing_fixtures import BillingEnv, make_env, prompt_of

BILLABLE: list[Dialect] = list({id(r.dialect): r.dialect for r in ROUTES if r.dialect.billable}.values())


@pytest.mark.parametrize("dialect", BILLABLE, ids=lambda d: d.name)
@pytest.mark.parametrize(
    ("body", "bound"),
    [
        ({"max_tokens": 1000, "n": 8}, OutputBound(1000, 8)),
        ({"max_completion_tokens": 500, "n": 3}, OutputBound(500, 3)),
        ({"max_tokens": 100, "best_of": 5, "n": 2}, OutputBound(100, 5)),
        ({"generationConfig": {"maxOutputTokens": 700, "candidateCount": 4}}, OutputBound(700, 4)),
        ({"max_output_tokens": 64}, OutputBound(64, 1)),
        ({"n": 6}, OutputBound(None, 6)),  # no cap: the hold uses the ceiling × 6
        ({"max_tokens": None, "n": None}, OutputBound(None, 1)),
        ({"max_tokens": 1000.0}, OutputBound(1000, 1)),
    ],
)
def test_every_dialect_reads_caps_and_multipliers(
    dialect: Dialect, body: dict[str, object], bound: OutputBound
) -> None:
    assert dialect.output_bound(body) == bound


@pytest.mark.parametrize(
    "body",
    [
        {"max_tokens": 1e308},
        {"max_tokens": MAX_COUNT + 1},
        {"max_tokens": -1},
        {"max_tokens": 12.5},
        {"max_tokens": "1000"},
        {"max_completion_tokens": True},
        {"max_output_tokens": 2**64},
        {"n": 0},
        {"n": MAX_CHOICES + 1},
        {"n": 1e308},
        {"best_of": -3},
        {"generationConfig": {"candidateCount": 10_000}},
        {"generationConfig": {"maxOutputTokens": -5}},
    ],
)
def test_out_of_range_client_numbers_are_refused(body: dict[str, object]) -> None:
    with pytest.raises(ApiError) as info:
        read_output_bound(body)
    assert info.value.status == 400 and info.value.code == "invalid_request"
    assert next(iter(body)) in str(info.value.message) or "generationConfig" in str(info.value.message)


# -- through the gateway --------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    e = make_env(tmp_path_factory.mktemp("bound"), [("openai", "gpt-4o-mini", "0.15", "0.60")])
    yield e
    e.assert_ledger_ok()
    e.close()


def test_n_choices_hold_covers_every_choice(env: BillingEnv) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="0.002")
    tok = env.token(con, product)
    body = {"model": "gpt-4o-mini", "n": 8, "max_tokens": 1000, "messages": prompt_of(20)}
    q = httpx.post(
        env.server.url + "/v1/quote",
        headers={"Authorization": f"Bearer {tok}"},
        json={"url": "https://api.openai.com/v1/chat/completions", "body": body},
    ).json()
    assert q["max_output_tokens"] == 8000
    hits = env.fake_hits()
    r = env.forward(tok, body)
    assert r.status_code == 402, r.text  # 8 × 1000 tokens do not fit a $0.002 wallet: refused up front
    assert env.fake_hits() == hits


@pytest.mark.parametrize("body", [{"max_tokens": 1e308}, {"n": -1}, {"max_completion_tokens": 2**70}])
def test_absurd_client_numbers_get_400_before_upstream(env: BillingEnv, body: dict[str, object]) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    hits = env.fake_hits()
    r = env.forward(env.token(con, product), {"model": "gpt-4o-mini", "messages": prompt_of(20), **body})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_request"
    assert env.fake_hits() == hits

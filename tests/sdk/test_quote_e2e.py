"""lava.quote() against a real server: the hold the gateway would place, before any call."""

from __future__ import annotations

from decimal import Decimal

import pytest

from lava import AsyncLava, BadRequestError, Lava
from tests.support.live import LiveServer


@pytest.fixture
def priced(lava_server: LiveServer, tmp_path) -> dict[str, str]:
    m = lava_server.merchant()
    lava_server.cli(
        "prices", "set", "--provider", "openai", "--model", "quote-model-x", "--input-mtok", "3", "--output-mtok", "15"
    )
    p = lava_server.cli(
        "products", "create", "--secret-key", m["secret_key"], "--rate-type", "percentage", "--tier", "0:20"
    )
    c = lava_server.cli("connections", "create", "--secret-key", m["secret_key"], "--credit", "1")
    return {**m, **p, **c}


BODY = {"model": "quote-model-x", "max_tokens": 1000, "messages": [{"role": "user", "content": "x" * 2999}]}


def expected_hold() -> Decimal:
    # prompt estimate: ceil((2999 content chars + 4 for "user" + 24 per-message overhead) / 3) = 1009
    # tokens at $3/M; 1000 output tokens at $15/M; 20 % fee; 1.9 % service charge on the fee
    prompt = 1009
    base = Decimal(prompt) * 3 / 10**6 + Decimal(1000) * 15 / 10**6
    base = base.quantize(Decimal("1e-10"))
    fee = (base * Decimal("0.20")).quantize(Decimal("1e-10"))
    svc = (fee * Decimal("0.019")).quantize(Decimal("1e-10"))
    return base + fee + svc


def test_quote_sync(lava_server: LiveServer, priced: dict[str, str]) -> None:
    with Lava(priced["secret_key"], base_url=lava_server.api_base) as lava:
        q = lava.quote(
            url="https://api.openai.com/v1/chat/completions",
            body=BODY,
            connection_secret=priced["connection_secret"],
            product_secret=priced["product_secret"],
        )
        assert q.prompt_tokens_estimate == 1009
        assert q.hold == expected_hold()
        assert q.max_output_tokens == 1000
        assert q.sufficient is True
        assert q.available_balance == Decimal("1")
        with pytest.raises(BadRequestError) as err:
            lava.quote(
                url="https://api.openai.com/v1/chat/completions",
                body={"model": "no-such-model-anywhere", "messages": []},
                connection_secret=priced["connection_secret"],
                product_secret=priced["product_secret"],
            )
        assert err.value.code == "unknown_model_price"


async def test_quote_async(lava_server: LiveServer, priced: dict[str, str]) -> None:
    async with AsyncLava(priced["secret_key"], base_url=lava_server.api_base) as lava:
        q = await lava.quote(
            url="https://api.openai.com/v1/chat/completions",
            body={**BODY, "max_tokens": 10**9},
            connection_secret=priced["connection_secret"],
            product_secret=priced["product_secret"],
        )
        assert q.max_output_tokens == 200_000  # capped by the hold limit
        assert q.sufficient is False  # 200k tokens at $15/M is $3 > $1

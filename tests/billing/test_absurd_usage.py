"""Issue 14 item 2, the provider half: absurd upstream usage never crashes settlement.

An upstream that reports ``completion_tokens`` above 2⁶³ (or 1e308, or negative) used to make
``orjson.dumps(provider_usage)`` raise after a served call. Now the call settles: the raw
number is recorded as text and named under ``out_of_range``, and the usage is capped at
``MAX_COUNT`` (docs/limits.md "Usage bounds").
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from aiohttp import web

from lava_server.billing.usage import MAX_COUNT
from tests.billing.billing_fixtures import BillingEnv, set_prices_offline
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

HOST = "api.openai.com"
URL = f"https://{HOST}/v1/chat/completions"
HUGE = 2**63 + 5


def usage_text(completion: str) -> str:
    return f'{{"prompt_tokens": 12, "completion_tokens": {completion}, "total_tokens": 12}}'


def absurd_app() -> web.Application:
    """Chat Completions that report the completion count given as ``user`` in the request."""

    async def chat(request: web.Request) -> web.StreamResponse:
        body = await request.json()
        completion = body["user"]
        if body.get("stream"):
            resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await resp.prepare(request)
            await resp.write(
                b'data: {"id":"c1","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n'
            )
            usage = usage_text(completion)
            await resp.write(f'data: {{"id":"c1","model":"gpt-4o-mini","choices":[],"usage":{usage}}}\n\n'.encode())
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
            return resp
        text = f'{{"id":"c1","object":"chat.completion","model":"gpt-4o-mini","choices":[{{"index":0,"message":{{"role":"assistant","content":"hi"}},"finish_reason":"stop"}}],"usage":{usage_text(completion)}}}'
        return web.Response(text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    data_dir = tmp_path_factory.mktemp("absurd")
    set_prices_offline(data_dir, [("openai", "gpt-4o-mini", "0", "0.000001")])
    fake = start_in_thread(absurd_app)
    server, stop = start_server(data_dir, upstream_map={HOST: fake.url}, prices_file=data_dir / "prices.json")
    e = BillingEnv(server, fake, server.merchant(), stop)
    server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed-test")
    yield e
    e.assert_ledger_ok()
    e.close()


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("raw", "settled"), [(str(HUGE), MAX_COUNT), ("1e308", MAX_COUNT), ("-7", 0)])
def test_absurd_upstream_usage_settles_at_the_cap(env: BillingEnv, stream: bool, raw: str, settled: int) -> None:
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="10")
    body = {"model": "gpt-4o-mini", "user": raw, "stream": stream, "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(
        env.server.url + "/v1/forward",
        params={"u": URL},
        headers={"Authorization": f"Bearer {env.token(con, product)}"},
        json=body,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    if stream:
        assert r.text.rstrip().endswith("data: [DONE]")
    rid = r.headers["x-lava-request-id"]
    rec = env.request(rid)
    assert rec["status"] == "completed", rec
    assert rec["model_usage"]["output_tokens"] == settled
    provider_usage = rec["provider_usage"]
    assert provider_usage["output_tokens"] == str(int(orjson.loads(raw)))  # the provider's number, as text
    assert provider_usage["out_of_range"] == ["output_tokens"]
    # $0.000001 per M output tokens: the capped 10⁹ tokens cost $0.001
    assert rec["model_usage"]["output_cost"] == ("0.0010000000" if settled else "0.0000000000")
    assert env.server.cli("requests", "reprice", rid)["matches"] is True

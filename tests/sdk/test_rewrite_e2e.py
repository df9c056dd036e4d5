"""End to end through ``/v1/rewrite``: ``lava.gateway(..., format=...)`` and an official SDK on
``lava.rewrite_url(...)`` reach another provider's model (a fake upstream) in their own format."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import openai
import pytest

from lava import AsyncLava, Lava

from ._e2e import new_merchant

ANTHROPIC = "https://api.anthropic.com/v1/messages"
CHAT = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 32}


@pytest.fixture
def client(current_live_stack: Any) -> Any:
    server = current_live_stack.server
    with Lava(new_merchant(server), base_url=server.api_base, max_retries=0) as lava:
        yield lava


def test_gateway_format_openai_to_anthropic(client: Lava) -> None:
    answer = client.gateway(ANTHROPIC, body=CHAT, format="openai")
    body = answer.json()
    assert body["object"] == "chat.completion" and body["choices"][0]["message"]["role"] == "assistant"
    assert body["usage"]["prompt_tokens"] > 0 and answer.lava.request_id is not None
    record = client.requests.retrieve(answer.lava.request_id)
    assert record.provider == "anthropic" and record.cost > 0 and record.charge.amount == 0  # row 1


def test_gateway_format_streams_openai_chunks(client: Lava) -> None:
    meter = client.meters.create(
        name="Chat", meter_slug=f"rw-{uuid.uuid4().hex[:8]}", rate_type="fixed", tier_type="requests",
        tiers=[{"start": 0, "rate": "0.01"}],
    )  # fmt: skip
    with client.gateway(
        ANTHROPIC, body={**CHAT, "stream": True}, format="openai", meter_slug=meter.meter_slug, stream=True
    ) as stream:
        events = list(stream)
    assert events[-1].data == "[DONE]"
    chunks = [e.json() for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text and stream.lava.request_id is not None
    assert client.requests.retrieve(stream.lava.request_id).meter_id == meter.meter_id


def test_openai_sdk_on_rewrite_url(client: Lava) -> None:
    sdk = openai.OpenAI(
        api_key=client.generate_forward_token(), base_url=client.rewrite_url("openai", ANTHROPIC), max_retries=0
    )
    raw = sdk.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}], max_tokens=16
    )
    completion = raw.parse()
    assert completion.choices[0].message.content and completion.usage is not None
    assert client.requests.retrieve(raw.headers["x-lava-request-id"]).provider == "anthropic"


async def test_async_gateway_format(current_live_stack: Any) -> None:
    server = current_live_stack.server
    key = await asyncio.to_thread(new_merchant, server)  # the admin CLI runs its own event loop
    async with AsyncLava(key, base_url=server.api_base, max_retries=0) as lava:
        answer = await lava.gateway(ANTHROPIC, body=CHAT, format="openai")
        assert answer.json()["choices"][0]["message"]["content"]

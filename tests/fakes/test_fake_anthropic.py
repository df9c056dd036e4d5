"""The official ``anthropic`` SDK, pointed straight at the fake."""

from __future__ import annotations

import aiohttp
import anthropic
import pytest

from tests.fakes import expected_raw_usage, expected_usage
from tests.fakes.sse import parse_frames

MSGS = [{"role": "user", "content": "Write one short sentence about pelicans"}]
TOOL = {
    "name": "pelican_name_generator",
    "description": "Names a pelican",
    "input_schema": {"type": "object", "properties": {"style": {"type": "string", "enum": ["fancy", "plain"]}}},
}


@pytest.fixture(scope="module")
def client(fake_upstream_shared: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake_upstream_shared, api_key="sk-ant-test", max_retries=0)


def test_messages_create(client: anthropic.Anthropic) -> None:
    req = {"model": "claude-sonnet-5", "max_tokens": 256, "messages": MSGS}
    m = client.messages.create(**req)  # type: ignore[call-overload]
    assert m.type == "message" and m.role == "assistant" and m.stop_reason == "end_turn"
    assert m.content[0].type == "text" and len(m.content[0].text.split()) == 12
    assert m.usage.model_dump(exclude_none=True) == expected_raw_usage("anthropic", req)
    assert m.usage.input_tokens == 3 + 3 + 6


def test_messages_stream_final_usage(client: anthropic.Anthropic) -> None:
    req = {"model": "claude-sonnet-5", "max_tokens": 256, "messages": MSGS, "system": "Be terse and kind"}
    with client.messages.stream(**req) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(text.split()) == 12 and final.content[0].text == text  # type: ignore[union-attr]
    want = expected_usage("anthropic", req)
    assert final.usage.input_tokens == want["input_tokens"] == 3 + 4 + 3 + 6
    assert final.usage.output_tokens == want["output_tokens"] == 12
    assert final.usage.cache_read_input_tokens == want["cached_input_tokens"] == 0
    assert want["total_tokens"] is None  # Anthropic never reports a total


def test_tool_use(client: anthropic.Anthropic) -> None:
    req = {"model": "claude-haiku-4-5", "max_tokens": 100, "messages": MSGS, "tools": [TOOL]}
    m = client.messages.create(**req)  # type: ignore[call-overload]
    assert m.stop_reason == "tool_use"
    (block,) = m.content
    assert block.type == "tool_use" and block.name == "pelican_name_generator" and block.input == {"style": "fancy"}
    assert block.id.startswith("toolu_")
    with client.messages.stream(**req) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use" and final.content[0].input == {"style": "fancy"}
    assert final.usage.output_tokens == expected_usage("anthropic", req)["output_tokens"] == 12


def test_text_after_tool_result(client: anthropic.Anthropic) -> None:
    msgs = [
        *MSGS,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": TOOL["name"], "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "Percy"}]},
    ]
    m = client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=msgs, tools=[TOOL])  # type: ignore[arg-type,list-item]
    assert m.stop_reason == "end_turn" and m.content[0].type == "text"


def test_cache_read_and_write(client: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "long shared context " * 50, "cache_control": {"type": "ephemeral"}}]
    req = {"model": "claude-sonnet-5", "max_tokens": 64, "system": system, "messages": MSGS}
    read = client.messages.create(**req)  # type: ignore[call-overload]
    assert read.usage.cache_read_input_tokens == 150
    assert read.usage.cache_creation_input_tokens == 0
    assert read.usage.input_tokens == 3 + 3 + 6
    write_req = {**req, "messages": [{"role": "user", "content": "fake-cache=write please"}]}
    write_req["system"] = [{**system[0], "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    wrote = client.messages.create(**write_req)  # type: ignore[call-overload]
    assert wrote.usage.cache_read_input_tokens == 0
    assert wrote.usage.cache_creation_input_tokens == 150
    assert wrote.usage.cache_creation is not None and wrote.usage.cache_creation.ephemeral_1h_input_tokens == 150
    assert expected_usage("anthropic", write_req)["cache_creation_input_tokens"] == 150


def test_thinking_and_max_tokens(client: anthropic.Anthropic) -> None:
    req = {
        "model": "claude-sonnet-5",
        "max_tokens": 2048,
        "messages": MSGS,
        "thinking": {"type": "enabled", "budget_tokens": 1024},
    }
    with client.messages.stream(**req) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.usage.output_tokens == 16 + 12
    assert expected_usage("anthropic", req)["reasoning_tokens"] == 16
    short = client.messages.create(model="claude-sonnet-5", max_tokens=4, messages=MSGS)  # type: ignore[arg-type]
    assert short.stop_reason == "max_tokens" and len(short.content[0].text.split()) == 4  # type: ignore[union-attr]


def test_errors(client: anthropic.Anthropic, fake_upstream_shared: str) -> None:
    bad = anthropic.Anthropic(base_url=fake_upstream_shared, api_key="bad-key", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as auth:
        bad.messages.create(model="claude-sonnet-5", max_tokens=10, messages=MSGS)  # type: ignore[arg-type]
    assert auth.value.body["error"]["type"] == "authentication_error"  # type: ignore[index]
    assert auth.value.response.headers["request-id"].startswith("req_")
    cases: list[tuple[str, type[anthropic.APIStatusError], str]] = [
        ("error-400", anthropic.BadRequestError, "invalid_request_error"),
        ("error-404", anthropic.NotFoundError, "not_found_error"),
        ("error-429", anthropic.RateLimitError, "rate_limit_error"),
        ("error-500", anthropic.InternalServerError, "api_error"),
        ("error-529", anthropic.InternalServerError, "overloaded_error"),
    ]
    for model, exc, err_type in cases:
        with pytest.raises(exc) as info:
            client.messages.create(model=model, max_tokens=10, messages=MSGS)  # type: ignore[arg-type]
        assert info.value.body["type"] == "error"  # type: ignore[index]
        assert info.value.body["error"]["type"] == err_type  # type: ignore[index]


def test_error_event_mid_stream(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APIStatusError, match="overloaded_error"):  # noqa: SIM117
        with client.messages.stream(model="error-event-stream", max_tokens=10, messages=MSGS) as stream:  # type: ignore[arg-type]
            stream.get_final_message()


async def test_auth_variants_and_required_headers(fake_upstream_shared: str) -> None:
    url = f"{fake_upstream_shared}/v1/messages"
    body = {"model": "claude-sonnet-5", "max_tokens": 10, "messages": MSGS}
    version = {"anthropic-version": "2023-06-01"}
    async with aiohttp.ClientSession() as s:
        async with s.post(url, json=body, headers=version) as r:
            assert r.status == 401
            assert await r.json() == {
                "type": "error",
                "error": {"type": "authentication_error", "message": "x-api-key header is required"},
                "request_id": r.headers["request-id"],
            }
        async with s.post(url, json=body, headers={**version, "Authorization": "Bearer sk-ant"}) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json"
        async with s.post(url, json=body, headers={"x-api-key": "sk-ant"}) as r:
            assert r.status == 400
            assert (await r.json())["error"]["message"] == "anthropic-version: header is required"
        async with s.post(url, json={"model": "m", "messages": MSGS}, headers={**version, "x-api-key": "k"}) as r:
            assert r.status == 400 and "max_tokens" in (await r.json())["error"]["message"]
        async with s.post(f"{url}/count_tokens", json=body, headers={**version, "x-api-key": "k"}) as r:
            assert await r.json() == {"input_tokens": expected_usage("anthropic", body)["input_tokens"]}


async def test_stream_framing_and_cumulative_usage(fake_upstream_shared: str) -> None:
    body = {"model": "claude-sonnet-5", "max_tokens": 100, "messages": MSGS, "stream": True}
    headers = {"anthropic-version": "2023-06-01", "x-api-key": "k"}
    async with (
        aiohttp.ClientSession() as s,
        s.post(f"{fake_upstream_shared}/v1/messages", json=body, headers=headers) as r,
    ):
        assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
        raw = await r.read()
    frames = parse_frames(raw)
    assert all(f.field_order == ("event", "data") for f in frames)
    assert all(f.json()["type"] == f.event for f in frames)
    start = frames[0].json()["message"]["usage"]
    delta = next(f.json() for f in frames if f.event == "message_delta")["usage"]
    assert start["output_tokens"] == 1
    assert delta["output_tokens"] == 12 and delta["input_tokens"] == start["input_tokens"]

"""The official ``openai`` SDK, pointed straight at the fake, must parse everything it returns."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aiohttp
import openai
import pytest

from tests.fakes import expected_raw_usage, expected_usage
from tests.fakes.server import RunningServer
from tests.fakes.sse import parse_frames

USER = [{"role": "user", "content": "What is the capital of France?"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def client(fake_upstream_shared: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{fake_upstream_shared}/v1", api_key="sk-test", max_retries=0)


def test_chat_non_stream(client: openai.OpenAI) -> None:
    req = {"model": "gpt-4o-mini", "messages": USER}
    r = client.chat.completions.create(**req)
    assert r.object == "chat.completion"
    assert r.choices[0].finish_reason == "stop"
    assert r.choices[0].message.role == "assistant"
    text = r.choices[0].message.content
    assert text and len(text.split()) == r.usage.completion_tokens  # type: ignore[union-attr]
    assert r.usage is not None and r.usage.model_dump(exclude_none=True) == expected_raw_usage("openai", req)
    assert r.usage.prompt_tokens == 3 + 3 + 6  # overhead + per message + six words


def test_chat_stream_without_include_usage_has_no_usage(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    assert all(ch.usage is None for ch in chunks)
    assert all(ch.choices for ch in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert len(text.split()) == expected_usage("openai", {"model": "m", "messages": USER})["output_tokens"]


def test_chat_stream_with_include_usage(client: openai.OpenAI) -> None:
    req = {"model": "gpt-4o-mini", "messages": USER, "stream_options": {"include_usage": True}}
    chunks = list(client.chat.completions.create(**req, stream=True))
    assert all(ch.usage is None for ch in chunks[:-1])
    last = chunks[-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.model_dump(exclude_none=True) == expected_raw_usage("openai.chat_completions", req)
    assert chunks[-2].choices[0].finish_reason == "stop"


async def test_chat_stream_wire_usage_null_only_when_requested(fake_upstream_shared: str) -> None:
    headers = {"Authorization": "Bearer sk-test"}
    async with aiohttp.ClientSession() as s:
        for include in (False, True):
            body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": USER, "stream": True}
            if include:
                body["stream_options"] = {"include_usage": True}
            async with s.post(f"{fake_upstream_shared}/v1/chat/completions", json=body, headers=headers) as r:
                assert r.headers["Content-Type"] == "text/event-stream; charset=utf-8"
                assert r.headers["x-request-id"].startswith("req_")
                frames = parse_frames(await r.read())
            assert frames[-1].data == "[DONE]"
            chunks = [f.json() for f in frames[:-1]]
            if include:
                assert all("usage" in ch for ch in chunks)
                assert all(ch["usage"] is None for ch in chunks[:-1])
                assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
            else:
                assert not any("usage" in ch for ch in chunks)


def test_chat_tool_call(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function" and call.function.name == "get_weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "fake", "days": 42}  # type: ignore[union-attr]
    assert r.usage is not None and r.usage.completion_tokens == 12


def test_chat_tool_call_stream(client: openai.OpenAI) -> None:
    req = {"model": "gpt-4o-mini", "messages": USER, "tools": [WEATHER_TOOL], "stream_options": {"include_usage": True}}
    chunks = list(client.chat.completions.create(**req, stream=True))
    deltas = [tc for ch in chunks if ch.choices for tc in ch.choices[0].delta.tool_calls or []]
    assert deltas[0].id and deltas[0].function and deltas[0].function.name == "get_weather"
    args = "".join(d.function.arguments or "" for d in deltas if d.function)
    assert json.loads(args) == {"city": "fake", "days": 42}
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "tool_calls"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.model_dump(exclude_none=True) == expected_raw_usage("openai", req)


def test_chat_answers_after_tool_result(client: openai.OpenAI) -> None:
    messages = [
        *USER,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    r = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type,list-item]
    assert r.choices[0].finish_reason == "stop" and r.choices[0].message.content
    assert r.usage is not None
    assert (
        r.usage.prompt_tokens
        == expected_usage("openai", {"messages": messages, "tools": [WEATHER_TOOL]})["input_tokens"]
    )


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_chat_respects_max_tokens(client: openai.OpenAI, param: str) -> None:
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER, **{param: 3})  # type: ignore[call-overload]
    assert r.choices[0].finish_reason == "length"
    assert len((r.choices[0].message.content or "").split()) == 3
    assert r.usage is not None and r.usage.completion_tokens == 3


def test_chat_output_length_directive_reasoning_and_cache(client: openai.OpenAI) -> None:
    msgs = [{"role": "user", "content": "please answer in fake-words=40 words"}]
    r = client.chat.completions.create(
        model="o4-mini",
        messages=msgs,
        reasoning_effort="low",
        prompt_cache_key="k1",  # type: ignore[arg-type]
    )
    usage = r.usage
    assert usage is not None and usage.completion_tokens_details and usage.prompt_tokens_details
    assert len((r.choices[0].message.content or "").split()) == 40
    assert usage.completion_tokens_details.reasoning_tokens == 32
    assert usage.completion_tokens == 40 + 32
    assert usage.prompt_tokens_details.cached_tokens == usage.prompt_tokens // 2


def test_responses_non_stream(client: openai.OpenAI) -> None:
    req = {"model": "gpt-4o-mini", "input": "Tell me a joke", "instructions": "Be brief."}
    r = client.responses.create(**req)
    assert r.status == "completed" and r.object == "response"
    assert len(r.output_text.split()) == 12
    assert r.usage is not None
    assert r.usage.model_dump(exclude_none=True) == expected_raw_usage("openai.responses", req)


def test_responses_stream(client: openai.OpenAI) -> None:
    req = {"model": "gpt-4o-mini", "input": [{"role": "user", "content": "Tell me a joke"}]}
    events = list(client.responses.create(**req, stream=True))  # type: ignore[call-overload]
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[-1] == "response.completed"
    assert "response.output_text.delta" in types
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert all(getattr(e.response, "usage", None) is None for e in events[:2])
    assert events[-1].response.usage.model_dump(exclude_none=True) == expected_raw_usage("openai.responses", req)
    with client.responses.stream(**req) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert len(final.output_text.split()) == 12


def test_responses_function_call_and_reasoning(client: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "name": "lookup",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
    req = {"model": "gpt-5-mini", "input": "find it", "tools": [tool], "reasoning": {"effort": "low"}}
    with client.responses.stream(**req) as stream:  # type: ignore[arg-type]
        final = stream.get_final_response()
    kinds = [item.type for item in final.output]
    assert kinds == ["reasoning", "function_call"]
    call = final.output[1]
    assert call.type == "function_call" and call.name == "lookup" and json.loads(call.arguments) == {"q": "fake"}
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens == 32
    assert final.usage.model_dump(exclude_none=True) == expected_raw_usage("openai", req)


def test_responses_max_output_tokens_is_incomplete(client: openai.OpenAI) -> None:
    r = client.responses.create(model="gpt-4o-mini", input="hello", max_output_tokens=5)
    assert r.status == "incomplete" and r.incomplete_details and r.incomplete_details.reason == "max_output_tokens"
    assert len(r.output_text.split()) == 5


def test_embeddings_base64_default_and_float(client: openai.OpenAI) -> None:
    r = client.embeddings.create(model="text-embedding-3-small", input=["hello world", "one two three"])
    assert [len(d.embedding) for d in r.data] == [1536, 1536]
    assert r.usage.prompt_tokens == 5 == r.usage.total_tokens
    f = client.embeddings.create(
        model="text-embedding-3-small", input="hello world", encoding_format="float", dimensions=8
    )
    assert len(f.data[0].embedding) == 8
    again = client.embeddings.create(model="text-embedding-3-small", input="hello world", dimensions=8)
    assert again.data[0].embedding == pytest.approx(f.data[0].embedding, rel=1e-6)


def test_transcription_duration_and_token_usage(client: openai.OpenAI) -> None:
    audio = b"RIFF" + bytes(70_000)  # 70 KB → 3 "seconds"
    t = client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", audio, "audio/wav"))
    assert t.text and t.usage is not None
    assert t.usage.model_dump() == {"type": "duration", "seconds": 3}
    assert expected_raw_usage("openai", {"model": "whisper-1", "file_size": len(audio)})["seconds"] == 3
    t4 = client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("clip.wav", audio, "audio/wav"))
    assert t4.usage is not None and t4.usage.type == "tokens"
    assert t4.usage.model_dump(exclude_none=True) == expected_raw_usage(
        "openai.audio_transcriptions", {"model": "gpt-4o-transcribe", "file": audio}
    )
    plain = client.audio.transcriptions.create(model="whisper-1", file=("c.wav", audio), response_format="text")
    assert isinstance(plain, str) and plain.strip() == t.text


def test_speech_returns_audio(client: openai.OpenAI) -> None:
    r = client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there, world")
    assert r.response.headers["content-type"] == "audio/mpeg"
    assert r.content.startswith(b"ID3") and len(r.content) > 1000


def test_models_list(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert "gpt-4o-mini" in ids


def test_error_types(client: openai.OpenAI, fake_upstream_shared: str) -> None:
    bad = openai.OpenAI(base_url=f"{fake_upstream_shared}/v1", api_key="bad-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as auth:
        bad.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert auth.value.code == "invalid_api_key" and auth.value.type == "invalid_request_error"
    cases: list[tuple[str, type[openai.APIStatusError], str | None]] = [
        ("error-400", openai.BadRequestError, None),
        ("error-404", openai.NotFoundError, "model_not_found"),
        ("error-429", openai.RateLimitError, "rate_limit_exceeded"),
        ("error-429-quota", openai.RateLimitError, "insufficient_quota"),
        ("error-500", openai.InternalServerError, None),
        ("openrouter/error-401", openai.AuthenticationError, "invalid_api_key"),
    ]
    for model, exc, code in cases:
        with pytest.raises(exc) as info:
            client.chat.completions.create(model=model, messages=USER)
        assert info.value.code == code
        assert set(info.value.body) == {"message", "type", "param", "code"}  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError) as so:
        client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream_options={"include_usage": True})
    assert so.value.param == "stream_options"


async def test_missing_key_and_bad_json(fake_upstream_shared: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake_upstream_shared}/v1/chat/completions", json={"model": "m", "messages": USER}) as r:
            assert r.status == 401
            body = await r.json()
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert "didn't provide an API key" in body["error"]["message"]
        async with s.post(
            f"{fake_upstream_shared}/v1/chat/completions", data=b"{nope", headers={"Authorization": "Bearer k"}
        ) as r:
            assert r.status == 400
            assert (await r.json())["error"]["type"] == "invalid_request_error"


def test_api_key_prefix(fake_upstream_factory: Callable[..., RunningServer]) -> None:
    server = fake_upstream_factory(api_key_prefix="sk-lava-")
    good = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-lava-123", max_retries=0)
    assert good.chat.completions.create(model="gpt-4o-mini", messages=USER).choices
    other = openai.OpenAI(base_url=f"{server.url}/v1", api_key="sk-other", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        other.chat.completions.create(model="gpt-4o-mini", messages=USER)


def test_error_event_stream_raises_in_sdk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="error-event-stream", messages=USER, stream=True)
    with pytest.raises(openai.APIError, match="Tool call validation failed"):
        for _ in stream:
            pass

"""The official ``google-genai`` SDK, pointed straight at the fake."""

from __future__ import annotations

import aiohttp
import orjson
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes import expected_raw_usage, expected_usage
from tests.fakes.sse import frame_separator, parse_frames

PROMPT = "Explain photosynthesis in one short sentence"


@pytest.fixture(scope="module")
def client(fake_upstream_shared: str) -> genai.Client:
    return genai.Client(api_key="g-test", http_options=types.HttpOptions(base_url=fake_upstream_shared))


def _req(**extra: object) -> dict[str, object]:
    return {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}], **extra}


def test_generate_content(client: genai.Client) -> None:
    r = client.models.generate_content(model="gemini-2.0-flash", contents=PROMPT)
    assert r.text and len(r.text.split()) == 12
    assert r.candidates and r.candidates[0].finish_reason == types.FinishReason.STOP
    assert r.model_version == "gemini-2.0-flash" and r.response_id
    um = r.usage_metadata
    assert um is not None
    assert um.model_dump(mode="json", exclude_none=True, by_alias=True) == expected_raw_usage("gemini", _req())
    assert um.prompt_token_count == 3 + 3 + 6 and um.total_token_count == um.prompt_token_count + 12


def test_generate_content_stream_cumulative_usage(client: genai.Client) -> None:
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents=PROMPT))
    assert len(chunks) == 3  # 12 words, 5 per chunk
    text = "".join(ch.text or "" for ch in chunks)
    assert len(text.split()) == 12
    totals = [ch.usage_metadata.total_token_count for ch in chunks if ch.usage_metadata]
    assert totals == sorted(totals) and len(totals) == 3
    first, last = chunks[0].usage_metadata, chunks[-1].usage_metadata
    assert first is not None and first.candidates_token_count is None  # like the real API
    assert last is not None and last.candidates_token_count == expected_usage("gemini", _req())["output_tokens"]
    assert chunks[-1].candidates and chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP


def test_function_call(client: genai.Client) -> None:
    decl = types.FunctionDeclaration(
        name="get_weather",
        description="Weather for a city",
        parameters=types.Schema(type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[decl])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    r = client.models.generate_content(model="gemini-2.0-flash", contents="Weather in Paris?", config=config)
    assert r.function_calls and r.function_calls[0].name == "get_weather"
    assert r.function_calls[0].args == {"city": "fake"}
    assert r.usage_metadata is not None and r.usage_metadata.candidates_token_count == 12
    streamed = list(client.models.generate_content_stream(model="gemini-2.0-flash", contents="Paris?", config=config))
    assert streamed[-1].function_calls and streamed[-1].function_calls[0].name == "get_weather"


def test_thinking_tokens(client: genai.Client) -> None:
    config = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=512))
    r = client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=config)
    um = r.usage_metadata
    assert um is not None and um.thoughts_token_count == 24
    assert um.total_token_count == (um.prompt_token_count or 0) + (um.candidates_token_count or 0) + 24
    off = types.GenerateContentConfig(thinking_config=types.ThinkingConfig(thinking_budget=0))
    r0 = client.models.generate_content(model="gemini-2.5-flash", contents=PROMPT, config=off)
    assert r0.usage_metadata is not None and r0.usage_metadata.thoughts_token_count is None


def test_max_output_tokens(client: genai.Client) -> None:
    config = types.GenerateContentConfig(max_output_tokens=4)
    r = client.models.generate_content(model="gemini-2.0-flash", contents=PROMPT, config=config)
    assert r.text and len(r.text.split()) == 4
    assert r.candidates and r.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_errors(client: genai.Client, fake_upstream_shared: str) -> None:
    bad = genai.Client(api_key="bad-key", http_options=types.HttpOptions(base_url=fake_upstream_shared))
    with pytest.raises(errors.ClientError) as info:
        bad.models.generate_content(model="gemini-2.0-flash", contents=PROMPT)
    assert info.value.code == 400 and info.value.status == "INVALID_ARGUMENT"
    for model, exc, code, status in [
        ("error-400", errors.ClientError, 400, "INVALID_ARGUMENT"),
        ("error-429", errors.ClientError, 429, "RESOURCE_EXHAUSTED"),
        ("error-500", errors.ServerError, 500, "INTERNAL"),
        ("error-503", errors.ServerError, 503, "UNAVAILABLE"),
    ]:
        with pytest.raises(exc) as e:
            client.models.generate_content(model=model, contents=PROMPT)
        assert (e.value.code, e.value.status) == (code, status)


async def test_auth_variants_and_wire_format(fake_upstream_shared: str) -> None:
    base = f"{fake_upstream_shared}/v1beta/models/gemini-2.0-flash"
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{base}:generateContent", json=_req()) as r:
            assert r.status == 403 and (await r.json())["error"]["status"] == "PERMISSION_DENIED"
        async with s.post(f"{base}:generateContent?key=g-test", json=_req()) as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/json; charset=UTF-8"
        headers = {"x-goog-api-key": "g-test"}
        async with s.post(f"{base}:streamGenerateContent?alt=sse", json=_req(), headers=headers) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            raw = await r.read()
        assert frame_separator(raw) == b"\r\n\r\n" and b"\n\n" not in raw.replace(b"\r\n\r\n", b"")
        frames = parse_frames(raw)
        assert all(f.event is None for f in frames)
        assert {tuple(f.json()) for f in frames} == {("candidates", "usageMetadata", "modelVersion", "responseId")}
        async with s.post(f"{base}:streamGenerateContent", json=_req(), headers=headers) as r:
            assert r.headers["Content-Type"] == "application/json; charset=UTF-8"
            array = orjson.loads(await r.read())
        assert isinstance(array, list) and [c["usageMetadata"] for c in array] == [
            f.json()["usageMetadata"] for f in frames
        ]
        async with s.post(f"{base}:countTokens", json=_req(), headers=headers) as r:
            assert (await r.json())["totalTokens"] == expected_usage("gemini", _req())["input_tokens"]

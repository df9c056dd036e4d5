"""``/v1/rewrite``: official SDKs unchanged against another provider's model, streamed and not.

Each SDK gets the rewrite URL as its base URL and a Lava forward token as its API key. The
fake upstream is the *other* provider; the test checks what the SDK parsed (text, tool calls,
usage in its own fields), what the fake received (its own format, the managed key), and the
request record: billed from the upstream's own usage, with the client format and provider.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from google import genai
from google.genai import types

from tests.e2e import rewrite_support
from tests.e2e.conftest_gateway import MANAGED_KEYS, Account, GatewayStack
from tests.e2e.rewrite_support import (
    ANTHROPIC,
    GEMINI_HOST,
    OPENAI,
    OPENAI_TOOL,
    WEATHER,
    anthropic_to_openai,
    check_record,
    openai_to_anthropic,
    rewrite_base,
    upstream,
)
from tests.fakes import expected_usage

fake_gateway = rewrite_support.fake_gateway
acct = rewrite_support.acct


# -- openai SDK → Anthropic Messages ---------------------------------------------------------


def test_openai_sdk_to_anthropic(acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_to_anthropic(acct)
    raw = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello fake-words=9"}],
        max_tokens=100,
        temperature=0.2,
        stop=["STOP"],
    )
    done = raw.parse()
    up = upstream(fake_gateway)
    assert up["path"] == "/v1/messages"
    assert up["headers"]["x-api-key"] == MANAGED_KEYS["anthropic"] and up["headers"]["anthropic-version"]
    assert up["body"]["system"] == "be brief" and up["body"]["stop_sequences"] == ["STOP"]
    assert len((done.choices[0].message.content or "").split()) == 9
    assert done.choices[0].finish_reason == "stop"
    raw_usage = expected_usage("anthropic.messages", up["body"])
    assert done.usage is not None
    assert done.usage.prompt_tokens == raw_usage["input_tokens"]
    assert done.usage.completion_tokens == raw_usage["output_tokens"] == 9
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="anthropic.messages",
        up=up,
        provider="anthropic",
        client="openai",
        endpoint=f"POST {ANTHROPIC}",
    )
    assert rec["model"] == "claude-sonnet-4-5"


def test_openai_sdk_to_anthropic_stream(acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_to_anthropic(acct)
    raw = client.chat.completions.with_raw_response.create(
        model="claude-sonnet-4-5",
        messages=[{"role": "user", "content": "stream fake-words=20"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert raw.headers["content-type"].startswith("text/event-stream")
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 20
    (last,) = [c for c in chunks if c.usage is not None]
    up = upstream(fake_gateway)
    assert up["body"]["stream"] is True
    raw_usage = expected_usage("anthropic.messages", up["body"])
    assert last.usage is not None and last.choices == []
    assert (last.usage.prompt_tokens, last.usage.completion_tokens) == (
        raw_usage["input_tokens"],
        raw_usage["output_tokens"],
    )
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="anthropic.messages",
        up=up,
        provider="anthropic",
        client="openai",
        endpoint=f"POST {ANTHROPIC}",
    )


@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_tool_round_trip_with_anthropic(stream: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_to_anthropic(acct)
    messages: list[Any] = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="claude-haiku-4-5", messages=messages, tools=[OPENAI_TOOL], stream=True
            )
        )
        deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
        call_id, name = deltas[0].id, deltas[0].function.name
        args = "".join(d.function.arguments or "" for d in deltas)
        assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == [
            "tool_calls"
        ]
    else:
        msg = (
            client.chat.completions.create(model="claude-haiku-4-5", messages=messages, tools=[OPENAI_TOOL])
            .choices[0]
            .message
        )
        assert msg.tool_calls
        call_id, name, args = (
            msg.tool_calls[0].id,
            msg.tool_calls[0].function.name,
            msg.tool_calls[0].function.arguments,
        )
    assert name == "get_weather" and call_id.startswith("toolu_")
    assert isinstance(json.loads(args), dict)
    tool_use = upstream(fake_gateway)
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}],
        },
        {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21C"},
    ]
    answer = client.chat.completions.with_raw_response.create(
        model="claude-haiku-4-5", messages=messages, tools=[OPENAI_TOOL]
    )
    assert answer.parse().choices[0].message.content
    up = upstream(fake_gateway)
    assert up["body"]["messages"][1]["content"][0]["id"] == call_id
    assert up["body"]["messages"][2]["content"][0] == {
        "type": "tool_result",
        "tool_use_id": call_id,
        "content": [{"type": "text", "text": "sunny, 21C"}],
    }
    assert tool_use["body"]["tools"][0]["name"] == "get_weather"
    check_record(
        acct,
        answer.headers["x-lava-request-id"],
        api="anthropic.messages",
        up=up,
        provider="anthropic",
        client="openai",
        endpoint=f"POST {ANTHROPIC}",
    )


# -- anthropic SDK → OpenAI chat --------------------------------------------------------------


def test_anthropic_sdk_to_openai(acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_to_openai(acct)
    raw = client.messages.with_raw_response.create(
        model="gpt-4o-mini",
        max_tokens=200,
        system="be brief",
        messages=[{"role": "user", "content": "hello fake-words=6"}],
    )
    msg = raw.parse()
    up = upstream(fake_gateway)
    assert up["path"] == "/v1/chat/completions"
    assert up["headers"]["authorization"] == f"Bearer {MANAGED_KEYS['openai']}"
    assert "anthropic-version" not in up["headers"]
    assert up["body"]["messages"][0] == {"role": "system", "content": "be brief"}
    assert up["body"]["max_completion_tokens"] == 200
    assert msg.content[0].type == "text" and len(msg.content[0].text.split()) == 6
    assert msg.stop_reason == "end_turn"
    raw_usage = expected_usage("openai.chat_completions", up["body"])
    assert msg.usage.input_tokens == raw_usage["input_tokens"] and msg.usage.output_tokens == 6
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        up=up,
        provider="openai",
        client="anthropic",
        endpoint=f"POST {OPENAI}",
    )


def test_anthropic_sdk_to_openai_stream(acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_to_openai(acct)
    with client.messages.stream(
        model="gpt-4o-mini", max_tokens=300, messages=[{"role": "user", "content": "stream fake-words=15"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert len(text.split()) == 15
    up = upstream(fake_gateway)
    assert up["body"]["stream_options"] == {"include_usage": True}
    raw_usage = expected_usage("openai.chat_completions", up["body"])
    assert final.usage.input_tokens == raw_usage["input_tokens"]
    assert final.usage.output_tokens == raw_usage["output_tokens"] == 15
    assert final.stop_reason == "end_turn"
    rec = acct.latest_request()
    assert rec["client_format"] == "anthropic" and rec["provider_usage"] == raw_usage


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_sdk_tool_round_trip_with_openai(stream: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_to_openai(acct)
    tools: Any = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}]
    messages: list[Any] = [{"role": "user", "content": "weather in Oslo?"}]
    if stream:
        with client.messages.stream(model="gpt-4.1", max_tokens=300, tools=tools, messages=messages) as s:
            first = s.get_final_message()
    else:
        first = client.messages.create(model="gpt-4.1", max_tokens=300, tools=tools, messages=messages)
    assert first.stop_reason == "tool_use"
    (use,) = [b for b in first.content if b.type == "tool_use"]
    assert use.name == "get_weather" and isinstance(use.input, dict)
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "rain"}]},
    ]
    second = client.messages.with_raw_response.create(model="gpt-4.1", max_tokens=300, tools=tools, messages=messages)
    assert second.parse().content[0].type == "text"
    up = upstream(fake_gateway)
    assert up["body"]["messages"][1]["tool_calls"][0]["id"] == use.id
    assert up["body"]["messages"][2] == {"role": "tool", "tool_call_id": use.id, "content": "rain"}
    check_record(
        acct,
        second.headers["x-lava-request-id"],
        api="openai.chat_completions",
        up=up,
        provider="openai",
        client="anthropic",
        endpoint=f"POST {OPENAI}",
    )


# -- google-genai → OpenAI and Anthropic ------------------------------------------------------

TARGETS = {
    "openai": ("https://api.openai.com/v1", "gpt-4o-mini", "openai.chat_completions", OPENAI),
    "anthropic": ("https://api.anthropic.com", "claude-haiku-4-5", "anthropic.messages", ANTHROPIC),
}


def genai_client(acct: Account, provider_url: str) -> genai.Client:
    return genai.Client(
        api_key=acct.token(), http_options=types.HttpOptions(base_url=rewrite_base(acct, "google", provider_url))
    )


@pytest.mark.parametrize("target", TARGETS)
def test_genai_to_other_providers(target: str, acct: Account, fake_gateway: GatewayStack) -> None:
    url, model, api, endpoint = TARGETS[target]
    client = genai_client(acct, url)
    config = types.GenerateContentConfig(system_instruction="be brief", max_output_tokens=120, temperature=0.1)
    resp = client.models.generate_content(model=model, contents="hello fake-words=8", config=config)
    assert resp.text is not None and len(resp.text.split()) == 8
    up = upstream(fake_gateway)
    raw_usage = expected_usage(api, up["body"])
    assert resp.usage_metadata is not None
    assert resp.usage_metadata.prompt_token_count == raw_usage["input_tokens"]
    assert resp.usage_metadata.candidates_token_count == raw_usage["output_tokens"] == 8
    rec = acct.latest_request()
    assert rec["client_format"] == "google" and rec["provider"] == target and rec["endpoint"] == f"POST {endpoint}"
    assert rec["provider_usage"] == raw_usage and rec["model"] == model


@pytest.mark.parametrize("target", TARGETS)
def test_genai_stream_to_other_providers(target: str, acct: Account, fake_gateway: GatewayStack) -> None:
    url, model, api, _ = TARGETS[target]
    client = genai_client(acct, url)
    chunks = list(
        client.models.generate_content_stream(
            model=model, contents="stream fake-words=11", config=types.GenerateContentConfig(max_output_tokens=500)
        )
    )
    text = "".join(c.text or "" for c in chunks)
    assert len(text.split()) == 11
    up = upstream(fake_gateway)
    raw_usage = expected_usage(api, up["body"])
    usage = chunks[-1].usage_metadata
    assert usage is not None and usage.prompt_token_count == raw_usage["input_tokens"]
    assert usage.candidates_token_count == raw_usage["output_tokens"]
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP
    assert acct.latest_request()["provider_usage"] == raw_usage


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("stream", [False, True])
def test_genai_tool_round_trip(target: str, stream: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    url, model, api, _ = TARGETS[target]
    client = genai_client(acct, url)
    decl = types.FunctionDeclaration(name="get_weather", description="Weather", parameters_json_schema=WEATHER)
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=[decl])], max_output_tokens=300)
    contents: list[Any] = [types.Content(role="user", parts=[types.Part.from_text(text="weather in Rome?")])]
    if stream:
        parts = [
            p
            for c in client.models.generate_content_stream(model=model, contents=contents, config=config)
            for p in (c.candidates[0].content.parts or [])
        ]
    else:
        parts = list(
            client.models.generate_content(model=model, contents=contents, config=config).candidates[0].content.parts
            or []
        )
    calls = [p.function_call for p in parts if p.function_call]
    assert len(calls) == 1 and calls[0].name == "get_weather" and isinstance(calls[0].args, dict)
    contents += [
        types.Content(role="model", parts=[types.Part(function_call=calls[0])]),
        types.Content(role="user", parts=[types.Part.from_function_response(name="get_weather", response={"t": 18})]),
    ]
    answer = client.models.generate_content(model=model, contents=contents, config=config)
    assert answer.text
    up = upstream(fake_gateway)
    if target == "openai":
        assert up["body"]["messages"][1]["tool_calls"][0]["id"] == calls[0].id
        assert up["body"]["messages"][2]["tool_call_id"] == calls[0].id
    else:
        assert up["body"]["messages"][2]["content"][0]["tool_use_id"] == calls[0].id
    assert acct.latest_request()["provider_usage"] == expected_usage(api, up["body"])


# -- openai SDK → Gemini ----------------------------------------------------------------------

GEMINI_URL = f"{GEMINI_HOST}/v1beta/models/gemini-2.5-flash:generateContent"


def openai_to_gemini(acct: Account) -> openai.OpenAI:
    return openai.OpenAI(base_url=rewrite_base(acct, "openai", GEMINI_URL), api_key=acct.token(), max_retries=0)


def test_openai_sdk_to_gemini(acct: Account, fake_gateway: GatewayStack) -> None:
    raw = openai_to_gemini(acct).chat.completions.with_raw_response.create(
        model="ignored-the-url-names-it", messages=[{"role": "user", "content": "hi fake-words=5"}], n=2
    )
    done = raw.parse()
    up = upstream(fake_gateway)
    assert up["path"] == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert up["headers"]["x-goog-api-key"] == MANAGED_KEYS["google"]
    assert up["body"]["generationConfig"]["candidateCount"] == 2
    assert done.choices[0].message.content and len(done.choices[0].message.content.split()) == 5
    raw_usage = expected_usage("google.generate_content", up["body"])
    assert done.usage is not None and done.usage.prompt_tokens == raw_usage["input_tokens"]
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="google.generate_content",
        up=up,
        provider="google",
        client="openai",
        endpoint=f"POST {GEMINI_URL}",
    )
    assert rec["model"] == "gemini-2.5-flash"


def test_openai_sdk_to_gemini_stream(acct: Account, fake_gateway: GatewayStack) -> None:
    stream = openai_to_gemini(acct).chat.completions.create(
        model="gemini-2.5-flash",
        messages=[{"role": "user", "content": "stream fake-words=13"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len(text.split()) == 13
    up = upstream(fake_gateway)
    assert up["path"] == "/v1beta/models/gemini-2.5-flash:streamGenerateContent" and up["query"].get("alt") == "sse"
    raw_usage = expected_usage("google.generate_content", up["body"])
    (last,) = [c for c in chunks if c.usage is not None]
    assert last.usage is not None and last.usage.completion_tokens == raw_usage["output_tokens"]
    assert acct.latest_request()["provider_usage"] == raw_usage


@pytest.mark.parametrize("stream", [False, True])
def test_openai_sdk_tool_round_trip_with_gemini(stream: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_to_gemini(acct)
    messages: list[Any] = [{"role": "user", "content": "weather in Lima?"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="gemini-2.5-flash", messages=messages, tools=[OPENAI_TOOL], stream=True
            )
        )
        deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
        call_id, name = deltas[0].id, deltas[0].function.name
        args = "".join(d.function.arguments or "" for d in deltas)
    else:
        msg = (
            client.chat.completions.create(model="gemini-2.5-flash", messages=messages, tools=[OPENAI_TOOL])
            .choices[0]
            .message
        )
        assert msg.tool_calls
        call_id, name, args = (
            msg.tool_calls[0].id,
            msg.tool_calls[0].function.name,
            msg.tool_calls[0].function.arguments,
        )
    assert name == "get_weather" and isinstance(json.loads(args), dict)
    messages += [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": call_id, "type": "function", "function": {"name": name, "arguments": args}}],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"t": 25}'},
    ]
    answer = client.chat.completions.create(model="gemini-2.5-flash", messages=messages, tools=[OPENAI_TOOL])
    assert answer.choices[0].message.content
    up = upstream(fake_gateway)
    assert up["body"]["contents"][2]["parts"][0] == {"functionResponse": {"name": "get_weather", "response": {"t": 25}}}
    assert acct.latest_request()["provider_usage"] == expected_usage("google.generate_content", up["body"])

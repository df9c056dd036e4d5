"""``/v1/rewrite``: official SDKs unchanged against another provider's model, streamed and not.

Each SDK gets the rewrite URL as its base URL and a Lava forward token as its API key. The
fake upstream is the *other* provider; the test checks what the SDK parsed (text, tool calls,
usage in its own fields), what the fake received (its own format, the managed key), and the
request record: billed from the upstream's own usage, with the client format and provider.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

from lava_server.money import to_wire
from lava_server.store.requests import get_request
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import MANAGED_KEYS, Account, GatewayStack
from tests.e2e.ledger_asserts import assert_ledger_consistent
from tests.fakes import expected_usage

fake_gateway = conftest_gateway.fake_gateway

WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
OPENAI_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER}}
ANTHROPIC = "https://api.anthropic.com/v1/messages"
OPENAI = "https://api.openai.com/v1/chat/completions"
GEMINI_HOST = "https://generativelanguage.googleapis.com"


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()


def rewrite_base(acct: Account, fmt: str, provider_url: str) -> str:
    return f"{acct.server.url}/v1/rewrite/{fmt}/{provider_url}"


def upstream(stack: GatewayStack) -> dict[str, Any]:
    last = stack.fake_stats()["last_request"]
    assert last is not None
    return last


def check_record(
    acct: Account, rid: str, *, api: str, up: dict[str, Any], provider: str, client: str, endpoint: str
) -> dict[str, Any]:
    rec = acct.request(rid)
    assert rec["status"] == "completed", rec
    assert rec["provider"] == provider and rec["client_format"] == client
    assert rec["endpoint"] == endpoint
    assert rec["provider_usage"] == expected_usage(api, up["body"]), "billed from the upstream's own usage"
    assert rec["model_usage"]["estimated"] is False
    assert rec["provider_key_type"] == "managed"
    assert Decimal(rec["model_usage"]["total_cost"]) > 0, "priced from the upstream model's usage"
    return rec


# -- openai SDK → Anthropic Messages ---------------------------------------------------------


def openai_to_anthropic(acct: Account) -> openai.OpenAI:
    # the SDK appends /chat/completions to the provider URL; the gateway strips it
    return openai.OpenAI(base_url=rewrite_base(acct, "openai", ANTHROPIC), api_key=acct.token(), max_retries=0)


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


def anthropic_to_openai(acct: Account) -> anthropic.Anthropic:
    # the SDK appends /v1/messages to the provider root
    return anthropic.Anthropic(
        base_url=rewrite_base(acct, "anthropic", "https://api.openai.com"), api_key=acct.token(), max_retries=0
    )


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


# -- refusals and errors -----------------------------------------------------------------------


def test_untranslatable_request_is_refused_before_anything(acct: Account, fake_gateway: GatewayStack) -> None:
    before = fake_gateway.upstream_hits()
    records = len(acct.requests())
    client = openai_to_anthropic(acct)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="claude-x", messages=[{"role": "user", "content": "x"}], n=3)
    body = info.value.response.json()
    assert body["error"]["code"] == "untranslatable_request"
    assert "unsupported_by_target: n" in body["error"]["message"]
    assert fake_gateway.upstream_hits() == before
    assert len(acct.requests()) == records


def test_upstream_errors_come_back_in_the_client_shape(acct: Account, fake_gateway: GatewayStack) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        openai_to_anthropic(acct).chat.completions.create(
            model="error-429", messages=[{"role": "user", "content": "x"}]
        )
    assert info.value.response.json()["error"]["type"] == "rate_limit_error"
    rec = acct.latest_request()
    assert rec["status"] == "error" and rec["client_format"] == "openai"
    with pytest.raises(anthropic.NotFoundError) as err:
        anthropic_to_openai(acct).messages.create(
            model="error-404", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        )
    assert err.value.response.json()["type"] == "error"
    assert err.value.response.json()["error"]["type"] == "not_found_error"


def test_auth_is_forwards(acct: Account, fake_gateway: GatewayStack) -> None:
    r = httpx.post(
        rewrite_base(acct, "openai", ANTHROPIC),
        json={"model": "m", "messages": []},
        headers={"Authorization": "Bearer nope"},
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_forward_token"
    r = httpx.post(
        f"{acct.server.url}/v1/rewrite/cobol/{ANTHROPIC}", json={}, headers={"Authorization": f"Bearer {acct.token()}"}
    )
    assert r.status_code == 404


def test_same_format_is_a_forward(acct: Account, fake_gateway: GatewayStack) -> None:
    raw = openai.OpenAI(
        base_url=rewrite_base(acct, "openai", "https://api.openai.com/v1"), api_key=acct.token(), max_retries=0
    ).chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi fake-words=4"}]
    )
    assert len((raw.parse().choices[0].message.content or "").split()) == 4
    up = upstream(fake_gateway)
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        up=up,
        provider="openai",
        client="openai",
        endpoint=f"POST {OPENAI}",
    )


# -- holds and the ledger ----------------------------------------------------------------------


def quote_hold(acct: Account, url: str, body: dict[str, Any]) -> str:
    r = httpx.post(
        f"{acct.server.api_base}quote",
        json={"url": url, "body": body},
        headers={"Authorization": f"Bearer {acct.token()}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return str(r.json()["hold"])


def test_hold_uses_the_translated_request(acct: Account, fake_gateway: GatewayStack) -> None:
    client_body = {"model": "claude-sonnet-4-5", "messages": [{"role": "user", "content": "no limit given"}]}
    raw = openai_to_anthropic(acct).chat.completions.with_raw_response.create(**client_body)  # type: ignore[call-overload]
    up = upstream(fake_gateway)
    assert up["body"]["max_tokens"] == 4096  # Anthropic needs one: the documented default
    rid = raw.headers["x-lava-request-id"]
    server = acct.server
    rec = server.call(get_request(server.services.db, str(acct.merchant_id), "test", rid))
    assert rec is not None and rec.client_format == "openai"
    translated, untranslated = quote_hold(acct, ANTHROPIC, up["body"]), quote_hold(acct, ANTHROPIC, client_body)
    assert translated != untranslated, "the two bodies imply different worst cases"
    assert to_wire(rec.hold_units) == translated


def test_ledger_checks_out_after_rewrite_calls(acct: Account, fake_gateway: GatewayStack) -> None:
    openai_to_anthropic(acct).chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "x"}]
    )
    anthropic_to_openai(acct).messages.create(
        model="gpt-4o-mini", max_tokens=9, messages=[{"role": "user", "content": "y"}]
    )
    acct.assert_no_pending()
    assert_ledger_consistent(acct.server)


def test_an_error_inside_a_translated_stream_reaches_the_client(acct: Account, fake_gateway: GatewayStack) -> None:
    stream = openai_to_anthropic(acct).chat.completions.create(
        model="error-event-stream", messages=[{"role": "user", "content": "x"}], stream=True
    )
    with pytest.raises(openai.APIError, match="Overloaded"):
        list(stream)
    rec = acct.latest_request()
    assert rec["status"] == "error" and rec["client_format"] == "openai"
    assert rec["total_request_cost"] == "0.0000000000"


def test_a_stream_without_upstream_usage_is_estimated_and_still_well_formed(
    acct: Account, fake_gateway: GatewayStack
) -> None:
    with anthropic_to_openai(acct).messages.stream(
        model="no-usage-stream", max_tokens=50, messages=[{"role": "user", "content": "x"}]
    ) as s:
        final = s.get_final_message()
    assert final.content and final.content[0].type == "text"
    rec = acct.latest_request()
    assert rec["status"] == "completed" and rec["model_usage"]["estimated"] is True


def test_bedrock_converse_client_to_anthropic(acct: Account, fake_gateway: GatewayStack) -> None:
    url = rewrite_base(acct, "bedrock", "https://api.anthropic.com/model/claude-haiku-4-5/converse")
    body = {
        "messages": [{"role": "user", "content": [{"text": "hello fake-words=4"}]}],
        "system": [{"text": "be brief"}],
        "inferenceConfig": {"maxTokens": 64},
    }
    r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {acct.token()}"}, timeout=30)
    assert r.status_code == 200, r.text
    out = r.json()
    assert len(out["output"]["message"]["content"][0]["text"].split()) == 4
    assert out["stopReason"] == "end_turn"
    up = upstream(fake_gateway)
    assert up["body"]["model"] == "claude-haiku-4-5" and up["body"]["max_tokens"] == 64
    raw_usage = expected_usage("anthropic.messages", up["body"])
    assert out["usage"]["inputTokens"] == raw_usage["input_tokens"] and out["usage"]["outputTokens"] == 4
    assert acct.latest_request()["client_format"] == "bedrock"
    bedrock_target = rewrite_base(acct, "openai", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse")
    r = httpx.post(
        bedrock_target, json={"model": "x", "messages": []}, headers={"Authorization": f"Bearer {acct.token()}"}
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "provider_not_configured"


def test_bedrock_converse_stream_client_to_openai(acct: Account, fake_gateway: GatewayStack) -> None:
    from tests.gateway.rewrite.test_bedrock_stream import parse_frames

    url = rewrite_base(acct, "bedrock", "https://api.openai.com/v1/model/gpt-4o-mini/converse-stream")
    body = {"messages": [{"role": "user", "content": [{"text": "stream fake-words=7"}]}]}
    r = httpx.post(url, json=body, headers={"Authorization": f"Bearer {acct.token()}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.amazon.eventstream"
    events = [(h[":event-type"], json.loads(p)) for h, p in parse_frames(r.content)]
    text = "".join(e["delta"].get("text", "") for k, e in events if k == "contentBlockDelta")
    assert len(text.split()) == 7
    up = upstream(fake_gateway)
    assert up["path"] == "/v1/chat/completions" and up["body"]["stream"] is True
    raw_usage = expected_usage("openai.chat_completions", up["body"])
    assert events[-1][0] == "metadata"
    assert events[-1][1]["usage"]["inputTokens"] == raw_usage["input_tokens"]
    assert events[-1][1]["usage"]["outputTokens"] == raw_usage["output_tokens"] == 7
    rec = acct.latest_request()
    assert rec["client_format"] == "bedrock" and rec["provider_usage"] == raw_usage


def test_idempotency_key_does_not_replay_gateway_calls(acct: Account, fake_gateway: GatewayStack) -> None:
    """/v1/rewrite is a gateway call like /v1/forward: an Idempotency-Key is not a REST replay key."""
    url = rewrite_base(acct, "openai", ANTHROPIC)
    body = {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "hi fake-words=2"}]}
    token = acct.token()
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "same-key"}
    first = httpx.post(url, json=body, headers=headers, timeout=30)
    second = httpx.post(url, json=body, headers=headers, timeout=30)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-lava-request-id"] != second.headers["x-lava-request-id"]
    assert "idempotency-key" not in upstream(fake_gateway)["headers"]


def test_the_idempotency_middleware_leaves_rewrite_alone() -> None:
    from aiohttp.test_utils import make_mocked_request

    from lava_server.api.idempotency import covered

    assert not covered(make_mocked_request("POST", "/v1/rewrite/openai/https://api.anthropic.com/v1/messages"))
    assert covered(make_mocked_request("POST", "/v1/requests"))


def test_spend_key_as_the_sdk_api_key(acct: Account, fake_gateway: GatewayStack) -> None:
    """Auth is forward's: a spend key (``lava_sk_``) works as the SDK key, and its allow-list
    names the *upstream* provider."""
    r = httpx.post(
        f"{acct.server.api_base}spend_keys",
        headers=acct.admin_headers,
        json={"name": "agent", "allowed_providers": ["anthropic"]},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    client = openai.OpenAI(base_url=rewrite_base(acct, "openai", ANTHROPIC), api_key=key, max_retries=0)
    done = client.chat.completions.create(model="claude-haiku-4-5", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content
    rec = acct.latest_request()
    assert rec["client_format"] == "openai" and rec["provider"] == "anthropic"
    other = openai.OpenAI(
        base_url=rewrite_base(acct, "openai", "https://api.openai.com/v1"), api_key=key, max_retries=0
    )
    with pytest.raises(openai.PermissionDeniedError) as info:
        other.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert info.value.response.json()["error"]["code"] == "provider_not_allowed"

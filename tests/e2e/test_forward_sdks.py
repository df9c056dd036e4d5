"""The official provider SDKs as clients of the gateway, against the fake upstreams.

Every SDK is pointed at the gateway through both URL styles: the Lava query-style provider URL
(``/v1/forward?u=https://api.openai.com/v1``, which the SDKs mangle into ``/v1/forward/?u=…v1chat/
completions`` or ``…/v1/v1/messages`` and the gateway repairs) and our SDK's ``base_url_for()``.
The forward token is the SDK's ``api_key``; the gateway uses the operator's managed keys.
For each call the request record must carry the usage the fake reported for the request body
the fake actually received, and the right provider, model and endpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types

import lava
from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import MANAGED_KEYS, Account, GatewayStack
from tests.fakes import expected_usage

# the session fixtures shared by the gateway e2e modules, bound here so pytest finds them
fake_gateway = conftest_gateway.fake_gateway

JS_DIR = Path(__file__).parent / "js"
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def acct(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()


def lava_url(acct: Account, provider: str) -> str:
    roots = {
        "openai": "https://api.openai.com/v1",
        "anthropic": "https://api.anthropic.com/v1",
        "google": "https://generativelanguage.googleapis.com",
    }
    return f"{acct.server.url}/v1/forward?u={roots[provider]}"


def sdk_url(acct: Account, provider: str) -> str:
    return lava.Lava(acct.secret_key, base_url=acct.server.api_base).base_url_for(provider)


STYLES = {"lava_url": lava_url, "base_url_for": sdk_url}


def last_upstream(stack: GatewayStack) -> dict[str, Any]:
    last = stack.fake_stats()["last_request"]
    assert last is not None
    return last


def check_record(
    acct: Account,
    rid: str | None,
    *,
    api: str,
    upstream: dict[str, Any],
    provider: str,
    endpoint: str,
    model: str,
    status: str = "completed",
) -> dict[str, Any]:
    rec = acct.request(rid) if rid else acct.latest_request()
    assert rec["status"] == status, rec
    assert rec["provider"] == provider
    assert rec["endpoint"] == endpoint
    assert rec["model"] == model
    assert rec["provider_key_type"] == "managed"
    assert rec["connection_id"] == acct.connection_id
    if status == "completed":
        assert rec["provider_usage"] == expected_usage(api, upstream["body"])
        assert rec["model_usage"]["estimated"] is False
    return rec


def assert_managed_key(upstream: dict[str, Any], header: str, value: str) -> None:
    headers = upstream["headers"]
    assert headers.get(header) == value
    assert not any(v.startswith(("eyJ", "Bearer eyJ")) for v in headers.values()), "the Lava token leaked upstream"


# -- OpenAI (Python) ------------------------------------------------------------------------


def openai_client(acct: Account, style: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=STYLES[style](acct, "openai"), api_key=acct.token(), max_retries=0)


OPENAI_CHAT = "POST https://api.openai.com/v1/chat/completions"


@pytest.mark.parametrize("style", STYLES)
def test_openai_chat_non_stream(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_client(acct, style)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "say hello fake-words=7"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content and completion.usage is not None
    up = last_upstream(fake_gateway)
    assert up["path"] == "/v1/chat/completions"
    assert_managed_key(up, "authorization", f"Bearer {MANAGED_KEYS['openai']}")
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        upstream=up,
        provider="openai",
        endpoint=OPENAI_CHAT,
        model="gpt-4o-mini",
    )
    assert rec["provider_usage"]["output_tokens"] == completion.usage.completion_tokens == 7
    assert rec["response_id"] == completion.id


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_chat_stream(style: str, include_usage: bool, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_client(acct, style)
    extra: dict[str, Any] = {"stream_options": {"include_usage": True}} if include_usage else {}
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "stream please"}], stream=True, **extra
    )
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    usage_chunks = [c for c in chunks if c.usage is not None]
    up = last_upstream(fake_gateway)
    # the gateway always asks upstream for usage ...
    assert up["body"]["stream_options"]["include_usage"] is True
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        upstream=up,
        provider="openai",
        endpoint=OPENAI_CHAT,
        model="gpt-4o-mini",
    )
    # ... but the client sees a usage chunk only when it asked for one
    if include_usage:
        assert len(usage_chunks) == 1 and usage_chunks[0].choices == []
        assert usage_chunks[0].usage.total_tokens == rec["provider_usage"]["total_tokens"]
    else:
        assert usage_chunks == []
        assert all(c.choices for c in chunks)


@pytest.mark.parametrize("style", STYLES)
def test_openai_tool_call(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_client(acct, style)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4.1", messages=[{"role": "user", "content": "weather in Paris?"}], tools=[WEATHER_TOOL]
    )
    msg = raw.parse().choices[0].message
    assert msg.tool_calls and msg.tool_calls[0].function.name == "get_weather"
    json.loads(msg.tool_calls[0].function.arguments)
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.chat_completions",
        upstream=last_upstream(fake_gateway),
        provider="openai",
        endpoint=OPENAI_CHAT,
        model="gpt-4.1",
    )


@pytest.mark.parametrize("style", STYLES)
def test_openai_responses_stream(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_client(acct, style)
    raw = client.responses.with_raw_response.create(model="gpt-4.1-mini", input="write a line", stream=True)
    events = list(raw.parse())
    done = [e for e in events if e.type == "response.completed"]
    assert len(done) == 1 and done[0].response.usage is not None
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.responses",
        upstream=last_upstream(fake_gateway),
        provider="openai",
        endpoint="POST https://api.openai.com/v1/responses",
        model="gpt-4.1-mini",
    )
    assert rec["provider_usage"]["total_tokens"] == done[0].response.usage.total_tokens
    assert rec["response_id"] == done[0].response.id


@pytest.mark.parametrize("style", STYLES)
def test_openai_embeddings(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = openai_client(acct, style)
    raw = client.embeddings.with_raw_response.create(model="text-embedding-3-small", input=["one two", "three"])
    result = raw.parse()
    assert len(result.data) == 2
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="openai.embeddings",
        upstream=last_upstream(fake_gateway),
        provider="openai",
        endpoint="POST https://api.openai.com/v1/embeddings",
        model="text-embedding-3-small",
    )
    assert rec["model_usage"]["input_tokens"] == result.usage.prompt_tokens > 0


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize(
    ("model", "exc_type"), [("error-401", openai.AuthenticationError), ("error-429", openai.RateLimitError)]
)
def test_openai_upstream_errors_pass_through(
    style: str,
    model: str,
    exc_type: type[openai.APIStatusError],
    acct: Account,
    fake_gateway: GatewayStack,
) -> None:
    client = openai_client(acct, style)
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    with pytest.raises(exc_type) as info:
        client.chat.completions.create(**body)  # type: ignore[call-overload]
    direct = httpx.post(
        f"{fake_gateway.upstream.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {MANAGED_KEYS['openai']}"},
    )
    err = info.value
    assert err.status_code == direct.status_code == int(model.split("-")[1])
    assert err.response.content == direct.content, "the provider's error body must pass through unchanged"
    assert err.body == direct.json()["error"]
    rid = err.response.headers["x-lava-request-id"]
    rec = acct.request(rid)
    assert rec["status"] == "error" and rec["model"] == model
    assert rec["total_request_cost"] == "0.0000000000"


# -- Anthropic (Python) --------------------------------------------------------------------


def anthropic_client(acct: Account, style: str) -> anthropic.Anthropic:
    base = STYLES[style](acct, "anthropic")
    return anthropic.Anthropic(base_url=base, api_key=acct.token(), max_retries=0)


ANTHROPIC_MESSAGES = "POST https://api.anthropic.com/v1/messages"
CLAUDE = "claude-sonnet-5"


@pytest.mark.parametrize("style", STYLES)
def test_anthropic_messages_create(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_client(acct, style)
    raw = client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=200, messages=[{"role": "user", "content": "hello fake-words=9"}]
    )
    msg = raw.parse()
    up = last_upstream(fake_gateway)
    assert up["path"] == "/v1/messages"  # the SDK's /v1/v1/messages was repaired
    assert_managed_key(up, "x-api-key", MANAGED_KEYS["anthropic"])
    assert "authorization" not in up["headers"]
    rec = check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="anthropic.messages",
        upstream=up,
        provider="anthropic",
        endpoint=ANTHROPIC_MESSAGES,
        model=CLAUDE,
    )
    assert rec["provider_usage"]["output_tokens"] == msg.usage.output_tokens == 9
    assert rec["response_id"] == msg.id


@pytest.mark.parametrize("style", STYLES)
def test_anthropic_stream_with_cache_tokens(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_client(acct, style)
    system = [
        {"type": "text", "text": "You are a long cached system prompt " * 20, "cache_control": {"type": "ephemeral"}}
    ]
    with client.messages.stream(
        model=CLAUDE, max_tokens=300, system=system, messages=[{"role": "user", "content": "tell me"}]
    ) as stream:
        rid = stream.response.headers["x-lava-request-id"]
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens and final.usage.cache_read_input_tokens > 0
    rec = check_record(
        acct,
        rid,
        api="anthropic.messages",
        upstream=last_upstream(fake_gateway),
        provider="anthropic",
        endpoint=ANTHROPIC_MESSAGES,
        model=CLAUDE,
    )
    assert rec["provider_usage"]["cached_input_tokens"] == final.usage.cache_read_input_tokens
    usage = rec["model_usage"]
    # docs/design.md "Normalised usage": Anthropic input excludes cache reads and writes, the record adds them
    assert usage["input_tokens"] == (
        final.usage.input_tokens + final.usage.cache_read_input_tokens + (final.usage.cache_creation_input_tokens or 0)
    )
    assert usage["cached_input_tokens"] == final.usage.cache_read_input_tokens
    assert usage["output_tokens"] == final.usage.output_tokens


@pytest.mark.parametrize("style", STYLES)
def test_anthropic_tool_use(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_client(acct, style)
    tool = {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    raw = client.messages.with_raw_response.create(
        model=CLAUDE, max_tokens=200, tools=[tool], messages=[{"role": "user", "content": "weather in Oslo"}]
    )
    msg = raw.parse()
    assert msg.stop_reason == "tool_use" and any(b.type == "tool_use" for b in msg.content)
    check_record(
        acct,
        raw.headers["x-lava-request-id"],
        api="anthropic.messages",
        upstream=last_upstream(fake_gateway),
        provider="anthropic",
        endpoint=ANTHROPIC_MESSAGES,
        model=CLAUDE,
    )


@pytest.mark.parametrize("style", STYLES)
def test_anthropic_error(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = anthropic_client(acct, style)
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model="error-429", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    err = info.value
    assert err.status_code == 429
    assert (
        isinstance(err.body, dict) and err.body["type"] == "error" and err.body["error"]["type"] == "rate_limit_error"
    )
    rec = acct.request(err.response.headers["x-lava-request-id"])
    assert rec["status"] == "error" and rec["endpoint"] == ANTHROPIC_MESSAGES


# -- Google Gemini (google-genai) -----------------------------------------------------------


def genai_client(acct: Account, style: str) -> genai.Client:
    return genai.Client(api_key=acct.token(), http_options=types.HttpOptions(base_url=STYLES[style](acct, "google")))


GEMINI = "gemini-2.5-flash"


def gemini_endpoint(up: dict[str, Any], suffix: str = "") -> str:
    return f"POST https://generativelanguage.googleapis.com{up['path']}{suffix}"


@pytest.mark.parametrize("style", STYLES)
def test_gemini_generate_content(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = genai_client(acct, style)
    resp = client.models.generate_content(model=GEMINI, contents="hello there fake-words=5")
    assert resp.text and resp.usage_metadata is not None
    up = last_upstream(fake_gateway)
    assert up["path"].endswith(f"/models/{GEMINI}:generateContent")
    assert_managed_key(up, "x-goog-api-key", MANAGED_KEYS["google"])
    assert "key" not in up["query"]
    rid = resp.sdk_http_response.headers.get("x-lava-request-id") if resp.sdk_http_response else None
    assert rid
    rec = check_record(
        acct, rid, api="google", upstream=up, provider="google", endpoint=gemini_endpoint(up), model=GEMINI
    )
    assert rec["provider_usage"]["total_tokens"] == resp.usage_metadata.total_token_count


@pytest.mark.parametrize("style", STYLES)
def test_gemini_generate_content_stream(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = genai_client(acct, style)
    chunks = list(client.models.generate_content_stream(model=GEMINI, contents="stream fake-words=20"))
    assert len(chunks) > 1
    final = chunks[-1].usage_metadata
    assert final is not None
    up = last_upstream(fake_gateway)
    assert up["query"].get("alt") == "sse"
    rec = check_record(
        acct,
        None,
        api="google",
        upstream=up,
        provider="google",
        endpoint=gemini_endpoint(up, "?alt=sse"),
        model=GEMINI,
    )
    assert rec["provider_usage"]["output_tokens"] == final.candidates_token_count == 20


@pytest.mark.parametrize("style", STYLES)
def test_gemini_function_call(style: str, acct: Account, fake_gateway: GatewayStack) -> None:
    client = genai_client(acct, style)
    decl = types.FunctionDeclaration(
        name="get_weather",
        description="Weather for a city",
        parameters=types.Schema(type="OBJECT", properties={"city": types.Schema(type="STRING")}, required=["city"]),
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[decl])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    resp = client.models.generate_content(model=GEMINI, contents="weather in Rome?", config=config)
    assert resp.function_calls and resp.function_calls[0].name == "get_weather"
    up = last_upstream(fake_gateway)
    check_record(acct, None, api="google", upstream=up, provider="google", endpoint=gemini_endpoint(up), model=GEMINI)


# -- OpenAI JS SDK ---------------------------------------------------------------------------


def _node_ready() -> None:
    assert shutil.which("node") and shutil.which("npm"), "node and npm are required for @pytest.mark.node tests"
    if not (JS_DIR / "node_modules" / "openai").exists():
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True, capture_output=True, timeout=180
        )


@pytest.mark.node
def test_openai_js_sdk_through_gateway(acct: Account, fake_gateway: GatewayStack) -> None:
    _node_ready()
    env = {**os.environ, "LAVA_OPENAI_URL": lava_url(acct, "openai"), "LAVA_TOKEN": acct.token()}
    done = subprocess.run(
        ["node", "openai_forward.mjs"], cwd=JS_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    sent = fake_gateway.fake_requests()[-2:]
    assert [r["path"] for r in sent] == ["/v1/chat/completions", "/v1/chat/completions"]

    plain = acct.request(out["plain"]["request_id"])
    assert plain["status"] == "completed" and plain["endpoint"] == OPENAI_CHAT
    assert plain["provider_usage"] == expected_usage("openai.chat_completions", sent[0]["body"])
    assert plain["provider_usage"]["output_tokens"] == out["plain"]["usage"]["completion_tokens"]

    streamed = acct.request(out["stream"]["request_id"])
    assert streamed["status"] == "completed"
    assert streamed["provider_usage"] == expected_usage("openai.chat_completions", sent[1]["body"])
    assert out["stream"]["text"] and out["stream"]["usage_chunks"] == 0  # not asked for, so not shown
    assert out["stream"]["raw_request_line"].startswith("/v1/forward?u=https%3A%2F%2Fapi.openai.com%2Fv1%2Fchat")

"""Any request body, however malformed, translates or is refused by name: never a crash (a 500)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lava_server.gateway.rewrite import ClientRoute, Format, Untranslatable, translation
from tests.gateway.rewrite.test_requests import OPENAI_CONVERSATION, PNG, WEATHER

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
BASES: dict[Format, dict[str, Any]] = {
    "openai": OPENAI_CONVERSATION,
    "anthropic": {
        "model": "m",
        "max_tokens": 10,
        "system": [{"type": "text", "text": "s"}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}],
            },
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]},
        ],
        "tools": [{"name": "f", "input_schema": WEATHER}],
        "tool_choice": {"type": "auto"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
    },
    "google": {
        "contents": [
            {"role": "user", "parts": [{"text": "x"}, {"inlineData": {"mimeType": "image/png", "data": PNG}}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"a": 1}}}]},
        ],
        "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT"}}]}],
        "generationConfig": {"maxOutputTokens": 5, "responseMimeType": "application/json"},
    },
    "bedrock": {
        "messages": [{"role": "user", "content": [{"text": "x"}]}],
        "inferenceConfig": {"maxTokens": 5},
        "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": WEATHER}}}]},
    },
}


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Format, dict[str, Any]]:
    client: Format = draw(st.sampled_from(list(BASES)))
    body = copy.deepcopy(BASES[client])
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _paths(body) if p]
        path = draw(st.sampled_from(paths))
        parent = body
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = draw(JSON)
    return client, body


BAD_SCHEMA = {
    "messages": [{"role": "user", "content": [{"text": "x"}]}],
    "toolConfig": {"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": [[None, None]]}}}]},
}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(case=("bedrock", BAD_SCHEMA), provider="openai", stream=False)  # a schema that is a list of pairs
@given(case=mutated(), provider=st.sampled_from(["openai", "anthropic", "google"]), stream=st.booleans())
def test_malformed_requests_never_crash(case: tuple[Format, dict[str, Any]], provider: Format, stream: bool) -> None:
    client, body = case
    if client == provider:
        return
    route = ClientRoute(model="m", stream=stream)
    try:
        prepared = translation(client, provider).request(body, route, "", "", provider)
    except Untranslatable as exc:
        assert exc.feature
    else:
        assert isinstance(prepared.body_bytes, bytes)


EVENT = st.one_of(
    st.just("[DONE]"),
    JSON.map(lambda v: json.dumps(v)),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["message_start", "content_block_start", "content_block_delta", "message_delta"])},
        optional={"index": JSON, "delta": JSON, "content_block": JSON, "message": JSON, "usage": JSON},
    ).map(lambda v: json.dumps(v)),
    st.fixed_dictionaries(
        {}, optional={"choices": JSON, "usage": JSON, "candidates": JSON, "usageMetadata": JSON, "error": JSON}
    ).map(lambda v: json.dumps(v)),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    provider=st.sampled_from(["openai", "anthropic", "google"]),
    client=st.sampled_from(["openai", "anthropic", "google", "bedrock"]),
    events=st.lists(EVENT, max_size=8),
)
def test_malformed_upstream_events_never_crash(provider: Format, client: Format, events: list[str]) -> None:
    from lava_server.gateway.rewrite import ProviderRoute
    from lava_server.gateway.rewrite.ir import ChatRequest, Message, Text
    from lava_server.gateway.rewrite.translate import PreparedRequest

    if client == provider:
        return
    request = ChatRequest(model="m", messages=(Message("user", (Text("x"),)),), stream=True, stream_usage=True)
    prepared = PreparedRequest(request, ProviderRoute("/", "", provider), {})
    stream = translation(client, provider).stream(prepared, ClientRoute(stream=True))
    out = b"".join(stream.feed(None, data) for data in events) + stream.finish()
    assert isinstance(out, bytes) and stream.finish() == b""


@settings(max_examples=200, deadline=None)
@given(
    provider=st.sampled_from(["openai", "anthropic", "google"]),
    body=st.dictionaries(
        st.sampled_from(["choices", "content", "candidates", "usage", "usageMetadata", "stop_reason", "id", "model"]),
        JSON,
    ),
)
def test_malformed_upstream_answers_are_translated_or_refused(provider: Format, body: dict[str, Any]) -> None:
    from lava_server.gateway.rewrite import ProviderRoute
    from lava_server.gateway.rewrite.ir import ChatRequest, Message, Text
    from lava_server.gateway.rewrite.translate import PreparedRequest

    client: Format = "anthropic" if provider != "anthropic" else "openai"
    request = ChatRequest(model="m", messages=(Message("user", (Text("x"),)),))
    prepared = PreparedRequest(request, ProviderRoute("/", "", provider), {})
    try:
        translation(client, provider).response(body, prepared, ClientRoute())
    except ValueError as exc:
        assert "could not be translated" in str(exc)

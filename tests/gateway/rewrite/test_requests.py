"""Request translation, feature by feature, and refusals that name the feature."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lava_server.gateway.rewrite import ClientRoute, Format, Untranslatable, translation
from lava_server.gateway.rewrite.translate import PreparedRequest
from tests.gateway.rewrite import samples

PNG = "iVBORw0KGgo="
WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def prep(
    client: Format, provider: Format, body: dict[str, Any], route: ClientRoute | None = None, path: str = ""
) -> PreparedRequest:
    slug = {"openai": "openai", "anthropic": "anthropic", "google": "google"}[provider]
    return translation(client, provider).request(body, route or ClientRoute(), path, "", slug)


def refused(client: Format, provider: Format, body: dict[str, Any], route: ClientRoute | None = None) -> str:
    with pytest.raises(Untranslatable) as info:
        prep(client, provider, body, route)
    return info.value.feature


OPENAI_CONVERSATION: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ],
    "tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER}}
    ],
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
    "parallel_tool_calls": False,
    "max_completion_tokens": 300,
    "temperature": 0.5,
    "top_p": 0.9,
    "stop": ["END"],
    "user": "u-1",
}


def test_openai_to_anthropic_keeps_every_feature() -> None:
    body = prep("openai", "anthropic", OPENAI_CONVERSATION).body
    assert body["system"] == "Be brief."
    assert body["max_tokens"] == 300 and body["temperature"] == 0.5 and body["top_p"] == 0.9
    assert body["stop_sequences"] == ["END"]
    assert body["tools"] == [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}]
    assert body["tool_choice"] == {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}
    user, assistant, result = body["messages"][:3]
    assert user["content"][1] == {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}}
    assert user["content"][2] == {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}}
    assert assistant["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
    ]
    # the tool result and the next user text share one user turn, the result first
    assert result["role"] == "user"
    assert result["content"][0] == {
        "type": "tool_result",
        "tool_use_id": "call_1",
        "content": [{"type": "text", "text": "sunny"}],
    }
    assert result["content"][1] == {"type": "text", "text": "Thanks. And tomorrow?"}
    assert len(body["messages"]) == 3
    assert "user" not in body


def test_openai_to_gemini_keeps_every_feature() -> None:
    conv = {**OPENAI_CONVERSATION, "parallel_tool_calls": None, "n": 2, "seed": 7}
    p = prep("openai", "google", conv, path="/v1beta")
    assert p.route.path == "/v1beta/models/claude-sonnet-4-5:generateContent"
    body = p.body
    assert body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    config = body["generationConfig"]
    assert config == {
        "maxOutputTokens": 300,
        "temperature": 0.5,
        "topP": 0.9,
        "candidateCount": 2,
        "seed": 7,
        "stopSequences": ["END"],
    }
    assert body["tools"] == [
        {"functionDeclarations": [{"name": "get_weather", "description": "Weather", "parametersJsonSchema": WEATHER}]}
    ]
    assert body["toolConfig"] == {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}}
    user, model, result, follow = body["contents"]
    assert user["parts"][1] == {"inlineData": {"mimeType": "image/png", "data": PNG}}
    assert user["parts"][2] == {"fileData": {"mimeType": "image/jpeg", "fileUri": "https://example.com/cat.jpg"}}
    assert model == {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]}
    assert result["parts"] == [{"functionResponse": {"name": "get_weather", "response": {"result": "sunny"}}}]
    assert follow["parts"] == [{"text": "Thanks. And tomorrow?"}]


def test_openai_stream_to_gemini_uses_the_sse_stream_endpoint() -> None:
    p = prep(
        "openai",
        "google",
        {**OPENAI_CONVERSATION, "stream": True, "parallel_tool_calls": None},
        path="/v1beta/models/gemini-2.5-flash:generateContent",
    )
    assert p.route.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    assert p.route.query == "alt=sse"


def test_json_mode_and_schemas() -> None:
    schema_fmt = {"type": "json_schema", "json_schema": {"name": "Dog", "schema": WEATHER}}
    base = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert prep("openai", "anthropic", {**base, "response_format": schema_fmt}).body["output_config"] == {
        "format": {"type": "json_schema", "schema": WEATHER}
    }
    gem = prep("openai", "google", {**base, "response_format": schema_fmt}).body["generationConfig"]
    assert gem == {"responseMimeType": "application/json", "responseJsonSchema": WEATHER}
    gem = prep("openai", "google", {**base, "response_format": {"type": "json_object"}}).body["generationConfig"]
    assert gem == {"responseMimeType": "application/json"}
    assert (
        refused("openai", "anthropic", {**base, "response_format": {"type": "json_object"}})
        == "response_format.type=json_object"
    )
    # Anthropic's schema back to OpenAI
    anth = {
        "model": "m",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": "hi"}],
        "output_config": {"format": {"type": "json_schema", "schema": WEATHER}},
    }
    assert prep("anthropic", "openai", anth).body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "response", "schema": WEATHER},
    }


def test_anthropic_to_openai() -> None:
    body = prep(
        "anthropic",
        "openai",
        {
            "model": "gpt-4o",
            "max_tokens": 100,
            "system": [
                {"type": "text", "text": "A"},
                {"type": "text", "text": "B", "cache_control": {"type": "ephemeral"}},
            ],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
                        {"type": "text", "text": "hi"},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hmm", "signature": "s"},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "rain", "is_error": True}],
                },
            ],
            "tools": [{"name": "get_weather", "input_schema": WEATHER}],
            "tool_choice": {"type": "any"},
            "stop_sequences": ["X"],
            "thinking": {"type": "enabled", "budget_tokens": 4000},
            "metadata": {"user_id": "u"},
            "stream": True,
        },
    ).body
    assert body["messages"][0] == {"role": "system", "content": "A\n\nB"}
    assert body["messages"][1]["content"][0] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{PNG}"},
    }
    assert body["messages"][2] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "toolu_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'}}
        ],
    }
    assert body["messages"][3] == {"role": "tool", "tool_call_id": "toolu_1", "content": "[tool error] rain"}
    assert body["max_completion_tokens"] == 100 and body["stop"] == ["X"] and body["tool_choice"] == "required"
    assert body["reasoning_effort"] == "medium"
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_gemini_client_to_openai_matches_responses_to_calls() -> None:
    p = prep(
        "google",
        "openai",
        {
            "contents": [
                {"role": "user", "parts": [{"text": "weather?"}]},
                {
                    "role": "model",
                    "parts": [
                        {"functionCall": {"name": "get_weather", "args": {"city": "Rome"}}},
                        {"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}},
                    ],
                },
                {
                    "role": "user",
                    "parts": [
                        {"functionResponse": {"name": "get_weather", "response": {"t": 20}}},
                        {"functionResponse": {"name": "get_weather", "response": {"t": 5}}},
                    ],
                },
            ],
            "systemInstruction": {"parts": [{"text": "sys"}]},
            "tools": [
                {
                    "functionDeclarations": [
                        {
                            "name": "get_weather",
                            "parameters": {
                                "type": "OBJECT",
                                "properties": {"city": {"type": "STRING", "nullable": True}},
                            },
                        }
                    ]
                }
            ],
            "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
            "generationConfig": {
                "maxOutputTokens": 50,
                "stopSequences": ["Z"],
                "candidateCount": 2,
                "thinkingConfig": {"thinkingBudget": 20000},
            },
        },
        ClientRoute(model="gpt-4o"),
    )
    body = p.body
    assert body["model"] == "gpt-4o" and body["n"] == 2 and body["reasoning_effort"] == "high"
    calls = body["messages"][2]["tool_calls"]
    assert [c["id"] for c in calls] == ["call_0", "call_1"]
    assert [m["tool_call_id"] for m in body["messages"][3:5]] == ["call_0", "call_1"]
    assert json.loads(body["messages"][4]["content"]) == {"t": 5}
    params = body["tools"][0]["function"]["parameters"]
    assert params == {"type": "object", "properties": {"city": {"type": ["string", "null"]}}}


@pytest.mark.parametrize(
    ("client", "provider", "body", "feature"),
    [
        ("openai", "anthropic", {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 3}, "n"),
        (
            "openai",
            "anthropic",
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True},
            "logprobs",
        ),
        ("openai", "anthropic", {"model": "m", "messages": [{"role": "user", "content": "x"}], "seed": 1}, "seed"),
        (
            "openai",
            "google",
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "audio": {"voice": "x"}},
            "audio",
        ),
        (
            "openai",
            "google",
            {"model": "m", "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
            "messages[0].content[0].type=input_audio",
        ),
        (
            "openai",
            "google",
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "web_search"}]},
            "tools[0].type=web_search",
        ),
        (
            "openai",
            "google",
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "parallel_tool_calls": False},
            "parallel_tool_calls",
        ),
        (
            "anthropic",
            "openai",
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}], "top_k": 5},
            "top_k",
        ),
        (
            "anthropic",
            "openai",
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": "x"}],
                "tools": [{"type": "web_search_20250305", "name": "web_search"}],
            },
            "tools[0].type=web_search_20250305",
        ),
        (
            "anthropic",
            "google",
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [{"role": "user", "content": [{"type": "document", "source": {}}]}],
            },
            "messages[0].content[0].type=document",
        ),
        (
            "google",
            "openai",
            {"contents": [{"parts": [{"text": "x"}]}], "tools": [{"googleSearch": {}}]},
            "tools[0].googleSearch",
        ),
        ("google", "anthropic", {"contents": [{"parts": [{"text": "x"}]}], "cachedContent": "c/1"}, "cachedContent"),
        (
            "openai",
            "anthropic",
            {"model": "m", "messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "late"}]},
            "messages[1].role=system",
        ),
        (
            "openai",
            "anthropic",
            {"model": "m", "messages": [{"role": "assistant", "content": "x", "audio": {"id": "a1"}}]},
            "messages[0].audio",
        ),
        (
            "anthropic",
            "google",
            {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x", "cache": True}]},
            "messages[0].cache",
        ),
    ],
)
def test_untranslatable_features_are_named(
    client: Format, provider: Format, body: dict[str, Any], feature: str
) -> None:
    route = ClientRoute(model="gemini-x") if client == "google" else None
    assert refused(client, provider, body, route) == feature


def test_streamed_n_is_refused() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 2, "stream": True}
    assert refused("openai", "google", body) == "n"


def test_bedrock_client_converse() -> None:
    converse = {
        "messages": [
            {"role": "user", "content": [{"text": "hi"}, {"image": {"format": "png", "source": {"bytes": PNG}}}]},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Lima"}}}],
            },
            {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"json": {"t": 1}}]}}]},
        ],
        "system": [{"text": "sys"}],
        "inferenceConfig": {"maxTokens": 64, "temperature": 0.1, "stopSequences": ["S"]},
        "toolConfig": {
            "tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": WEATHER}}}],
            "toolChoice": {"auto": {}},
        },
    }
    body = prep("bedrock", "anthropic", converse, ClientRoute(model="claude-x")).body
    assert body["model"] == "claude-x" and body["max_tokens"] == 64 and body["system"] == "sys"
    assert body["messages"][2]["content"][0]["tool_use_id"] == "t1"
    streamed = prep("bedrock", "openai", converse, ClientRoute(model="gpt-x", stream=True))
    assert streamed.body["stream"] is True and streamed.body["stream_options"] == {"include_usage": True}


@pytest.mark.parametrize("row", [r for r in samples.rows() if r["request_file"]], ids=lambda r: r["id"])
def test_recorded_requests_translate_or_name_what_they_cannot(row: dict[str, Any]) -> None:
    client = samples.API_FORMAT[row["api"]]
    body = samples.request_of(row)
    assert body is not None
    route = ClientRoute(model=row["model"], stream=row["stream"]) if client == "google" else ClientRoute()
    for provider in ("openai", "anthropic", "google"):
        if provider == client:
            continue
        try:
            out = prep(client, provider, body, route)  # type: ignore[arg-type]
        except Untranslatable as exc:
            assert exc.feature and str(exc)
        else:
            assert json.loads(out.body_bytes) == out.body

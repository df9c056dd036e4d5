"""Gemini / Vertex dialects: generateContent, streams (SSE and JSON array), embeddings, countTokens."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lava_server.gateway.dialects import (
    GEMINI_COUNT_TOKENS,
    GEMINI_EMBEDDINGS,
    GEMINI_GENERATE,
    GEMINI_PREDICT,
    GEMINI_STREAM_GENERATE,
    select_dialect,
)
from lava_server.gateway.dialects import gemini as gemini_module
from lava_server.gateway.dialects._base import load_json
from lava_server.gateway.dialects.gemini import model_from_path
from lava_server.gateway.providers import Provider, provider_for_host
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Metered, Usage


def registered(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None, host
    return found


GOOGLE = registered("generativelanguage.googleapis.com")
VERTEX = registered("aiplatform.googleapis.com")
JSON = "application/json; charset=UTF-8"


def chunk(text: str, **usage: int) -> dict[str, Any]:
    return {
        "candidates": [{"content": {"parts": [{"text": text}], "role": "model"}}],
        "usageMetadata": usage,
        "modelVersion": "gemini-3.6-flash",
        "responseId": "r1",
    }


@pytest.mark.parametrize(
    ("path", "model"),
    [
        ("/v1beta/models/gemini-2.5-flash:generateContent", "gemini-2.5-flash"),
        ("/v1beta/models/gemini-flash-latest:streamGenerateContent", "gemini-flash-latest"),
        (
            "/v1beta1/projects/p/locations/global/publishers/google/models/gemini-3-flash-preview:generateContent",
            "gemini-3-flash-preview",
        ),
        ("/v1beta/tunedModels/my-tune-123:generateContent", "tunedModels/my-tune-123"),
        ("/v1beta/models", None),
    ],
)
def test_model_from_path(path: str, model: str | None) -> None:
    assert model_from_path(path) == model
    assert GEMINI_GENERATE.request_model(path, {"contents": []}) == model


def test_routing() -> None:
    base = "/v1beta/models/m"
    assert select_dialect(GOOGLE, "POST", base + ":generateContent") is GEMINI_GENERATE
    assert select_dialect(GOOGLE, "POST", base + ":streamGenerateContent") is GEMINI_STREAM_GENERATE
    assert select_dialect(GOOGLE, "POST", base + ":embedContent") is GEMINI_EMBEDDINGS
    assert select_dialect(GOOGLE, "POST", base + ":batchEmbedContents") is GEMINI_EMBEDDINGS
    assert select_dialect(VERTEX, "POST", "/v1/projects/p/locations/l/publishers/google/models/m:predict") is (
        GEMINI_PREDICT
    )
    count = select_dialect(GOOGLE, "POST", base + ":countTokens")
    assert count is GEMINI_COUNT_TOKENS and not count.billable
    assert count.request_model(base + ":countTokens", None) == "m"
    chat = select_dialect(GOOGLE, "POST", "/v1beta/openai/chat/completions")
    assert chat is not None and chat.name == "openai.chat_completions"
    assert select_dialect(GOOGLE, "GET", base) is None


def test_wants_stream_by_method_name() -> None:
    assert GEMINI_STREAM_GENERATE.wants_stream("/v1beta/models/m:streamGenerateContent", "alt=sse", None)
    assert GEMINI_STREAM_GENERATE.wants_stream("/v1beta/models/m:streamGenerateContent", "", None)
    assert not GEMINI_GENERATE.wants_stream("/v1beta/models/m:generateContent", "", {"stream": True})


def test_generate_content_arithmetic() -> None:
    usage = {
        "promptTokenCount": 345,
        "cachedContentTokenCount": 191,
        "candidatesTokenCount": 70,
        "thoughtsTokenCount": 98,
        "toolUsePromptTokenCount": 119,
        "totalTokenCount": 345 + 70 + 98 + 119,
    }
    body = json.dumps(chunk("hi", **usage)).encode()
    metered = GEMINI_GENERATE.meter_body(200, JSON, body, None, GOOGLE)
    assert metered.reported is not None
    assert metered.reported.as_dict() == {
        "input_tokens": 345,
        "output_tokens": 70,
        "cached_input_tokens": 191,
        "cache_creation_input_tokens": None,
        "reasoning_tokens": 98,
        "total_tokens": 632,
    }
    assert metered.usage == Usage(input_tokens=464, output_tokens=168, cached_input_tokens=191, reasoning_tokens=98)
    assert metered.usage.total_tokens == 632
    assert (metered.model, metered.response_id) == ("gemini-3.6-flash", "r1")


def test_missing_candidates_count() -> None:
    body = json.dumps(chunk("", promptTokenCount=440, thoughtsTokenCount=27, totalTokenCount=467)).encode()
    metered = GEMINI_GENERATE.meter_body(200, JSON, body, None, GOOGLE)
    assert metered.reported is not None and metered.reported.output_tokens is None
    assert metered.usage == Usage(input_tokens=440, output_tokens=27, reasoning_tokens=27)


def test_blocked_prompt_without_usage() -> None:
    body = json.dumps(
        {"promptFeedback": {"blockReason": "MODEL_ARMOR"}, "usageMetadata": {"trafficType": "ON_DEMAND"}}
    ).encode()
    metered = GEMINI_GENERATE.meter_body(200, JSON, body, None, VERTEX)
    assert metered.usage is None and metered.reported is None
    assert metered.error == "prompt blocked: MODEL_ARMOR"


def test_json_array_stream_takes_last_element_with_usage() -> None:
    items = [
        chunk("a", promptTokenCount=84, totalTokenCount=84),
        chunk("b", promptTokenCount=84, candidatesTokenCount=48, totalTokenCount=132),
        chunk("c", promptTokenCount=84, candidatesTokenCount=49, totalTokenCount=133),
        {"candidates": [{"finishReason": "STOP"}]},
    ]
    metered = GEMINI_STREAM_GENERATE.meter_body(200, JSON, json.dumps(items).encode(), None, GOOGLE)
    assert metered.usage == Usage(input_tokens=84, output_tokens=49)  # 133 total, not 84+132+133


def test_json_array_with_error_element() -> None:
    items = [chunk("a", promptTokenCount=5, totalTokenCount=5), {"error": {"code": 500, "message": "internal"}}]
    metered = GEMINI_STREAM_GENERATE.meter_body(200, JSON, json.dumps(items).encode(), None, GOOGLE)
    assert metered.error == "internal" and metered.usage is not None


def run(body: bytes) -> Metered:
    parser = SseParser()
    meter = GEMINI_STREAM_GENERATE.stream_meter(GOOGLE, None, False)
    for e in (*parser.feed(body), *parser.flush()):
        assert meter.feed(e)
    return meter.finish()


def sse(*items: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(i).encode() + b"\r\n\r\n" for i in items)


def test_sse_stream_last_cumulative_usage_wins() -> None:
    body = sse(
        chunk("a", promptTokenCount=18, totalTokenCount=18),
        chunk("b", promptTokenCount=18, candidatesTokenCount=40, thoughtsTokenCount=35, totalTokenCount=93),
        chunk("c", promptTokenCount=18, candidatesTokenCount=80, thoughtsTokenCount=35, totalTokenCount=133),
    )
    metered = run(body)
    assert metered.usage == Usage(input_tokens=18, output_tokens=115, reasoning_tokens=35)
    assert (metered.model, metered.response_id, metered.error) == ("gemini-3.6-flash", "r1", None)


def test_sse_stream_parses_first_and_last_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = load_json

    def counting(data: bytes) -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(gemini_module, "load_json", counting)
    items = [chunk(f"t{i}", promptTokenCount=5, candidatesTokenCount=i, totalTokenCount=5 + i) for i in range(100)]
    metered = run(sse(*items))
    assert metered.usage is not None and metered.usage.output_tokens == 99
    assert calls == 2


def test_sse_stream_error_chunk() -> None:
    metered = run(sse(chunk("a", promptTokenCount=5), {"error": {"code": 503, "message": "overloaded"}}))
    assert metered.error == "overloaded"
    assert metered.usage is not None and metered.usage.input_tokens == 5


def test_sse_stream_without_usage() -> None:
    metered = run(sse({"candidates": [], "modelVersion": "m", "responseId": "x"}))
    assert metered.usage is None and metered.model == "m" and metered.response_id == "x"


def test_embeddings_usage_metadata() -> None:
    body = b'{"embeddings": [{"values": [0.1]}], "usageMetadata": {"promptTokenCount": 4}}'
    metered = GEMINI_EMBEDDINGS.meter_body(200, JSON, body, None, GOOGLE)
    assert metered.reported is not None and metered.reported.input_tokens == 4
    assert metered.reported.total_tokens is None
    assert metered.usage == Usage(input_tokens=4)


def test_embeddings_without_usage() -> None:
    body = b'{"embeddings": [{"values": [0.1]}, {"values": [0.2]}]}'
    metered = GEMINI_EMBEDDINGS.meter_body(200, JSON, body, None, GOOGLE)
    assert metered.usage is None and metered.reported is None


def test_vertex_predict_sums_instances() -> None:
    body = json.dumps(
        {
            "predictions": [
                {"embeddings": {"statistics": {"token_count": 4}, "values": [0.1]}},
                {"embeddings": {"statistics": {"token_count": 6.0}, "values": [0.1]}},
            ],
            "metadata": {"billableCharacterCount": 30},
        }
    ).encode()
    metered = GEMINI_PREDICT.meter_body(200, JSON, body, None, VERTEX)
    assert metered.reported is not None and metered.reported.input_tokens == 10
    assert metered.usage == Usage(input_tokens=10)


def test_predict_without_statistics() -> None:
    body = b'{"predictions": [{"bytesBase64Encoded": "AAAA"}]}'
    assert GEMINI_PREDICT.meter_body(200, JSON, body, None, VERTEX).usage is None


def test_count_tokens_and_errors() -> None:
    metered = GEMINI_COUNT_TOKENS.meter_body(200, JSON, b'{"totalTokens": 12}', None, GOOGLE)
    assert metered.usage is None and metered.error is None
    error = b'{"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}}'
    for dialect in (GEMINI_COUNT_TOKENS, GEMINI_GENERATE, GEMINI_EMBEDDINGS):
        assert dialect.meter_body(404, JSON, error, None, GOOGLE).error == "HTTP 404: NOT_FOUND: not found"

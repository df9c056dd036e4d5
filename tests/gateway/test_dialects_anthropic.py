"""Anthropic Messages dialect: cache arithmetic, stream overlay, errors, advisor sub-calls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lava_server.gateway.dialects import ANTHROPIC_COUNT_TOKENS, ANTHROPIC_MESSAGES, select_dialect
from lava_server.gateway.dialects import anthropic as anthropic_module
from lava_server.gateway.dialects._base import load_json
from lava_server.gateway.providers import Provider, generic_provider, provider_for_host
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Metered, Usage


def registered(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None, host
    return found


ANTHROPIC = registered("api.anthropic.com")

CACHE_USAGE = {
    "input_tokens": 3,
    "cache_read_input_tokens": 1111,
    "cache_creation_input_tokens": 418,
    "cache_creation": {"ephemeral_5m_input_tokens": 118, "ephemeral_1h_input_tokens": 300},
    "output_tokens": 33,
    "output_tokens_details": {"thinking_tokens": 20},
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
}


def message(usage: dict[str, Any]) -> bytes:
    return json.dumps({"id": "msg_1", "type": "message", "model": "claude-x", "usage": usage}).encode()


def test_non_stream_cache_arithmetic() -> None:
    metered = ANTHROPIC_MESSAGES.meter_body(200, "application/json", message(CACHE_USAGE), None, ANTHROPIC)
    assert metered.reported is not None
    assert metered.reported.as_dict() == {
        "input_tokens": 3,
        "output_tokens": 33,
        "cached_input_tokens": 1111,
        "cache_creation_input_tokens": 418,
        "reasoning_tokens": 20,
        "total_tokens": None,  # Anthropic never reports a total
    }
    assert metered.usage == Usage(
        input_tokens=3 + 1111 + 418,
        output_tokens=33,
        cached_input_tokens=1111,
        cache_write_tokens=418,
        cache_write_1h_tokens=300,
        reasoning_tokens=20,
        web_search_requests=2,
    )
    assert (metered.model, metered.response_id) == ("claude-x", "msg_1")


def test_advisor_iterations_become_sub_calls() -> None:
    usage = {
        "input_tokens": 2390,
        "output_tokens": 121,
        "iterations": [
            {"type": "message", "input_tokens": 1128, "output_tokens": 110},
            {"type": "advisor_message", "model": "claude-opus-4-8", "input_tokens": 2518, "output_tokens": 22},
            {"type": "message", "input_tokens": 1262, "output_tokens": 11},
        ],
    }
    metered = ANTHROPIC_MESSAGES.meter_body(200, "application/json", message(usage), None, ANTHROPIC)
    assert metered.usage is not None and metered.usage.input_tokens == 2390  # top level only
    assert len(metered.sub_calls) == 1
    call = metered.sub_calls[0]
    assert call.model == "claude-opus-4-8" and call.usage == Usage(input_tokens=2518, output_tokens=22)


def sse(*events: tuple[str, dict[str, Any]], padding: bytes = b"") -> bytes:
    return b"".join(
        f"event: {name}\n".encode() + b"data: " + json.dumps({"type": name, **payload}).encode() + padding + b"\n\n"
        for name, payload in events
    )


START = (
    "message_start",
    {
        "message": {
            "id": "msg_s",
            "model": "claude-opus-4-1",
            "usage": {
                "input_tokens": 2039,
                "cache_read_input_tokens": 10,
                "cache_creation_input_tokens": 5,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 5},
                "output_tokens": 1,
            },
        }
    },
)
DELTA = (
    "content_block_delta",
    {"index": 0, "delta": {"type": "text_delta", "text": 'say "message_delta"'}},
)


def run(body: bytes) -> Metered:
    parser = SseParser()
    meter = ANTHROPIC_MESSAGES.stream_meter(ANTHROPIC, None, False)
    for e in (*parser.feed(body), *parser.flush()):
        assert meter.feed(e)
    return meter.finish()


def test_stream_overlays_last_message_delta() -> None:
    body = sse(
        START,
        DELTA,
        ("message_delta", {"delta": {"stop_reason": None}, "usage": {"output_tokens": 100}}),
        (
            "message_delta",
            {"delta": {"stop_reason": "end_turn"}, "usage": {"input_tokens": 10423, "output_tokens": 341}},
        ),
        ("message_stop", {}),
        padding=b"        ",  # simonw recordings pad data with spaces
    )
    metered = run(body)
    assert metered.reported is not None
    assert metered.reported.as_dict() == {
        "input_tokens": 10423,
        "output_tokens": 341,
        "cached_input_tokens": 10,
        "cache_creation_input_tokens": 5,
        "reasoning_tokens": None,
        "total_tokens": None,
    }
    assert metered.usage == Usage(
        input_tokens=10423 + 10 + 5,
        output_tokens=341,
        cached_input_tokens=10,
        cache_write_tokens=5,
        cache_write_1h_tokens=5,
    )
    assert (metered.model, metered.response_id, metered.error) == ("claude-opus-4-1", "msg_s", None)


def test_stream_without_message_delta_has_no_usage() -> None:
    metered = run(sse(START, DELTA))
    assert metered.usage is None  # output_tokens in message_start is a placeholder
    assert metered.reported is not None and metered.reported.input_tokens == 2039
    assert metered.response_id == "msg_s"


def test_stream_error_event() -> None:
    body = sse(START, ("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}}))
    metered = run(body)
    assert metered.usage is None and metered.error == "overloaded_error: Overloaded"


def test_events_without_event_lines_are_recognised_by_type() -> None:
    body = b"".join(
        b"data: " + json.dumps({"type": name, **payload}).encode() + b"\n\n"
        for name, payload in (START, ("message_delta", {"usage": {"output_tokens": 7}}))
    )
    metered = run(body)
    assert metered.usage is not None and metered.usage.output_tokens == 7


def test_only_start_delta_and_error_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = load_json

    def counting(data: bytes) -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(anthropic_module, "load_json", counting)
    run(sse(START, *[DELTA] * 100, ("message_delta", {"usage": {"output_tokens": 7}}), ("message_stop", {})))
    assert calls == 2


def test_error_status() -> None:
    body = b'{"type":"error","error":{"type":"not_found_error","message":"model: x"}}'
    metered = ANTHROPIC_MESSAGES.meter_body(404, "application/json", body, None, ANTHROPIC)
    assert metered.usage is None and metered.error == "HTTP 404: not_found_error: model: x"


def test_count_tokens_is_not_billable() -> None:
    dialect = select_dialect(ANTHROPIC, "POST", "/v1/messages/count_tokens")
    assert dialect is ANTHROPIC_COUNT_TOKENS and not dialect.billable
    metered = dialect.meter_body(200, "application/json", b'{"input_tokens": 1581}', None, ANTHROPIC)
    assert metered.usage is None and metered.reported is None and metered.error is None


def test_routing_and_request_side() -> None:
    assert select_dialect(ANTHROPIC, "POST", "/v1/messages") is ANTHROPIC_MESSAGES
    assert select_dialect(ANTHROPIC, "POST", "/v1/chat/completions") is None  # not an OpenAI host
    deepseek = provider_for_host("api.deepseek.com")
    assert deepseek is not None
    assert select_dialect(deepseek, "POST", "/anthropic/v1/messages") is ANTHROPIC_MESSAGES
    assert select_dialect(generic_provider("llm.example"), "POST", "/v1/messages") is ANTHROPIC_MESSAGES
    openai = provider_for_host("api.openai.com")
    assert openai is not None
    assert select_dialect(openai, "POST", "/v1/threads/t1/messages") is None  # Assistants, not Anthropic
    assert ANTHROPIC_MESSAGES.request_model("/v1/messages", {"model": "claude-x", "stream": True}) == "claude-x"
    assert ANTHROPIC_MESSAGES.wants_stream("/v1/messages", "beta=true", {"stream": True})
    assert ANTHROPIC_MESSAGES.prepare({"stream": True}, stream=True).body is None

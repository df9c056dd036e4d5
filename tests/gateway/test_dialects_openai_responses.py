"""OpenAI Responses dialect: terminal-event usage, background mode, errors, framing variants."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lava_server.gateway.dialects import (
    OPENAI_RESPONSES,
    OPENAI_RESPONSES_COMPACT,
    OPENAI_RESPONSES_INPUT_TOKENS,
    select_dialect,
)
from lava_server.gateway.dialects import openai_responses as responses_module
from lava_server.gateway.dialects._base import load_json
from lava_server.gateway.providers import Provider, provider_for_host
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Metered, Usage


def registered(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None, host
    return found


OPENAI = registered("api.openai.com")

USAGE = {
    "input_tokens": 1493,
    "input_tokens_details": {"cached_tokens": 1280, "cache_write_tokens": 13},
    "output_tokens": 125,
    "output_tokens_details": {"reasoning_tokens": 64},
    "total_tokens": 1618,
}


def response(status: str = "completed", usage: dict[str, Any] | None = USAGE, **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "model": "gpt-5", "status": status, "usage": usage, **extra}


def event(kind: str, payload: dict[str, Any], *, named: bool = True, data_first: bool = False) -> bytes:
    data = b"data: " + json.dumps({"type": kind, **payload}).encode() + b"\n"
    name = f"event: {kind}\n".encode() if named else b""
    return (data + name if data_first else name + data) + b"\n"


def run(body: bytes, prov: Provider = OPENAI) -> Metered:
    parser = SseParser()
    meter = OPENAI_RESPONSES.stream_meter(prov, None, False)
    for e in (*parser.feed(body), *parser.flush()):
        assert meter.feed(e)
    return meter.finish()


def stream(named: bool = True, data_first: bool = False, terminal: str = "response.completed") -> bytes:
    return b"".join(
        [
            event("response.created", {"response": response("in_progress", None)}, named=named, data_first=data_first),
            event("response.output_text.delta", {"delta": "response.completed"}, named=named, data_first=data_first),
            event(terminal, {"response": response(terminal.split(".")[1], USAGE)}, named=named, data_first=data_first),
        ]
    )


EXPECTED = Usage(
    input_tokens=1493, output_tokens=125, cached_input_tokens=1280, cache_write_tokens=13, reasoning_tokens=64
)


def test_non_stream_body() -> None:
    body = json.dumps(response()).encode()
    metered = OPENAI_RESPONSES.meter_body(200, "application/json", body, None, OPENAI)
    assert metered.usage == EXPECTED
    assert metered.reported is not None
    assert metered.reported.as_dict() == {
        "input_tokens": 1493,
        "output_tokens": 125,
        "cached_input_tokens": 1280,
        "cache_creation_input_tokens": 13,
        "reasoning_tokens": 64,
        "total_tokens": 1618,
    }
    assert (metered.model, metered.response_id, metered.error) == ("gpt-5", "resp_1", None)


@pytest.mark.parametrize("status", ["queued", "in_progress"])
def test_background_without_usage_yet(status: str) -> None:
    body = json.dumps(response(status, None)).encode()
    metered = OPENAI_RESPONSES.meter_body(200, "application/json", body, None, OPENAI)
    assert metered.usage is None and metered.reported is None and metered.response_id == "resp_1"


def test_failed_response_body_sets_error() -> None:
    body = json.dumps(response("failed", None, error={"code": "server_error", "message": "oops"})).encode()
    metered = OPENAI_RESPONSES.meter_body(200, "application/json", body, None, OPENAI)
    assert metered.usage is None and metered.error == "server_error: oops"


@pytest.mark.parametrize(
    ("named", "data_first"),
    [(True, False), (False, False), (True, True)],
    ids=["openai", "openrouter-no-event-lines", "bedrock-mantle-data-first"],
)
def test_stream_terminal_event(named: bool, data_first: bool) -> None:
    metered = run(stream(named, data_first))
    assert metered.usage == EXPECTED
    assert (metered.model, metered.response_id, metered.error) == ("gpt-5", "resp_1", None)


def test_openrouter_done_sentinel_is_ignored() -> None:
    metered = run(stream(named=False) + b"data: [DONE]\n\n")
    assert metered.usage == EXPECTED


def test_incomplete_is_billable() -> None:
    metered = run(stream(terminal="response.incomplete"))
    assert metered.usage == EXPECTED and metered.error is None


def test_failed_stream_keeps_usage_and_sets_error() -> None:
    failed = response("failed", USAGE, error={"code": "server_error", "message": "model crashed"})
    metered = run(event("response.failed", {"response": failed}))
    assert metered.usage == EXPECTED
    assert metered.error == "server_error: model crashed"


def test_error_event() -> None:
    body = stream()[: stream().index(b"event: response.output_text.delta")]
    body += event("error", {"code": "rate_limit_exceeded", "message": "slow down"})
    metered = run(body)
    assert metered.usage is None and metered.error == "slow down"
    assert metered.response_id == "resp_1"


def test_resumed_stream_without_created_event() -> None:
    metered = run(event("response.completed", {"response": response()}))
    assert metered.usage == EXPECTED and metered.response_id == "resp_1"


def test_cut_stream_has_no_usage_but_keeps_ids() -> None:
    metered = run(stream()[: stream().index(b"event: response.completed")])
    assert metered.usage is None and metered.model == "gpt-5" and metered.response_id == "resp_1"


def test_only_few_events_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = load_json

    def counting(data: bytes) -> Any:
        nonlocal calls
        calls += 1
        return real(data)

    monkeypatch.setattr(responses_module, "load_json", counting)
    deltas = b"".join(event("response.output_text.delta", {"delta": f"t{i}"}) for i in range(100))
    metered = run(stream()[:-1] + b"\n" + deltas + event("response.completed", {"response": response()}))
    assert metered.usage == EXPECTED
    assert calls == 3  # created, the first terminal event, the final terminal event


def test_wants_stream() -> None:
    assert OPENAI_RESPONSES.wants_stream("/v1/responses", "", {"stream": True})
    assert not OPENAI_RESPONSES.wants_stream("/v1/responses", "", {"background": True})
    assert OPENAI_RESPONSES.wants_stream("/v1/responses/resp_1", "starting_after=0&stream=true", None)
    assert not OPENAI_RESPONSES.wants_stream("/v1/responses/resp_1", "stream=false", None)


def test_endpoint_variants() -> None:
    assert select_dialect(OPENAI, "POST", "/v1/responses") is OPENAI_RESPONSES
    assert select_dialect(OPENAI, "GET", "/v1/responses/resp_1") is OPENAI_RESPONSES
    assert select_dialect(OPENAI, "POST", "/v1/responses/compact") is OPENAI_RESPONSES_COMPACT
    assert OPENAI_RESPONSES_COMPACT.billable
    count = select_dialect(OPENAI, "POST", "/v1/responses/input_tokens")
    assert count is OPENAI_RESPONSES_INPUT_TOKENS and not count.billable
    metered = count.meter_body(200, "application/json", b'{"input_tokens": 18}', {"model": "gpt-5"}, OPENAI)
    assert metered.usage is None and metered.error is None
    assert count.request_model("/v1/responses/input_tokens", {"model": "gpt-5"}) == "gpt-5"
    assert select_dialect(OPENAI, "GET", "/v1/responses/resp_1/input_items") is None
    assert select_dialect(OPENAI, "DELETE", "/v1/responses/resp_1") is None


def test_compaction_body() -> None:
    body = json.dumps({"id": "resp_2", "object": "response.compaction", "usage": USAGE}).encode()
    metered = OPENAI_RESPONSES_COMPACT.meter_body(200, "application/json", body, None, OPENAI)
    assert metered.usage == EXPECTED and metered.model is None and metered.response_id == "resp_2"

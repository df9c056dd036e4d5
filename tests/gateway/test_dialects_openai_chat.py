"""OpenAI Chat Completions dialect: prepare(), usage-chunk stripping, quirks, streaming rules."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from lava_server.gateway.dialects import OPENAI_CHAT, OPENAI_CHAT_NO_INJECT, select_dialect
from lava_server.gateway.dialects import openai_chat as chat_module
from lava_server.gateway.dialects._base import load_json
from lava_server.gateway.providers import Provider, generic_provider, provider_for_host
from lava_server.gateway.sse import SseEvent, SseParser
from lava_server.gateway.usage import Metered, Usage


def provider(host: str) -> Provider:
    found = provider_for_host(host)
    assert found is not None
    return found


OPENAI = provider("api.openai.com")


def sse(*chunks: Any, event: str | None = None) -> bytes:
    out = b""
    for chunk in chunks:
        payload = chunk if isinstance(chunk, bytes) else json.dumps(chunk).encode()
        out += (f"event: {event}\n".encode() if event else b"") + b"data: " + payload + b"\n\n"
    return out


def run(body: bytes, prov: Provider = OPENAI, strip: bool = False) -> tuple[Metered, list[SseEvent]]:
    parser = SseParser()
    meter = OPENAI_CHAT.stream_meter(prov, None, strip)
    relayed = [e for e in (*parser.feed(body), *parser.flush()) if meter.feed(e)]
    return meter.finish(), relayed


def chunk(content: str | None = "hi", usage: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    choices = [] if content is None else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-x", "choices": choices, "usage": usage}


USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


# -- prepare ---------------------------------------------------------------------------


def test_prepare_injects_include_usage_and_asks_to_strip() -> None:
    body = {"model": "gpt-4o", "stream": True, "messages": []}
    result = OPENAI_CHAT.prepare(body, stream=True)
    assert result.strip_usage_chunk
    assert result.body == {**body, "stream_options": {"include_usage": True}}
    assert "stream_options" not in body  # the client's body is not mutated


def test_prepare_keeps_other_stream_options() -> None:
    body = {"stream": True, "stream_options": {"include_obfuscation": False}}
    result = OPENAI_CHAT.prepare(body, stream=True)
    assert result.body is not None
    assert result.body["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert body["stream_options"] == {"include_obfuscation": False}


def test_prepare_leaves_a_client_that_asked_for_usage_alone() -> None:
    body = {"stream": True, "stream_options": {"include_usage": True}}
    result = OPENAI_CHAT.prepare(body, stream=True)
    assert result.body is None and not result.strip_usage_chunk


def test_prepare_overrides_explicit_false_and_strips() -> None:
    result = OPENAI_CHAT.prepare({"stream": True, "stream_options": {"include_usage": False}}, stream=True)
    assert result.body is not None and result.body["stream_options"]["include_usage"] is True
    assert result.strip_usage_chunk


def test_prepare_non_stream_is_unchanged() -> None:
    result = OPENAI_CHAT.prepare({"model": "m"}, stream=False)
    assert result.body is None and not result.strip_usage_chunk


@pytest.mark.parametrize("host", ["api.mistral.ai", "api.perplexity.ai"])
def test_prepare_skipped_where_usage_arrives_unprompted(host: str) -> None:
    dialect = select_dialect(provider(host), "POST", "/v1/chat/completions")
    assert dialect is OPENAI_CHAT_NO_INJECT
    result = dialect.prepare({"stream": True}, stream=True)
    assert result.body is None and not result.strip_usage_chunk


# -- stripping exactly the injected usage-only chunk -----------------------------------


def test_strip_drops_only_the_usage_only_chunk() -> None:
    body = sse(chunk("a"), chunk("b", finish="stop"), chunk(None, USAGE), b"[DONE]")
    metered, relayed = run(body, strip=True)
    assert [e.data for e in relayed] == [e.data for e in SseParser().feed(body) if b'"usage": {' not in e.data]
    assert relayed[-1].data == b"[DONE]"
    assert metered.reported is not None and metered.reported.input_tokens == 10


def test_usage_chunk_kept_when_client_asked() -> None:
    body = sse(chunk("a"), chunk(None, USAGE), b"[DONE]")
    metered, relayed = run(body, strip=False)
    assert len(relayed) == 3
    assert metered.usage == Usage(input_tokens=10, output_tokens=5)


def test_strip_keeps_usage_on_a_content_chunk() -> None:
    # Mistral/DeepSeek/Together put usage on the finish_reason chunk: never drop content.
    body = sse(chunk("a"), chunk("b", USAGE, finish="stop"), b"[DONE]")
    metered, relayed = run(body, strip=True)
    assert len(relayed) == 3
    assert metered.usage is not None and metered.usage.total_tokens == 15


def test_strip_keeps_empty_choices_without_usage() -> None:
    # Azure's first chunk: prompt_filter_results with empty choices and no usage.
    first: dict[str, Any] = {"id": "", "choices": [], "prompt_filter_results": [], "usage": None}
    metered, relayed = run(sse(first, chunk("a"), b"[DONE]"), strip=True)
    assert len(relayed) == 3
    assert (metered.response_id, metered.model) == ("chatcmpl-1", "gpt-x")  # not Azure's empty first id


# -- streaming rules -------------------------------------------------------------------


def test_last_non_null_usage_wins_never_summed() -> None:
    # Perplexity: cumulative usage on every chunk.
    u1 = {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11}
    u2 = {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    metered, _ = run(sse(chunk("a", u1), chunk("b", u2), chunk("c", None)), prov=provider("api.perplexity.ai"))
    assert metered.usage is not None and metered.usage.output_tokens == 7 and metered.usage.input_tokens == 10


def test_groq_x_groq_usage_fallback() -> None:
    last = chunk("", finish="stop")
    del last["usage"]
    last["x_groq"] = {"usage": {**USAGE, "queue_time": 0.2}}
    metered, _ = run(sse(chunk("a"), last, b"[DONE]"), prov=provider("api.groq.com"))
    assert metered.reported is not None and metered.reported.total_tokens == 15


def test_groq_top_level_usage_preferred_over_x_groq() -> None:
    last = chunk("", USAGE, finish="stop")
    last["x_groq"] = {"usage": {"prompt_tokens": 99, "completion_tokens": 99, "total_tokens": 198}}
    metered, _ = run(sse(last), prov=provider("api.groq.com"))
    assert metered.reported is not None and metered.reported.input_tokens == 10


def test_groq_error_event_in_200_stream() -> None:
    body = sse(chunk("a")) + b'event: error\ndata: {"error":{"message":"boom","type":"invalid_request_error"}}\n\n'
    metered, relayed = run(body, prov=provider("api.groq.com"), strip=True)
    assert metered.usage is None
    assert metered.error == "invalid_request_error: boom"
    assert len(relayed) == 2


def test_error_event_without_json() -> None:
    metered, _ = run(b"event: error\ndata: upstream went away\n\n")
    assert metered.error == "upstream went away"


def test_id_and_model_from_first_chunk() -> None:
    last = chunk(None, USAGE)
    last["id"] = "stub"
    metered, _ = run(sse(chunk("a"), last))
    assert metered.response_id == "chatcmpl-1" and metered.model == "gpt-x"


def test_stream_without_usage() -> None:
    metered, _ = run(sse(chunk("a"), chunk("b", finish="stop"), b"[DONE]"))
    assert metered.usage is None and metered.reported is None and metered.error is None


def test_comments_and_done_are_relayed() -> None:
    body = b": OPENROUTER PROCESSING\n\n" + sse(chunk("a"), b"[DONE]")
    _, relayed = run(body, strip=True)
    assert len(relayed) == 3


def test_only_candidate_events_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bytes] = []
    real = load_json

    def counting(data: bytes) -> Any:
        calls.append(data)
        return real(data)

    monkeypatch.setattr(chat_module, "load_json", counting)
    body = sse(*[chunk(f"t{i}") for i in range(50)], chunk(None, USAGE), b"[DONE]")
    metered, _ = run(body)
    assert metered.usage is not None
    assert len(calls) == 2  # the first chunk (id, model) and the usage chunk


# -- usage arithmetic (quirks as data) -------------------------------------------------


def body_metered(usage: dict[str, Any], prov: Provider = OPENAI, extra: dict[str, Any] | None = None) -> Metered:
    body = json.dumps({"id": "c1", "model": "m", "choices": [], "usage": usage, **(extra or {})}).encode()
    return OPENAI_CHAT.meter_body(200, "application/json", body, None, prov)


def test_openai_cached_and_cache_write_are_parts_of_prompt() -> None:
    metered = body_metered(
        {
            "prompt_tokens": 4020,
            "completion_tokens": 4,
            "total_tokens": 4024,
            "prompt_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 4012},
            "completion_tokens_details": {"reasoning_tokens": 3},
        }
    )
    assert metered.usage == Usage(
        input_tokens=4020, output_tokens=4, cached_input_tokens=8, cache_write_tokens=4012, reasoning_tokens=3
    )


def test_xai_reasoning_outside_completion() -> None:
    usage = {
        "prompt_tokens": 291,
        "completion_tokens": 26,
        "total_tokens": 506,
        "completion_tokens_details": {"reasoning_tokens": 189},
    }
    metered = body_metered(usage, provider("api.x.ai"))
    assert metered.reported is not None and metered.reported.output_tokens == 26
    assert metered.usage is not None
    assert (metered.usage.output_tokens, metered.usage.reasoning_tokens) == (215, 189)
    assert metered.usage.total_tokens == 506
    # the same numbers from a provider without the quirk count reasoning inside completion
    assert body_metered(usage).usage == Usage(input_tokens=291, output_tokens=26, reasoning_tokens=26)


def test_gemini_compat_hidden_thinking_in_total() -> None:
    metered = body_metered(
        {"prompt_tokens": 66, "completion_tokens": 6, "total_tokens": 100},
        provider("generativelanguage.googleapis.com"),
    )
    assert metered.reported is not None and metered.reported.reasoning_tokens is None
    assert metered.usage == Usage(input_tokens=66, output_tokens=34, reasoning_tokens=28)


@pytest.mark.parametrize(
    ("host", "usage", "cached"),
    [
        ("api.deepseek.com", {"prompt_cache_hit_tokens": 512, "prompt_cache_miss_tokens": 51}, 512),
        ("api.mistral.ai", {"num_cached_tokens": 48}, 48),
        ("api.mistral.ai", {"prompt_tokens_details": {"cached_tokens": 7}}, 7),
        ("router.huggingface.co", {"cached_tokens": 3}, 3),
        ("example.internal", {"prompt_cache_hit_tokens": 5}, 5),
    ],
)
def test_provider_cache_hit_fields(host: str, usage: dict[str, Any], cached: int) -> None:
    prov = provider_for_host(host) or generic_provider(host)
    metered = body_metered({"prompt_tokens": 563, "completion_tokens": 1, "total_tokens": 564, **usage}, prov)
    assert metered.reported is not None and metered.reported.cached_input_tokens == cached
    assert metered.usage is not None and metered.usage.cached_input_tokens == cached


def test_openai_does_not_read_other_providers_cache_fields() -> None:
    metered = body_metered({"prompt_tokens": 5, "completion_tokens": 1, "num_cached_tokens": 4})
    assert metered.reported is not None and metered.reported.cached_input_tokens is None


def test_parts_are_clamped_to_their_whole() -> None:
    metered = body_metered(
        {
            "prompt_tokens": 100,
            "completion_tokens": 10,
            "prompt_tokens_details": {"cached_tokens": 80, "cache_write_tokens": 80},
            "completion_tokens_details": {"reasoning_tokens": 11},
        }
    )
    assert metered.reported is not None and metered.reported.reasoning_tokens == 11
    assert metered.usage == Usage(
        input_tokens=100, output_tokens=10, cached_input_tokens=80, cache_write_tokens=20, reasoning_tokens=10
    )
    assert metered.usage.input_seconds == Decimal(0)


def test_web_search_requests() -> None:
    metered = body_metered(
        {"prompt_tokens": 1, "completion_tokens": 1, "server_tool_use_details": {"web_search_requests": 2}},
        provider("openrouter.ai"),
    )
    assert metered.usage is not None and metered.usage.web_search_requests == 2


def test_empty_or_null_usage_is_no_usage() -> None:
    assert body_metered({}).usage is None
    metered = OPENAI_CHAT.meter_body(200, "application/json", b'{"id":"x","usage":null}', None, OPENAI)
    assert metered.usage is None and metered.reported is None and metered.response_id == "x"


def test_float_counts_are_accepted_when_integral() -> None:
    metered = body_metered({"prompt_tokens": 3.0, "completion_tokens": 2, "total_tokens": "5"})
    assert metered.reported is not None
    assert metered.reported.as_dict()["input_tokens"] == 3 and metered.reported.total_tokens is None


def test_error_status_is_never_billable() -> None:
    metered = OPENAI_CHAT.meter_body(
        429, "application/json", b'{"error":{"message":"slow down","code":429}}', None, OPENAI
    )
    assert metered.usage is None and metered.reported is None
    assert metered.error == "HTTP 429: slow down"
    assert OPENAI_CHAT.meter_body(502, "text/html", b"<html>", None, OPENAI).error == "HTTP 502"


def test_inband_error_in_200_body() -> None:
    metered = OPENAI_CHAT.meter_body(200, "application/json", b'{"error":{"message":"nope"}}', None, OPENAI)
    assert metered.usage is None and metered.error == "nope"


def test_non_json_200_body() -> None:
    metered = OPENAI_CHAT.meter_body(200, "application/json", b"not json", None, OPENAI)
    assert metered == Metered(usage=None, reported=None, model=None, response_id=None)


def test_meter_body_accepts_a_buffered_sse_body() -> None:
    body = sse(chunk("a"), chunk(None, USAGE), b"[DONE]")
    metered = OPENAI_CHAT.meter_body(200, "text/event-stream; charset=utf-8", body, None, OPENAI)
    assert metered.usage is not None and metered.usage.total_tokens == 15


# -- request side ----------------------------------------------------------------------


def test_request_model_and_stream_flag() -> None:
    assert OPENAI_CHAT.request_model("/v1/chat/completions", {"model": "gpt-4o"}) == "gpt-4o"
    assert OPENAI_CHAT.request_model("/v1/chat/completions", None) is None
    assert OPENAI_CHAT.request_model("/openai/deployments/my-gpt/chat/completions", {"messages": []}) == "my-gpt"
    assert OPENAI_CHAT.wants_stream("/v1/chat/completions", "", {"stream": True})
    assert not OPENAI_CHAT.wants_stream("/v1/chat/completions", "", {"stream": "yes"})
    assert not OPENAI_CHAT.wants_stream("/v1/chat/completions", "", None)
    assert OPENAI_CHAT.billable and OPENAI_CHAT.needs_response_body

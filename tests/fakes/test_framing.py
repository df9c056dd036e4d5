"""Test the fakes against the recorded samples: the same recorded request, sent to the fake,
must come back with the same wire framing and the same JSON shapes as the real provider's.

Only ``body_fidelity == "raw"`` stream samples are used (the exact bytes the provider sent).
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from tests.fakes.replay import default_samples_dir, load_manifest
from tests.fakes.sse import Frame, frame_separator, parse_frames

SAMPLES = default_samples_dir()
MANIFEST = {row["id"]: row for row in load_manifest()} if (SAMPLES / "manifest.jsonl").exists() else {}


def test_the_recorded_samples_are_present() -> None:
    """Without the corpus the comparisons below would have nothing to check: fail, never skip."""
    assert len(MANIFEST) >= 200, f"provider samples not found at {SAMPLES}"


AUTH = {
    "Authorization": "Bearer sk-test",
    "x-api-key": "sk-test",
    "anthropic-version": "2023-06-01",
    "x-goog-api-key": "g-test",
}


def _sample(sample_id: str) -> tuple[dict[str, Any], bytes, dict[str, Any]]:
    row = MANIFEST[sample_id]
    assert row["body_fidelity"] == "raw" and row["stream"]
    request = orjson.loads(Path(SAMPLES, row["request_file"]).read_bytes())
    return row, Path(SAMPLES, row["response_file"]).read_bytes(), request


async def _fake(base: str, path: str, body: dict[str, Any]) -> tuple[str, bytes]:
    async with aiohttp.ClientSession() as s, s.post(base + path, json=body, headers=AUTH) as r:
        assert r.status == 200, await r.text()
        return r.headers["Content-Type"], await r.read()


def _collapse(names: list[str | None]) -> list[str | None]:
    return [k for k, _ in itertools.groupby(names)]


# --------------------------------------------------------------------------------------------
# Non-stream bodies: same top-level keys and usage keys as the recording
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_id",
    [
        "openai/chat_completions/llm__test_tool_use_chain_of_two_calls__i2",
        "openai/responses/llm__test_responses_tool_use__i0",
        "openai/embeddings/TestOpenAI.test_query__i0",
        "anthropic/messages/test_anthropic_opus_5_features__i0",
        "google/generate_content/test_google_model_thinking_part__i0",
    ],
)
async def test_non_stream_body_matches_sample(fake_upstream_shared: str, sample_id: str) -> None:
    row = MANIFEST[sample_id]
    request = orjson.loads(Path(SAMPLES, row["request_file"]).read_bytes())
    recorded = orjson.loads(Path(SAMPLES, row["response_file"]).read_bytes())
    ctype, body = await _fake(fake_upstream_shared, row["path"], request)
    assert ctype.split(";")[0] == row["content_type"].split(";")[0]
    got = orjson.loads(body)
    assert set(got) == set(recorded)
    usage_key = "usageMetadata" if "usageMetadata" in recorded else "usage"
    assert set(got[usage_key]) == set(recorded[usage_key])
    if "data" in recorded:  # embeddings: base64 string when the request asked for it
        assert type(got["data"][0]["embedding"]) is type(recorded["data"][0]["embedding"])


# --------------------------------------------------------------------------------------------
# OpenAI chat completions
# --------------------------------------------------------------------------------------------


def _chat_shape(frames: list[Frame]) -> dict[str, Any]:
    chunks = [f.json() for f in frames if f.data != "[DONE]"]
    with_choices = [ch for ch in chunks if ch["choices"]]
    return {
        "events": {f.event for f in frames},
        "field_order": {f.field_order for f in frames},
        "done_last": frames[-1].data == "[DONE]",
        "keys": set().union(*(ch.keys() for ch in chunks)),
        "choice_keys": {tuple(sorted(ch["choices"][0])) for ch in with_choices},
        "first_delta_keys": set(with_choices[0]["choices"][0]["delta"]),
        "finish": [ch["choices"][0]["finish_reason"] for ch in with_choices if ch["choices"][0]["finish_reason"]],
        "usage_chunk": [(ch["choices"], sorted(ch["usage"])) for ch in chunks if ch.get("usage")],
        "usage_null_before": all(ch["usage"] is None for ch in chunks[:-1]),
        "tool_delta_keys": [
            sorted(tc) for ch in with_choices for tc in ch["choices"][0]["delta"].get("tool_calls", [])
        ][:2],
    }


@pytest.mark.parametrize(
    "sample_id",
    [
        "openai/chat_completions/test_run_stream_sync_streams_real_model__i1",
        "openai/chat_completions/llm__test_tool_use_basic__i0",
    ],
)
async def test_openai_chat_stream_matches_sample(fake_upstream_shared: str, sample_id: str) -> None:
    row, recorded, request = _sample(sample_id)
    ctype, body = await _fake(fake_upstream_shared, "/v1/chat/completions", request)
    assert ctype == row["content_type"] == "text/event-stream; charset=utf-8"
    assert frame_separator(body) == frame_separator(recorded) == b"\n\n"
    assert body.endswith(b"data: [DONE]\n\n") and recorded.endswith(b"data: [DONE]\n\n")
    want, got = _chat_shape(parse_frames(recorded)), _chat_shape(parse_frames(body))
    # OpenAI added "obfuscation" in 2025; older recordings lack it.
    assert want["keys"] <= got["keys"] <= want["keys"] | {"obfuscation"}
    for key in ("events", "field_order", "done_last", "choice_keys", "first_delta_keys", "finish", "usage_chunk"):
        assert got[key] == want[key], key
    assert got["usage_null_before"] and want["usage_null_before"]
    assert got["tool_delta_keys"] == want["tool_delta_keys"]


async def test_groq_style_error_event_matches_sample(fake_upstream_shared: str) -> None:
    row, recorded, request = _sample("groq/chat_completions/test_tool_use_failed_error_streaming__i0")
    _, body = await _fake(fake_upstream_shared, "/v1/chat/completions", {**request, "model": "error-event-stream"})
    want, got = parse_frames(recorded), parse_frames(body)
    for frames in (want, got):
        assert frames[-1].event == "error" and frames[-1].field_order == ("event", "data")
        assert set(frames[-1].json()) == {"error"}
        assert all(f.event is None for f in frames[:-1])
        assert all(f.data != "[DONE]" for f in frames) and b'"usage"' not in b"".join(f.data.encode() for f in frames)
    assert {"message", "type", "code"} <= set(got[-1].json()["error"]) <= set(want[-1].json()["error"])


# --------------------------------------------------------------------------------------------
# OpenAI Responses
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sample_id", "exact_events"),
    [
        ("openai/responses/test_openai_instructions_with_responses_logprobs_streaming__i0", True),
        ("openai/responses/test_openai_responses_streaming_usage__i0", False),
    ],
)
async def test_openai_responses_stream_matches_sample(
    fake_upstream_shared: str, sample_id: str, exact_events: bool
) -> None:
    row, recorded, request = _sample(sample_id)
    ctype, body = await _fake(fake_upstream_shared, "/v1/responses", request)
    assert ctype == row["content_type"]
    want, got = parse_frames(recorded), parse_frames(body)
    for frames in (want, got):
        assert {f.field_order for f in frames} == {("event", "data")}
        assert all(f.json()["type"] == f.event for f in frames)
        assert [f.json()["sequence_number"] for f in frames] == list(range(len(frames)))
        assert frames[0].event == "response.created" and frames[-1].event == "response.completed"
    want_types, got_types = {f.event for f in want}, {f.event for f in got}
    assert got_types == want_types if exact_events else got_types <= want_types
    # The response object gained fields over time: the fake has at least the recorded ones and
    # exactly the ones of the newest recording.
    w_first, g_first = want[0].json()["response"], got[0].json()["response"]
    w_done, g_done = want[-1].json()["response"], got[-1].json()["response"]
    for w_obj, g_obj in ((w_first, g_first), (w_done, g_done)):
        assert set(g_obj) == set(w_obj) if exact_events else set(w_obj) <= set(g_obj)
    assert set(g_done["usage"]) <= set(w_done["usage"])
    assert [o["type"] for o in g_done["output"]] == [o["type"] for o in w_done["output"]]
    for w_item, g_item in zip(w_done["output"], g_done["output"], strict=True):
        assert set(g_item) <= set(w_item), g_item["type"]


# --------------------------------------------------------------------------------------------
# Anthropic
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sample_id",
    [
        "anthropic/messages/llm-anthropic__test_schema_prompt__i0",
        "anthropic/messages/llm-anthropic__test_stream_events_tool_calls__i0",
        "anthropic/messages/llm-anthropic__test_stream_events_thinking__i0",
    ],
)
async def test_anthropic_stream_matches_sample(fake_upstream_shared: str, sample_id: str) -> None:
    row, recorded, request = _sample(sample_id)
    request.pop("output_config", None)  # structured output is not faked: plain text either way
    ctype, body = await _fake(fake_upstream_shared, "/v1/messages", request)
    assert ctype == row["content_type"]
    assert frame_separator(body) == frame_separator(recorded) == b"\n\n"
    want, got = parse_frames(recorded), parse_frames(body)
    for frames in (want, got):
        assert {f.field_order for f in frames} == {("event", "data")}
        assert all(f.json()["type"] == f.event for f in frames)
    assert _collapse([f.event for f in got]) == _collapse([f.event for f in want])
    w_msg, g_msg = want[0].json()["message"], got[0].json()["message"]
    assert set(g_msg) == set(w_msg)
    assert set(g_msg["usage"]) == set(w_msg["usage"])
    w_delta = next(f.json() for f in want if f.event == "message_delta")
    g_delta = next(f.json() for f in got if f.event == "message_delta")
    assert set(g_delta) == set(w_delta) and set(g_delta["delta"]) == set(w_delta["delta"])
    assert set(g_delta["usage"]) - {"output_tokens_details"} == set(w_delta["usage"]) - {"output_tokens_details"}
    assert g_delta["delta"]["stop_reason"] == w_delta["delta"]["stop_reason"] or not request.get("tools")

    def blocks(frames: list[Frame]) -> list[tuple[str, frozenset[str], frozenset[str]]]:
        starts = [f.json()["content_block"] for f in frames if f.event == "content_block_start"]
        return [
            (
                b["type"],
                frozenset(b),
                frozenset(
                    f.json()["delta"]["type"]
                    for f in frames
                    if f.event == "content_block_delta" and f.json()["index"] == i
                ),
            )
            for i, b in enumerate(starts)
        ]

    for (w_type, w_keys, w_deltas), (g_type, g_keys, g_deltas) in zip(blocks(want), blocks(got), strict=True):
        assert g_type == w_type and g_keys <= w_keys and g_deltas == w_deltas


# --------------------------------------------------------------------------------------------
# Gemini
# --------------------------------------------------------------------------------------------

_GEMINI_OPTIONAL_USAGE = {"thoughtsTokenCount", "cachedContentTokenCount", "cacheTokensDetails"}


def _gemini_checks(want: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    assert {tuple(sorted(ch)) for ch in got} == {tuple(sorted(ch)) for ch in want}
    for chunks in (want, got):
        finishes = [ch["candidates"][0].get("finishReason") for ch in chunks]
        assert finishes[-1] == "STOP" and not any(finishes[:-1])
        totals = [ch["usageMetadata"]["totalTokenCount"] for ch in chunks]
        assert totals == sorted(totals)  # cumulative, never per-chunk deltas
    w_usage, g_usage = want[-1]["usageMetadata"], got[-1]["usageMetadata"]
    assert {"promptTokenCount", "totalTokenCount", "candidatesTokenCount"} <= set(g_usage)
    assert set(g_usage) - _GEMINI_OPTIONAL_USAGE <= set(w_usage)
    assert set(got[-1]["candidates"][0]) <= set(want[-1]["candidates"][0]) | {"index"}


async def test_gemini_sse_matches_sample(fake_upstream_shared: str) -> None:
    row, recorded, request = _sample("google/stream_generate_content/test_google_model_stream__i0")
    path = row["path"].replace("gemini-2.0-flash-exp", "gemini-2.0-flash") + "?" + row["query"]
    ctype, body = await _fake(fake_upstream_shared, path, request)
    assert ctype == row["content_type"] == "text/event-stream"
    assert frame_separator(body) == frame_separator(recorded) == b"\r\n\r\n"
    want, got = parse_frames(recorded), parse_frames(body)
    assert {f.field_order for f in got} == {f.field_order for f in want} == {("data",)}
    _gemini_checks([f.json() for f in want], [f.json() for f in got])


async def test_gemini_json_array_stream_matches_sample(fake_upstream_shared: str) -> None:
    row, recorded, request = _sample("google/stream_generate_content/llm-gemini__test_prompt__i0")
    ctype, body = await _fake(fake_upstream_shared, row["path"], request)
    assert ctype == row["content_type"] == "application/json; charset=UTF-8"
    for raw in (recorded, body):
        assert raw.startswith(b"[{\n") and raw.rstrip().endswith(b"}\n]") and b"}\n,\r\n{" in raw
    want, got = orjson.loads(recorded), orjson.loads(body)
    _gemini_checks(want, got)
    # includeThoughts: both stream a thought part first
    assert want[0]["candidates"][0]["content"]["parts"][0].get("thought") is True
    assert got[0]["candidates"][0]["content"]["parts"][0].get("thought") is True

"""Every recorded OpenAI / Anthropic / Google / Mistral response in the shared corpus, metered.

For each manifest line: pick the provider by host (``generic_provider`` for account-specific
hosts such as Azure, Snowflake and Bedrock-Mantle), pick the dialect by path, meter the body
(or the SSE stream, fed in random-size chunks with several seeds), and check

* ``reported`` equals the manifest's ``expected_usage`` exactly;
* the normalised ``Usage`` follows docs/design.md "Normalised usage" — the expected numbers are
  computed here, per API family, from the manifest's own numbers;
* errors and token-count endpoints yield no billable usage;
* model, response id and request model match what the recording says.
"""

from __future__ import annotations

import json
import os
import random
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from lava_server.gateway.dialects import Dialect, select_dialect
from lava_server.gateway.providers import Provider, generic_provider, provider_for_host
from lava_server.gateway.sse import SseEvent, SseParser
from lava_server.gateway.usage import Metered

SAMPLES = Path(
    os.environ.get("LAVA_PROVIDER_SAMPLES") or Path(__file__).resolve().parents[1] / "data" / "provider-samples"
)
MANIFEST = SAMPLES / "manifest.jsonl"
IN_SCOPE = ("openai.", "anthropic.messages", "anthropic.count_tokens", "google.", "mistral.")
SEEDS = (0, 1, 2)
NULL_USAGE = dict.fromkeys(
    (
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_creation_input_tokens",
        "reasoning_tokens",
        "total_tokens",
    )
)


def _rows() -> list[dict[str, Any]]:
    if not MANIFEST.exists():
        return []
    rows = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["api"].startswith(IN_SCOPE)]


ROWS = _rows()


def test_corpus_is_present() -> None:
    assert len(ROWS) >= 200, "the provider-samples corpus (tests/data/provider-samples) is missing"


# -- helpers ---------------------------------------------------------------------------


def provider_of(row: dict[str, Any]) -> Provider:
    return provider_for_host(row["host"]) or generic_provider(row["host"])


def is_stream_body(row: dict[str, Any]) -> bool:
    return str(row["content_type"]).split(";")[0].strip() == "text/event-stream"


def request_of(row: dict[str, Any]) -> dict[str, Any] | None:
    return json.loads((SAMPLES / row["request_file"]).read_text()) if row["request_file"] else None


def feed_stream(
    dialect: Dialect, provider: Provider, body: bytes, request: dict[str, Any] | None, seed: int | None, strip: bool
) -> tuple[Metered, list[SseEvent], list[SseEvent]]:
    """Feed ``body`` in random chunks; return (metered, all events, events the meter dropped)."""
    rng = random.Random(seed)
    parser = SseParser()
    meter = dialect.stream_meter(provider, request, strip)
    events: list[SseEvent] = []
    dropped: list[SseEvent] = []
    pos = 0
    while pos < len(body):
        size = len(body) if seed is None else rng.randint(1, 64)
        events += parser.feed(body[pos : pos + size])
        pos += size
    events += parser.flush()
    for event in events:
        if not meter.feed(event):
            dropped.append(event)
    return meter.finish(), events, dropped


def meter_row(row: dict[str, Any], seed: int | None = None) -> Metered:
    provider = provider_of(row)
    dialect = select_dialect(provider, row["method"], row["path"])
    assert dialect is not None
    body = (SAMPLES / row["response_file"]).read_bytes()
    request = request_of(row)
    if is_stream_body(row):
        metered, events, dropped = feed_stream(dialect, provider, body, request, seed, strip=False)
        assert b"".join(e.raw for e in events) == body
        assert dropped == []
        return metered
    return dialect.meter_body(row["status"], row["content_type"], body, request, provider)


def expected_normalised(row: dict[str, Any]) -> dict[str, Any]:
    """docs/design.md "Normalised usage", written out per API family from the manifest numbers."""
    e = {k: v or 0 for k, v in row["expected_usage"].items()}
    raw = row["raw_usage"] or {}
    api, host = row["api"], row["host"]
    out = {
        "input_tokens": e["input_tokens"],
        "output_tokens": e["output_tokens"],
        "cached_input_tokens": e["cached_input_tokens"],
        "cache_write_tokens": e["cache_creation_input_tokens"],
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": e["reasoning_tokens"],
        "input_seconds": Decimal(0),
    }
    if api == "anthropic.messages":
        # input excludes cache reads and writes; thinking is already inside output
        out["input_tokens"] = e["input_tokens"] + e["cached_input_tokens"] + e["cache_creation_input_tokens"]
        start = raw.get("message_start", raw)
        out["cache_write_1h_tokens"] = start["cache_creation"]["ephemeral_1h_input_tokens"]
    elif api.startswith("google.") and api != "google.predict_embeddings":
        # output excludes thoughts; tool-use prompt tokens are input outside the prompt count
        out["input_tokens"] = e["input_tokens"] + raw.get("toolUsePromptTokenCount", 0)
        out["output_tokens"] = e["output_tokens"] + e["reasoning_tokens"]
    elif api == "openai.chat_completions" and host == "api.x.ai":
        out["output_tokens"] = e["output_tokens"] + e["reasoning_tokens"]  # reasoning outside completion
    elif api == "openai.chat_completions" and host == "generativelanguage.googleapis.com":
        hidden = e["total_tokens"] - e["input_tokens"] - e["output_tokens"]  # thinking only in the total
        out["output_tokens"] = e["output_tokens"] + hidden
        out["reasoning_tokens"] = hidden
    elif api == "openai.audio_transcriptions":
        out["input_seconds"] = Decimal(raw["seconds"])
    elif api == "mistral.audio_transcriptions":
        out["input_seconds"] = Decimal(raw["prompt_audio_seconds"])
    # parts never exceed their whole (OpenRouter/minimax reports 11 reasoning of 10 output)
    out["reasoning_tokens"] = min(out["reasoning_tokens"], out["output_tokens"])
    return out


def expected_response_id(row: dict[str, Any]) -> str | None:
    if row["status"] >= 400:
        return None
    body = (SAMPLES / row["response_file"]).read_bytes()
    if is_stream_body(row):
        for line in body.splitlines():
            if line.startswith(b"data:") and line[5:].strip() not in (b"[DONE]", b""):
                found = _id_of(json.loads(line[5:]))
                if found:
                    return found
        return None
    obj = json.loads(body)
    if isinstance(obj, list):
        obj = obj[-1]
    return _id_of(obj)


def _id_of(obj: Any) -> str | None:
    for candidate in (obj.get("id"), obj.get("responseId"), (obj.get("message") or {}).get("id")):
        if isinstance(candidate, str) and candidate:  # Snowflake sends "id": ""
            return candidate
    response = obj.get("response")
    return response.get("id") if isinstance(response, dict) else None


def expected_request_model(row: dict[str, Any], request: dict[str, Any] | None) -> str | None:
    match = re.search(r"/models/([^/:]+):", row["path"])
    if match:
        return match.group(1)
    return request.get("model") if request else None


# -- the table -------------------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_sample(row: dict[str, Any]) -> None:
    provider = provider_of(row)
    dialect = select_dialect(provider, row["method"], row["path"])
    assert dialect is not None, "every in-scope endpoint is metered"
    expected = row["expected_usage"]
    seeds: tuple[int | None, ...] = (None, *SEEDS) if is_stream_body(row) else (None,)
    for seed in seeds:
        metered = meter_row(row, seed)
        reported = metered.reported.as_dict() if metered.reported is not None else dict(NULL_USAGE)

        if row["status"] >= 400:
            assert metered.usage is None and metered.reported is None
            assert metered.error is not None and metered.error.startswith(f"HTTP {row['status']}")
        elif not dialect.billable:
            assert not row["billable"]
            assert metered.usage is None and metered.error is None
        elif expected == NULL_USAGE and row["api"] != "openai.audio_transcriptions":
            # queued/in-progress background responses, a Model Armor block, Groq stream errors
            assert metered.usage is None
            assert reported == expected
        else:
            assert row["billable"]
            assert reported == expected
            usage = metered.usage
            assert usage is not None
            got = {k: getattr(usage, k) for k in expected_normalised(row)}
            assert got == expected_normalised(row)
            if expected["total_tokens"] is not None:
                assert usage.total_tokens == expected["total_tokens"]

        assert metered.model == row["model"]
        assert metered.response_id == expected_response_id(row)

    request = request_of(row)
    if request is not None:
        assert dialect.request_model(row["path"], request) == expected_request_model(row, request)


# -- documented special cases ----------------------------------------------------------


def _row(sample_id: str) -> dict[str, Any]:
    return next(r for r in ROWS if r["id"] == sample_id)


@pytest.mark.parametrize(
    ("sample_id", "message"),
    [
        ("groq/chat_completions/test_tool_use_failed_error_streaming__i0", "Tool call validation failed"),
        ("groq/chat_completions/test_tool_use_failed_error_streaming_with_text__i0", "Tool choice is required"),
        ("openrouter/chat_completions/test_openrouter_stream_error__i0", "Token limit reached"),
        (
            "google_vertex/generate_content/test_google_model_armor_prompt_template_text_gets_blocked__i1",
            "MODEL_ARMOR",
        ),
    ],
)
def test_inband_errors_in_2xx(sample_id: str, message: str) -> None:
    metered = meter_row(_row(sample_id), seed=0)
    assert metered.error is not None and message in metered.error


def test_openrouter_error_chunk_still_reports_usage() -> None:
    metered = meter_row(_row("openrouter/chat_completions/test_openrouter_stream_error__i0"), seed=1)
    assert metered.usage is not None and metered.usage.output_tokens == 10


def test_whisper_is_billed_by_seconds_without_tokens() -> None:
    metered = meter_row(_row("openai/audio_transcriptions/vercel-ai__openai__openai-transcription"))
    assert metered.reported is not None and metered.reported.is_empty()
    assert metered.usage is not None
    assert metered.usage.input_seconds == Decimal(37) and metered.usage.total_tokens == 0


def test_anthropic_advisor_iteration_is_a_separate_sub_call() -> None:
    for sample_id in (
        "anthropic/messages/test_anthropic_advisor_tool__i0",
        "anthropic/messages/test_anthropic_advisor_tool_stream__i0",
    ):
        metered = meter_row(_row(sample_id), seed=2)
        assert len(metered.sub_calls) == 1
        call = metered.sub_calls[0]
        assert call.model == "claude-opus-4-8"
        assert call.reported.input_tokens in (2518, 2543)


def test_web_search_requests_are_counted() -> None:
    anthropic = meter_row(_row("anthropic/messages/llm-anthropic__test_web_search__i0"), seed=0)
    openrouter = meter_row(_row("openrouter/chat_completions/test_openrouter_web_search_tool_usage_stream__i0"))
    assert anthropic.usage is not None and anthropic.usage.web_search_requests == 1
    assert openrouter.usage is not None and openrouter.usage.web_search_requests == 1


def test_background_response_is_billed_once_by_response_id() -> None:
    ids = {meter_row(_row(f"openai/responses/test_background_mode_vcr__i{i}")).response_id for i in range(3)}
    assert len(ids) == 1  # queued, in_progress and completed share the id the caller dedupes on


def test_gemini_json_array_stream_uses_last_element() -> None:
    row = _row("google/stream_generate_content/llm-gemini__test_prompt__i0")
    assert row["content_type"].startswith("application/json") and row["stream"]
    provider = provider_of(row)
    dialect = select_dialect(provider, row["method"], row["path"])
    assert dialect is not None and dialect.wants_stream(row["path"], "", request_of(row))
    metered = meter_row(row)
    assert metered.reported is not None and metered.reported.total_tokens == 304


OPENAI_CHAT_STREAMS = [
    r for r in ROWS if r["api"] == "openai.chat_completions" and is_stream_body(r) and r["request_file"]
]


@pytest.mark.parametrize("row", OPENAI_CHAT_STREAMS, ids=[r["id"] for r in OPENAI_CHAT_STREAMS])
def test_chat_stream_prepare_and_strip(row: dict[str, Any]) -> None:
    """Replay each recorded stream as if the gateway had prepared its request."""
    provider = provider_of(row)
    dialect = select_dialect(provider, "POST", row["path"])
    assert dialect is not None
    request = request_of(row)
    assert request is not None and dialect.wants_stream(row["path"], "", request)
    prepared = dialect.prepare(dict(request), stream=True)
    client_asked = (request.get("stream_options") or {}).get("include_usage") is True
    if client_asked or not provider.chat.inject_stream_usage:
        assert prepared.body is None and not prepared.strip_usage_chunk
    else:
        assert prepared.body is not None and prepared.body["stream_options"]["include_usage"] is True
        assert prepared.strip_usage_chunk
    body = (SAMPLES / row["response_file"]).read_bytes()
    metered, _, dropped = feed_stream(dialect, provider, body, request, 0, prepared.strip_usage_chunk)
    reported = metered.reported.as_dict() if metered.reported is not None else dict(NULL_USAGE)
    assert reported == row["expected_usage"]
    for event in dropped:  # only a usage-only chunk is ever hidden
        chunk = json.loads(event.data)
        assert chunk["choices"] == [] and chunk["usage"]
    assert len(dropped) <= 1


# -- repricing agrees with settlement on every sample ----------------------------------


AT_SAMPLES = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _metered_usage_rows() -> list[dict[str, Any]]:
    return [r for r in ROWS if r["status"] < 400 and r["billable"] and r["expected_usage"] != NULL_USAGE]


@pytest.mark.parametrize("row", _metered_usage_rows(), ids=lambda r: r["id"])
def test_sample_reprices_as_settled(row: dict[str, Any]) -> None:
    """Settle each sample's usage (prices for every unit, and the catalogue's where it has the
    model), record it as settlement does, and recompute it from the record alone."""
    from lava_server.billing.pricing import PriceSource, base_cost
    from lava_server.billing.repricing import recompute
    from lava_server.billing.usage import Usage
    from tests.billing.usage_fixtures import PERCENT, RATE, all_prices, record_of

    metered = meter_row(row)
    usage = metered.usage
    if usage is None:  # e.g. a transcription without usage: nothing to settle
        return
    price_sets = [all_prices()]
    pricing_id = provider_of(row).pricing_id
    model = metered.model or expected_request_model(row, request_of(row))
    catalogue = PriceSource().prices_for(pricing_id, model, AT_SAMPLES) if pricing_id and model else None
    if catalogue is not None:
        price_sets.append(catalogue)
    for prices in price_sets:
        rec = record_of(usage, prices, PERCENT)
        detail = json.loads(rec.pricing_detail or "{}")
        assert Usage.from_json(detail["usage"]) == usage  # every unit recorded, incl. 1-hour cache writes
        assert rec.base_cost == base_cost(usage, prices).total_units
        recorded, recomputed = recompute(rec, PERCENT, default_rate=RATE)
        assert recorded == recomputed

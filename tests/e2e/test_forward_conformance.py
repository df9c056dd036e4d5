"""Metering conformance through the gateway, over every recorded OpenAI / Anthropic / Google /
Mistral sample (OpenAI-compatible providers included).

Each sample is replayed by the replay upstream (SSE cut at random byte boundaries with small
delays) behind a real gateway, called through ``POST /v1/forward?u=https://<host><path>`` with a
BYOK token. Checked per sample:

* the client receives the recorded bytes unchanged — for an OpenAI-style stream whose client did
  not ask for ``stream_options.include_usage``, minus exactly the usage-only chunk the gateway
  injected (docs/design.md "Streaming"); byte checks are skipped only for
  ``sse_reconstructed_from_data_lines`` samples;
* ``GET /v1/requests/{x-lava-request-id}``: 2xx billable samples end ``completed`` with
  ``provider_usage`` equal to the manifest's ``expected_usage`` and ``model_usage`` following
  docs/design.md "Normalised usage"; HTTP errors and in-band stream errors end ``error``;
  token-count endpoints record zero usage.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.e2e import conftest_gateway
from tests.e2e.conftest_gateway import Account, GatewayStack
from tests.fakes import load_manifest
from tests.fakes.replay import default_samples_dir

# the session fixtures shared by the gateway e2e modules, bound here so pytest finds them
replay_gateway = conftest_gateway.replay_gateway

SAMPLES = default_samples_dir()
IN_SCOPE = ("openai.", "anthropic.messages", "anthropic.count_tokens", "google.", "mistral.")
ROWS = [r for r in load_manifest() if r["api"].startswith(IN_SCOPE)]
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
# 200 responses that carry an error inside the body or stream (docs/usage-notes.md "Errors", Groq/OpenRouter
# stream errors, a Vertex Model Armor block).
INBAND_ERRORS = {
    "groq/chat_completions/test_tool_use_failed_error_streaming__i0",
    "groq/chat_completions/test_tool_use_failed_error_streaming_with_text__i0",
    "openrouter/chat_completions/test_openrouter_stream_error__i0",
    "google_vertex/generate_content/test_google_model_armor_prompt_template_text_gets_blocked__i1",
}
# Providers whose chat streams report usage unprompted: the gateway adds no include_usage there.
NO_INJECT_HOSTS = {"api.mistral.ai", "api.perplexity.ai"}
BYOK_KEY = "sk-byok-conformance"


def test_corpus_covers_every_family() -> None:
    apis = {r["api"] for r in ROWS}
    assert len(ROWS) >= 200
    assert {"openai.chat_completions", "openai.responses", "anthropic.messages", "google.generate_content"} <= apis
    assert {r["id"] for r in ROWS} >= INBAND_ERRORS


def is_sse(row: dict[str, Any]) -> bool:
    return row["content_type"].split(";")[0].strip() == "text/event-stream"


def request_bytes(row: dict[str, Any]) -> tuple[bytes | None, dict[str, Any] | None]:
    """The recorded request body, else a minimal one with the model and stream flag."""
    if row["method"] == "GET":
        return None, None
    if row["request_file"]:
        raw = (SAMPLES / row["request_file"]).read_bytes()
        return raw, json.loads(raw)
    body: dict[str, Any]
    if row["api"].startswith("google."):
        body = {"contents": [{"role": "user", "parts": [{"text": "hello"}]}]}
    elif row["api"].startswith("anthropic."):
        body = {
            "model": row["model"],
            "max_tokens": 256,
            "stream": row["stream"],
            "messages": [{"role": "user", "content": "hi"}],
        }
    else:
        body = {"model": row["model"], "stream": row["stream"], "messages": [{"role": "user", "content": "hi"}]}
        if row["stream"] and row["api"] == "openai.chat_completions":
            body["stream_options"] = {"include_usage": True}
    return json.dumps(body).encode(), body


def sse_events(body: bytes) -> list[bytes]:
    """Raw SSE events, each with its terminating blank line (LF or CRLF framing)."""
    return [e for e in re.split(rb"(?<=\r\n\r\n)|(?<=\n\n)(?<!\r\n\r\n)", body) if e]


def is_usage_only(event: bytes) -> bool:
    for line in event.splitlines():
        if line.startswith(b"data:"):
            try:
                obj = json.loads(line[5:])
            except ValueError:
                return False
            return isinstance(obj, dict) and obj.get("choices") == [] and obj.get("usage") is not None
    return False


def gateway_strips(row: dict[str, Any], body: dict[str, Any] | None) -> bool:
    """docs/design.md "Streaming": an injected usage request the client did not make is hidden."""
    if row["api"] != "openai.chat_completions" or not row["stream"] or row["host"] in NO_INJECT_HOSTS:
        return False
    options = (body or {}).get("stream_options") or {}
    return options.get("include_usage") is not True


def expected_client_bytes(row: dict[str, Any], body: dict[str, Any] | None) -> bytes:
    recorded = (SAMPLES / row["response_file"]).read_bytes()
    if not (is_sse(row) and row["status"] == 200 and gateway_strips(row, body)):
        return recorded
    return b"".join(e for e in sse_events(recorded) if not is_usage_only(e))


def expected_normalised(row: dict[str, Any]) -> dict[str, Any]:
    """``model_usage`` per docs/design.md "Normalised usage", from the manifest's own numbers."""
    e = {k: v or 0 for k, v in row["expected_usage"].items()}
    raw = row["raw_usage"] or {}
    api, host = row["api"], row["host"]
    out = {
        "input_tokens": e["input_tokens"],
        "output_tokens": e["output_tokens"],
        "cached_input_tokens": e["cached_input_tokens"],
        "cache_write_tokens": e["cache_creation_input_tokens"],
        "reasoning_tokens": e["reasoning_tokens"],
        "input_seconds": 0,
    }
    if api == "anthropic.messages":  # input excludes cache reads and writes
        out["input_tokens"] = e["input_tokens"] + e["cached_input_tokens"] + e["cache_creation_input_tokens"]
    elif api.startswith("google.") and api != "google.predict_embeddings":
        out["input_tokens"] = e["input_tokens"] + raw.get("toolUsePromptTokenCount", 0)
        out["output_tokens"] = e["output_tokens"] + e["reasoning_tokens"]  # thoughts outside candidates
    elif api == "openai.chat_completions" and host == "api.x.ai":
        out["output_tokens"] = e["output_tokens"] + e["reasoning_tokens"]
    elif api == "openai.chat_completions" and host == "generativelanguage.googleapis.com":
        hidden = e["total_tokens"] - e["input_tokens"] - e["output_tokens"]
        out["output_tokens"] += hidden
        out["reasoning_tokens"] = hidden
    elif api == "openai.audio_transcriptions":
        out["input_seconds"] = raw["seconds"]
    elif api == "mistral.audio_transcriptions":
        out["input_seconds"] = raw["prompt_audio_seconds"]
    out["reasoning_tokens"] = min(out["reasoning_tokens"], out["output_tokens"])
    out["total_tokens"] = out["input_tokens"] + out["output_tokens"]
    return out


@pytest.fixture(scope="module")
def byok(replay_gateway: GatewayStack) -> Account:
    return replay_gateway.account()


@pytest.fixture(scope="module")
def client() -> Any:
    with httpx.Client(timeout=30.0) as c:
        yield c


def forward(client: httpx.Client, acct: Account, row: dict[str, Any], index: int) -> tuple[httpx.Response, dict | None]:
    target = f"https://{row['host']}{row['path']}" + (f"?{row['query']}" if row["query"] else "")
    # alternate raw and URL-encoded u=, and /v1/forward vs /v1/forward/
    u = quote(target, safe="") if index % 2 else target
    path = "/v1/forward/" if index % 3 == 0 else "/v1/forward"
    headers = {"Authorization": f"Bearer {acct.token(BYOK_KEY)}", "x-replay-sample": row["id"]}
    raw, body = request_bytes(row)
    url = f"{acct.server.url}{path}?u={u}"
    if row["api"].endswith("audio_transcriptions"):
        files = {"file": ("audio.mp3", b"\xff\xfb" + b"\0" * 2048, "audio/mpeg")}
        return client.request(
            "POST", url, headers=headers, data={"model": row["model"] or "whisper-1"}, files=files
        ), None
    if raw is not None:
        headers["Content-Type"] = "application/json"
    return client.request(row["method"], url, headers=headers, content=raw), body


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_sample_through_gateway(row: dict[str, Any], byok: Account, client: httpx.Client) -> None:
    index = ROWS.index(row)
    resp, body = forward(client, byok, row, index)
    rid = resp.headers.get("x-lava-request-id")
    assert rid and rid.startswith("req_test_"), (resp.status_code, resp.text[:300])

    # the client gets the provider's status and bytes
    assert resp.status_code == row["status"], resp.text[:300]
    if row["body_fidelity"] != "sse_reconstructed_from_data_lines":
        expected = expected_client_bytes(row, body)
        assert resp.content == expected, "client bytes differ from the recorded upstream body"
    if is_sse(row) and row["status"] == 200:
        assert resp.headers["content-type"].startswith("text/event-stream")

    rec = byok.request(rid)
    assert rec["provider_key_type"] == "unmanaged"
    assert rec["endpoint"].startswith(f"{row['method']} https://{row['host']}{row['path']}")
    assert rec["connection_id"] == byok.connection_id and rec["product_id"] == byok.product_id
    usage = rec["model_usage"]

    if row["status"] >= 400 or row["id"] in INBAND_ERRORS:
        assert rec["status"] == "error", rec
        assert rec.get("error")
        assert rec["total_request_cost"] in ("0", "0.0000000000")
        return
    assert rec["status"] == "completed", rec
    if not row["billable"]:  # token counting is not consumption
        assert "provider_usage" not in rec
        assert usage["input_tokens"] == usage["output_tokens"] == usage["total_tokens"] == 0
        return
    reported = rec.get("provider_usage") or dict(NULL_USAGE)
    assert reported == row["expected_usage"]
    if row["expected_usage"] == NULL_USAGE and row["api"] not in ("openai.audio_transcriptions",):
        # nothing reported: anything counted must be a marked estimate
        assert usage["total_tokens"] == 0 or usage["estimated"] is True
        return
    assert usage["estimated"] is False
    want = expected_normalised(row)
    got = {k: usage[k] for k in want}
    assert got == want
    if row["model"] and not row["api"].startswith("google."):
        assert rec["model"] == row["model"]


def test_no_record_left_pending(byok: Account) -> None:
    """Runs after the table (file order): every sample's record reached a final status."""
    records = byok.assert_no_pending()
    assert records


def test_replay_actually_split_streams(replay_gateway: GatewayStack, byok: Account, client: httpx.Client) -> None:
    """Guard against a vacuous table: streamed samples really arrive in many upstream chunks."""
    row = next(r for r in ROWS if r["api"] == "anthropic.messages" and is_sse(r))
    resp, _ = forward(client, byok, row, 0)
    assert resp.status_code == 200
    stats = httpx.get(f"{replay_gateway.upstream.url}/_fake/replay-stats").json()
    assert stats["last_sample"] == row["id"] and stats["last_chunks"] > 3

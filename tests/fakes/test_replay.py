"""The replay upstream serves recorded samples byte for byte, in random chunks for streams."""

from __future__ import annotations

import random
from pathlib import Path

import aiohttp
import anthropic
import openai
import orjson
import pytest

from tests.fakes import load_manifest, make_replay_app, serve_app
from tests.fakes.replay import default_samples_dir, split_body

SAMPLES = default_samples_dir()


def test_the_recorded_samples_are_present() -> None:
    """Without the corpus the tests below would have nothing to check: that is a failure, not a skip."""
    assert (SAMPLES / "manifest.jsonl").exists(), f"provider samples missing at {SAMPLES}"


HANDFUL = [
    "openai/chat_completions/test_run_stream_sync_streams_real_model__i1",  # SSE + [DONE]
    "anthropic/messages/llm-anthropic__test_stream_events_tool_calls__i0",  # event:/data: padded
    "google/stream_generate_content/test_google_model_stream__i0",  # \r\n\r\n
    "google/stream_generate_content/llm-gemini__test_prompt__i0",  # streamed JSON array
    "groq/chat_completions/test_tool_use_failed_error_streaming__i0",  # 200 + event: error
    "openai/chat_completions/llm__test_tool_use_chain_of_two_calls__i2",  # plain JSON
    "openrouter/chat_completions/test_openrouter_errors_raised__i1",  # 429
]


def _rows() -> dict[str, dict[str, object]]:
    return {row["id"]: row for row in load_manifest()}


@pytest.mark.parametrize("sample_id", HANDFUL)
async def test_handful_byte_exact_and_chunked(replay_upstream: str, sample_id: str) -> None:
    row = _rows()[sample_id]
    expected = Path(SAMPLES, str(row["response_file"])).read_bytes()
    reads = 0
    got = b""
    headers = {"x-replay-sample": sample_id, "x-replay-max-delay-ms": "5"}  # so the client sees pieces
    async with aiohttp.ClientSession(auto_decompress=False) as s:
        async with s.post(f"{replay_upstream}{row['path']}", data=b"{}", headers=headers) as r:
            assert r.status == row["status"]
            assert r.headers["Content-Type"] == row["content_type"]
            async for chunk in r.content.iter_any():
                reads += 1
                got += chunk
            chunks_header = r.headers.get("x-replay-chunks")
    assert got == expected
    if row["stream"] and row["status"] == 200:
        assert chunks_header is not None and int(chunks_header) > 1
        assert reads > 1  # the client really saw the body in pieces
    else:
        assert chunks_header is None


async def test_every_sample_replays_exactly() -> None:
    rows = load_manifest()
    assert len(rows) >= 200
    async with (
        serve_app(make_replay_app(SAMPLES, max_delay_s=0)) as url,
        aiohttp.ClientSession(auto_decompress=False) as s,
    ):
        for row in rows:
            async with s.get(f"{url}/anything", headers={"x-replay-sample": row["id"]}) as r:
                assert (r.status, r.headers["Content-Type"]) == (row["status"], row["content_type"]), row["id"]
                assert await r.read() == Path(SAMPLES, row["response_file"]).read_bytes(), row["id"]


def test_split_is_seeded_and_lossless() -> None:
    body = bytes(range(256)) * 40
    a = split_body(body, random.Random("0:x"))
    assert b"".join(a) == body and len(a) > 1 and all(a)
    assert split_body(body, random.Random("0:x")) == a
    assert split_body(body, random.Random("1:x")) != a


async def test_seed_header_changes_the_split(replay_upstream: str) -> None:
    sample = HANDFUL[0]
    counts = []
    async with aiohttp.ClientSession() as s:
        for seed in ("0", "0", "7"):
            headers = {"x-replay-sample": sample, "x-replay-seed": seed}
            async with s.post(f"{replay_upstream}/v1/chat/completions", headers=headers) as r:
                await r.read()
                counts.append(r.headers["x-replay-chunks"])
        stats = await (await s.get(f"{replay_upstream}/_fake/replay-stats")).json()
    assert counts[0] == counts[1]
    assert stats == {"last_sample": sample, "last_chunks": int(counts[2])}


async def test_replay_errors() -> None:
    app = make_replay_app(SAMPLES, strict_path=True)
    async with serve_app(app) as url, aiohttp.ClientSession() as s:
        async with s.post(f"{url}/v1/chat/completions") as r:
            assert r.status == 400 and r.headers["x-replay-error"] == "1"
        async with s.post(f"{url}/v1/chat/completions", headers={"x-replay-sample": "nope"}) as r:
            assert r.status == 404 and "unknown sample" in (await r.json())["error"]["message"]
        headers = {"x-replay-sample": HANDFUL[0]}
        async with s.post(f"{url}/wrong/path", headers=headers) as r:
            assert r.status == 404 and "recorded at /v1/chat/completions" in (await r.json())["error"]["message"]
        async with s.post(f"{url}/v1/chat/completions", headers=headers) as r:
            assert r.status == 200
        stats = await (await s.get(f"{url}/_fake/stats")).json()
        assert stats["requests"] == 4 and stats["last_request"]["headers"]["x-replay-sample"] == HANDFUL[0]


def test_load_manifest_honours_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "manifest.jsonl").write_bytes(orjson.dumps({"id": "x/y"}) + b"\n\n")
    monkeypatch.setenv("LAVA_PROVIDER_SAMPLES", str(tmp_path))
    assert load_manifest() == [{"id": "x/y"}]
    monkeypatch.delenv("LAVA_PROVIDER_SAMPLES")
    assert default_samples_dir() == Path(__file__).resolve().parents[1] / "data" / "provider-samples"


def test_sdks_read_replayed_streams(replay_upstream: str) -> None:
    rows = _rows()
    oa_id = HANDFUL[0]
    oa = openai.OpenAI(
        base_url=f"{replay_upstream}/v1", api_key="k", max_retries=0, default_headers={"x-replay-sample": oa_id}
    )
    chunks = list(oa.chat.completions.create(model="gpt-4o-mini", messages=[], stream=True))
    usage = chunks[-1].usage
    assert usage is not None and usage.model_dump(exclude_none=True) == rows[oa_id]["raw_usage"]

    an_id = HANDFUL[1]
    an = anthropic.Anthropic(
        base_url=replay_upstream, api_key="k", max_retries=0, default_headers={"x-replay-sample": an_id}
    )
    with an.messages.stream(model="claude-haiku-4-5", max_tokens=10, messages=[]) as stream:
        final = stream.get_final_message()
    want = rows[an_id]["expected_usage"]
    assert isinstance(want, dict)
    assert (final.usage.input_tokens, final.usage.output_tokens) == (want["input_tokens"], want["output_tokens"])

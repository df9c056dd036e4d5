"""The ``/_fake/`` controls and the adversarial magic models, over raw HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from tests.fakes import make_fake_app, run_in_thread, serve_app
from tests.fakes.common import STATE
from tests.fakes.server import RunningServer
from tests.fakes.sse import parse_frames

AUTH = {"Authorization": "Bearer sk-test", "x-api-key": "sk-test", "anthropic-version": "2023-06-01"}
GEMINI_AUTH = {"x-goog-api-key": "g-test"}
MSGS = [{"role": "user", "content": "hello there"}]


def chat(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": MSGS, **extra}


def stream_requests(model: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """(path, body, headers) of one streaming call per provider family, all with ``model``."""
    gemini = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}
    return [
        ("/v1/chat/completions", chat(model, stream=True, stream_options={"include_usage": True}), AUTH),
        ("/v1/responses", {"model": model, "input": "hello there", "stream": True}, AUTH),
        ("/v1/messages", chat(model, stream=True, max_tokens=50), AUTH),
        (f"/v1beta/models/{model}:streamGenerateContent?alt=sse", gemini, GEMINI_AUTH),
    ]


async def test_stats_requests_and_reset(fake_upstream: str) -> None:
    async with aiohttp.ClientSession() as s:
        stats = await (await s.get(f"{fake_upstream}/_fake/stats")).json()
        assert stats == {"requests": 0, "by_path": {}, "last_request": None}
        for _ in range(2):
            await (await s.post(f"{fake_upstream}/v1/chat/completions?x=1", json=chat("m"), headers=AUTH)).read()
        await (await s.post(f"{fake_upstream}/v1/embeddings", json={"model": "e", "input": "a"}, headers=AUTH)).read()
        stats = await (await s.get(f"{fake_upstream}/_fake/stats")).json()
        assert stats["requests"] == 3
        assert stats["by_path"] == {"/v1/chat/completions": 2, "/v1/embeddings": 1}
        last = stats["last_request"]
        assert last["method"] == "POST" and last["path"] == "/v1/embeddings" and last["query"] == {}
        assert last["headers"]["authorization"] == "Bearer sk-test"
        assert last["body"] == {"model": "e", "input": "a"}
        history = (await (await s.get(f"{fake_upstream}/_fake/requests")).json())["requests"]
        assert [h["path"] for h in history] == ["/v1/chat/completions"] * 2 + ["/v1/embeddings"]
        assert history[0]["query"] == {"x": "1"}
        assert (await (await s.post(f"{fake_upstream}/_fake/reset")).json()) == {"ok": True}
        stats = await (await s.get(f"{fake_upstream}/_fake/stats")).json()
        assert stats == {"requests": 0, "by_path": {}, "last_request": None}


def test_state_is_per_app_instance(fake_upstream_factory: Callable[..., RunningServer]) -> None:
    a, b = fake_upstream_factory(), fake_upstream_factory()
    assert a.app[STATE] is not b.app[STATE]
    import urllib.request

    urllib.request.urlopen(f"{a.url}/_fake/redirect-target").read()
    assert a.app[STATE].requests == 1 and b.app[STATE].requests == 0
    assert make_fake_app()[STATE].requests == 0


async def test_redirects_are_not_followed_by_default_client_settings(fake_upstream: str) -> None:
    async with aiohttp.ClientSession() as s:
        for path in ("/_fake/redirect", "/_fake/redirect/v1/chat/completions"):
            async with s.post(f"{fake_upstream}{path}", json=chat("m"), allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/_fake/redirect-target"
        async with s.get(f"{fake_upstream}/_fake/redirect?to=http://169.254.169.254/x", allow_redirects=False) as r:
            assert r.headers["Location"] == "http://169.254.169.254/x"
        async with s.post(f"{fake_upstream}/v1/chat/completions", json=chat("redirect-302"), headers=AUTH,
                          allow_redirects=False) as r:  # fmt: skip
            assert r.status == 302
        stats = await (await s.get(f"{fake_upstream}/_fake/stats")).json()
        assert "/_fake/redirect-target" not in stats["by_path"]


@pytest.mark.parametrize("provider", range(4), ids=["chat", "responses", "anthropic", "gemini"])
async def test_reset_midstream_aborts_the_connection(fake_upstream_shared: str, provider: int) -> None:
    path, body, headers = stream_requests("reset-midstream")[provider]
    got = b""
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.post(fake_upstream_shared + path, json=body, headers=headers) as r:
                assert r.status == 200
                async for chunk in r.content.iter_any():
                    got += chunk
    assert got  # some frames arrived before the reset


async def test_reset_midstream_non_stream_truncates_body(fake_upstream_shared: str) -> None:
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.ClientPayloadError):
            async with s.post(f"{fake_upstream_shared}/v1/chat/completions", json=chat("reset-midstream"),
                              headers=AUTH) as r:  # fmt: skip
                await r.read()


@pytest.mark.parametrize("model", ["slow-stream", "gpt-4o-mini"])
async def test_slow_stream_paces_frames(fake_upstream_shared: str, model: str) -> None:
    body = chat(model, stream=True)
    headers = {**AUTH, "x-fake-chunk-delay-ms": "20"}
    arrivals: list[float] = []
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake_upstream_shared}/v1/chat/completions", json=body, headers=headers) as r:
            start = time.perf_counter()
            async for _ in r.content.iter_any():
                arrivals.append(time.perf_counter() - start)
    # 15 frames (role + 12 words + finish + [DONE]) → ≥ 14 gaps of 20 ms
    assert arrivals[-1] >= 14 * 0.02 * 0.9
    assert len(arrivals) >= 10  # really arrived piecemeal


@pytest.mark.parametrize("provider", range(4), ids=["chat", "responses", "anthropic", "gemini"])
async def test_no_usage_stream(fake_upstream_shared: str, provider: int) -> None:
    path, body, headers = stream_requests("no-usage-stream")[provider]
    async with aiohttp.ClientSession() as s, s.post(fake_upstream_shared + path, json=body, headers=headers) as r:
        assert r.status == 200
        raw = await r.read()
    frames = [f.json() for f in parse_frames(raw) if f.data != "[DONE]"]
    assert len(frames) >= 3
    for frame in frames:
        assert frame.get("usage") is None and "usageMetadata" not in frame
        if "response" in frame:
            assert frame["response"]["usage"] is None
        if "message" in frame:
            assert "usage" not in frame["message"]


@pytest.mark.parametrize("provider", range(4), ids=["chat", "responses", "anthropic", "gemini"])
async def test_error_event_stream_is_200_then_error(fake_upstream_shared: str, provider: int) -> None:
    path, body, headers = stream_requests("error-event-stream")[provider]
    async with aiohttp.ClientSession() as s, s.post(fake_upstream_shared + path, json=body, headers=headers) as r:
        assert r.status == 200
        raw = await r.read()
    frames = parse_frames(raw)
    last = frames[-1]
    assert last.event == "error" or "error" in last.json()
    assert b"[DONE]" not in raw and b"response.completed" not in raw and b"message_stop" not in raw


async def test_latency(fake_upstream_factory: Callable[..., RunningServer]) -> None:
    server = fake_upstream_factory(latency_s=0.3)
    async with aiohttp.ClientSession() as s:
        start = time.perf_counter()
        await (await s.post(f"{server.url}/v1/chat/completions", json=chat("m"), headers=AUTH)).read()
        assert time.perf_counter() - start >= 0.29
        start = time.perf_counter()
        headers = {**AUTH, "x-fake-latency-ms": "0"}
        await (await s.post(f"{server.url}/v1/chat/completions", json=chat("m"), headers=headers)).read()
        assert time.perf_counter() - start < 0.29
        start = time.perf_counter()
        await (await s.get(f"{server.url}/_fake/stats")).read()  # controls are never delayed
        assert time.perf_counter() - start < 0.29


async def test_unknown_paths_and_html_errors(fake_upstream_shared: str) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{fake_upstream_shared}/v1/nope", json={}, headers={"Authorization": "Bearer k"}) as r:
            assert r.status == 404 and (await r.json())["error"]["message"] == "Invalid URL (POST /v1/nope)"
        async with s.post(f"{fake_upstream_shared}/v1beta/nope", json={}) as r:
            assert r.status == 404 and (await r.json())["error"]["status"] == "NOT_FOUND"
        async with s.post(
            f"{fake_upstream_shared}/v1/chat/completions", json=chat("error-502-html"), headers=AUTH
        ) as r:
            assert r.status == 502 and r.content_type == "text/html"
            assert "<h1>502 Bad Gateway</h1>" in await r.text()
        async with s.post(f"{fake_upstream_shared}/v1/messages", json=chat("anthropic/error-529", max_tokens=5),
                          headers=AUTH) as r:  # fmt: skip
            assert r.status == 529 and (await r.json())["error"]["type"] == "overloaded_error"
        url = f"{fake_upstream_shared}/v1beta/models/error-429:generateContent"
        async with s.post(url, json={"contents": [{"parts": [{"text": "x"}]}]}, headers=GEMINI_AUTH) as r:
            assert r.status == 429
            assert orjson.loads(await r.read()) == {
                "error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).",
                          "status": "RESOURCE_EXHAUSTED"}
            }  # fmt: skip


async def test_serve_app_in_the_test_loop() -> None:
    async with serve_app(make_fake_app) as url, aiohttp.ClientSession() as s:
        assert url.startswith("http://127.0.0.1:")
        async with s.get(f"{url}/v1/models", headers={"Authorization": "Bearer k"}) as r:
            assert r.status == 200 and (await r.json())["object"] == "list"
        concurrent = [s.post(f"{url}/v1/chat/completions", json=chat("m"), headers=AUTH) for _ in range(20)]
        responses = await asyncio.gather(*concurrent)
        assert {r.status for r in responses} == {200}
        for r in responses:
            r.release()


def test_run_in_thread_start_stop() -> None:
    import urllib.error
    import urllib.request

    url, stop = run_in_thread(make_fake_app)
    assert orjson.loads(urllib.request.urlopen(f"{url}/_fake/stats").read())["requests"] == 0
    stop()
    stop()  # idempotent
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/_fake/stats", timeout=2)

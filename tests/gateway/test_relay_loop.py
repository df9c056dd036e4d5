"""The one relay loop and its sinks, against in-memory stand-ins for the upstream and the client."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from lava_server.gateway.dialects import GEMINI_STREAM_GENERATE, OPENAI_CHAT
from lava_server.gateway.providers import provider_for_host
from lava_server.gateway.relay import BodySink, SseSink, relay
from lava_server.settings import Limits

GOOGLE = provider_for_host("generativelanguage.googleapis.com")
OPENAI = provider_for_host("api.openai.com")


class Content:
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = list(chunks)

    async def readany(self) -> bytes:
        await asyncio.sleep(0)
        return self._chunks.pop(0) if self._chunks else b""


class Upstream:
    def __init__(self, chunks: list[bytes]) -> None:
        self.content = Content(chunks)


class Client:
    def __init__(self, fail_after: int | None = None) -> None:
        self.written: list[bytes] = []
        self._fail_after = fail_after

    async def write(self, data: bytes) -> None:
        if self._fail_after is not None and len(self.written) >= self._fail_after:
            raise ConnectionResetError("client gone")
        self.written.append(data)


def _gemini_array(image: int) -> bytes:
    parts = [
        {"candidates": [{"content": {"parts": [{"text": "a cat"}]}}]},
        {
            "candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "A" * image}}]}}],
            "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 1290, "totalTokenCount": 1301},
            "modelVersion": "gemini-image",
        },
    ]
    return json.dumps(parts).encode()


def _run(chunks: list[bytes], sink: Any, client: Client, drains: asyncio.Semaphore, **kw: Any) -> Any:
    async def go() -> Any:
        return await relay(
            Upstream(chunks),  # type: ignore[arg-type]
            client,  # type: ignore[arg-type]
            sink,
            limits=Limits(),
            drains=drains,
            client_gone=kw.get("client_gone", False),
            on_client_gone=lambda: None,
        )

    return asyncio.run(go())


def test_a_json_array_stream_is_metered_from_its_skeleton_whatever_its_blobs() -> None:
    assert GOOGLE is not None
    body = _gemini_array(200_000)
    sink = BodySink(GEMINI_STREAM_GENERATE, GOOGLE, {}, status=200, ctype="application/json", cap=50_000)
    client = Client()
    chunks = [body[i : i + 4096] for i in range(0, len(body), 4096)]
    result = _run(chunks, sink, client, asyncio.Semaphore(1))
    assert b"".join(client.written) == body  # relayed whole, though far over the metering cap
    assert result.transport_error is None
    assert result.metered.usage is not None
    assert (result.metered.usage.input_tokens, result.metered.usage.output_tokens) == (11, 1290)
    assert result.body_bytes == len(body) and result.events == 0


def test_a_json_array_stream_whose_skeleton_outgrows_the_cap_fails() -> None:
    assert GOOGLE is not None
    text = json.dumps([{"candidates": [{"content": {"parts": [{"text": "x" * 100}]}}]}] * 100).encode()
    sink = BodySink(GEMINI_STREAM_GENERATE, GOOGLE, {}, status=200, ctype="application/json", cap=1000)
    result = _run([text], sink, Client(), asyncio.Semaphore(1))
    assert result.transport_error == "upstream response too large"


def test_the_drain_slot_is_released_even_when_metering_raises() -> None:
    assert OPENAI is not None
    drains = asyncio.Semaphore(1)

    class Exploding(SseSink):
        def feed(self, chunk: bytes) -> bytes:
            if chunk == b"boom":
                raise RuntimeError("meter bug")
            return super().feed(chunk)

    sink = Exploding(OPENAI_CHAT.stream_meter(OPENAI, None, False), strip=False)
    chunks = [b'data: {"choices":[]}\n\n', b'data: {"choices":[]}\n\n', b"boom"]
    with pytest.raises(RuntimeError):
        _run(chunks, sink, Client(fail_after=1), drains)  # the client leaves after one write: draining
    assert not drains.locked()


def test_a_client_gone_before_the_first_byte_is_drained_and_metered() -> None:
    assert OPENAI is not None
    usage = b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}\n\n'
    sink = SseSink(OPENAI_CHAT.stream_meter(OPENAI, None, False), strip=False)
    client = Client()
    result = _run([b'data: {"choices":[]}\n\n', usage], sink, client, asyncio.Semaphore(1), client_gone=True)
    assert client.written == [] and result.drained
    assert result.metered.usage is not None and result.metered.usage.output_tokens == 4


def test_with_the_drain_cap_reached_a_gone_client_is_cut_at_once() -> None:
    assert OPENAI is not None
    drains = asyncio.Semaphore(0)  # no slot free
    sink = SseSink(OPENAI_CHAT.stream_meter(OPENAI, None, False), strip=False)
    result = _run([b'data: {"choices":[]}\n\n'], sink, Client(), drains, client_gone=True)
    assert result.cut == "client disconnected and the drain cap is reached"


@pytest.mark.parametrize("strip", [False, True])
def test_the_end_marker_is_held_until_the_call_is_concluded(strip: bool) -> None:
    """SDKs stop reading at [DONE]: it goes out only after settlement, so an error can precede it."""
    assert OPENAI is not None
    done = b"data: [DONE]\n\n"
    chunks = [b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n', b'data: {"choices":[]}\n\n' + done]
    sink = SseSink(OPENAI_CHAT.stream_meter(OPENAI, None, strip), strip=strip)
    client = Client()
    _run(chunks, sink, client, asyncio.Semaphore(1))
    assert b"".join(client.written) + sink.held == b"".join(chunks)
    assert sink.held == done


def test_bytes_after_the_end_marker_release_it_in_order() -> None:
    assert OPENAI is not None
    chunks = [b"data: [DONE]\n\n", b": trailing comment\n\n"]
    sink = SseSink(OPENAI_CHAT.stream_meter(OPENAI, None, False), strip=False)
    client = Client()
    _run(chunks, sink, client, asyncio.Semaphore(1))
    assert b"".join(client.written) == b"".join(chunks) and sink.held == b""

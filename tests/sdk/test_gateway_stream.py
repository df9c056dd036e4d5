"""``lava.gateway(..., stream=True)``: SSE events, raw lines and bytes, read incrementally."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lava
from lava import Lava, ServerSentEvent
from lava._sse import SSEDecoder

from .conftest import Recorder

MakeClient = Callable[..., Lava]
URL = "https://api.openai.com/v1/chat/completions"
BODY = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
HEADERS = {"content-type": "text/event-stream", "x-lava-request-id": "req_stream"}

OPENAI_STREAM = (
    b'data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'
    b": keep-alive\n\n"
    b'data: {"choices":[{"delta":{"content":"lo \xc3\xbc"}}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":2}}\n\n'
    b"data: [DONE]\n\n"
)
ANTHROPIC_STREAM = (
    b'event: message_start\r\ndata: {"type":"message_start","message":{"usage":{"input_tokens":9}}}\r\n\r\n'
    b'event: content_block_delta\r\ndata: {"type":"content_block_delta",\r\ndata: "delta":{"text":"hi"}}\r\n\r\n'
    b'event: message_delta\rdata: {"type":"message_delta","usage":{"output_tokens":2}}\r\r'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


def chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, at = [], 0
    for size in sizes:
        if at >= len(data):
            break
        out.append(data[at : at + size])
        at += size
    if at < len(data):
        out.append(data[at:])
    return out


class SyncStream(httpx.SyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self.parts

    def close(self) -> None:
        self.closed = True


class AsyncStream(httpx.AsyncByteStream):
    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part


def streamed(data: bytes, sizes: list[int] | None = None, status: int = 200) -> httpx.Response:
    return httpx.Response(status, headers=HEADERS, stream=SyncStream(chunks(data, sizes or [7] * len(data))))


def test_openai_chunks_as_events(make_client: MakeClient) -> None:
    recorder = Recorder(streamed(OPENAI_STREAM))
    with make_client(recorder).gateway(URL, body=BODY, meter_slug="chat", stream=True) as stream:
        assert stream.lava.request_id == "req_stream"  # known before the body is read
        events = list(stream)
    assert [e.data for e in events][-1] == "[DONE]"
    payloads = [e.json() for e in events[:-1]]
    assert [p["choices"][0]["delta"]["content"] for p in payloads[:2]] == ["Hel", "lo ü"]
    assert payloads[2]["usage"] == {"prompt_tokens": 9, "completion_tokens": 2}
    assert all(e.event is None for e in events)
    assert b'"stream":true' in recorder.last.content


def test_anthropic_events_crlf_cr_and_multiline_data(make_client: MakeClient) -> None:
    recorder = Recorder(streamed(ANTHROPIC_STREAM, [1, 2, 3, 5, 8, 13] * 40))
    stream = make_client(recorder).gateway(URL, body=BODY, stream=True, format="anthropic")
    events = list(stream.events())
    assert [e.event for e in events] == ["message_start", "content_block_delta", "message_delta", "message_stop"]
    assert events[1].json() == {"type": "content_block_delta", "delta": {"text": "hi"}}
    assert events[2].json()["usage"] == {"output_tokens": 2}
    assert stream.response.is_closed  # exhausting the stream releases the connection


def test_lines_and_bytes(make_client: MakeClient) -> None:
    ndjson = b'{"a":1}\n{"b":2}\r\n{"c":3}'
    recorder = Recorder(streamed(ndjson, [3] * 20), streamed(ndjson, [4] * 20))
    client = make_client(recorder)
    assert list(client.gateway(URL, body=BODY, stream=True).lines()) == ['{"a":1}', '{"b":2}', '{"c":3}']
    assert b"".join(client.gateway(URL, body=BODY, stream=True).iter_bytes()) == ndjson


def test_sse_decoder_rules() -> None:
    decoder = SSEDecoder()
    lines = ["id: 7", "retry: 1500", "event: ping", "data:no-space", "data:  two spaces", ": comment", "", ""]
    lines += ["data: after", "", "event: orphan", "", "data: partial"]  # an event without data is not dispatched
    events = [e for e in (decoder.feed(line) for line in lines) if e is not None]
    assert events == [
        ServerSentEvent(data="no-space\n two spaces", event="ping", id="7", retry=1500),
        ServerSentEvent(data="after", event=None, id="7", retry=1500),  # the last id persists
    ]  # "partial" never got its blank line: dropped, as the standard says


def test_error_status_raises_before_streaming(make_client: MakeClient) -> None:
    body = b'{"error":{"message":"out of credits","code":"insufficient_credits","status":402}}'
    recorder = Recorder(streamed(body, status=402))
    with pytest.raises(lava.InsufficientBalanceError) as raised:
        make_client(recorder).gateway(URL, body=BODY, customer_id="c", meter_slug="m", stream=True)
    assert raised.value.code == "insufficient_credits"


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=80))
def test_any_chunking_gives_the_same_events(sizes: list[int]) -> None:
    def events_of(data: bytes, parts: list[int]) -> list[ServerSentEvent]:
        recorder = Recorder(streamed(data, parts))
        client = Lava(
            "aks_test_x",
            base_url="http://lava.test/v1/",
            http_client=httpx.Client(transport=httpx.MockTransport(recorder)),
        )
        return list(client.gateway(URL, body=BODY, stream=True))

    for data in (OPENAI_STREAM, ANTHROPIC_STREAM):
        assert events_of(data, sizes) == events_of(data, [len(data)])


async def test_async_stream(make_async_client: Callable[..., lava.AsyncLava]) -> None:
    recorder = Recorder(
        httpx.Response(200, headers=HEADERS, stream=AsyncStream(chunks(ANTHROPIC_STREAM, [5] * 200))),
        httpx.Response(200, headers=HEADERS, stream=AsyncStream(chunks(b"a\nb\n", [1] * 4))),
    )
    client = make_async_client(recorder)
    async with await client.gateway(URL, body=BODY, stream=True, meter_slug="chat") as stream:
        assert stream.lava.request_id == "req_stream"
        events = [event async for event in stream]
    assert [e.event for e in events][-1] == "message_stop"
    lines = [line async for line in (await client.gateway(URL, body=BODY, stream=True)).lines()]
    assert lines == ["a", "b"]

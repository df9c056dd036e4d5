"""Property tests for stream translation: random splits, interleaved tool-call deltas, truncation.

Whatever the pieces, the client stream is well-formed for its format, carries every tool
call whole, and its final usage event carries the last usage the upstream reported.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lava_server.gateway.rewrite import CODECS, ClientRoute, Format, ProviderRoute, StreamTranslator, translation
from lava_server.gateway.rewrite.ir import ChatRequest, Message, Text
from lava_server.gateway.rewrite.translate import PreparedRequest
from lava_server.gateway.sse import SseParser
from tests.gateway.rewrite import samples
from tests.gateway.rewrite.wellformed import READERS

CLIENTS: tuple[Format, ...] = ("openai", "anthropic", "google")
STREAM_ROWS = [r for r in samples.rows() if r["status"] == 200 and r["stream"] and samples.is_sse(r)]
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _translator(client: Format, provider: Format) -> StreamTranslator:
    request = ChatRequest(model="m", messages=(Message("user", (Text("hi"),)),), stream=True, stream_usage=True)
    prepared = PreparedRequest(request, ProviderRoute("/", "", provider), {})
    return translation(client, provider).stream(prepared, ClientRoute(stream=True))


def _run(stream: StreamTranslator, body: bytes, cuts: list[int]) -> bytes:
    parser = SseParser()
    out = bytearray()
    previous = 0
    for cut in [*sorted(cuts), len(body)]:
        for event in parser.feed(body[previous:cut]):
            out += stream.feed(event.event, event.data.decode("utf-8", "replace"))
        previous = cut
    for event in parser.flush():
        out += stream.feed(event.event, event.data.decode("utf-8", "replace"))
    return bytes(out + stream.finish())


# -- synthetic OpenAI streams with interleaved tool calls -----------------------------------

ARGS = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=6),
    st.one_of(st.integers(-1000, 1000), st.text(max_size=12), st.booleans()),
    max_size=4,
)


@st.composite
def openai_tool_stream(draw: st.DrawFn) -> tuple[bytes, list[tuple[str, str, dict[str, Any]]], str, dict[str, int]]:
    calls = [(f"call_{i}x", f"fn_{i}", draw(ARGS)) for i in range(draw(st.integers(1, 3)))]
    pieces: list[list[str]] = []
    for _, _, args in calls:
        text = json.dumps(args)
        cuts = sorted(draw(st.sets(st.integers(1, max(len(text) - 1, 1)), max_size=4)))
        bounds = [0, *[c for c in cuts if c < len(text)], len(text)]
        pieces.append([text[a:b] for a, b in zip(bounds, bounds[1:], strict=False)])
    order = draw(st.permutations([i for i, p in enumerate(pieces) for _ in p]))
    text = draw(st.text(alphabet="abc ", max_size=20))
    usage = {"prompt_tokens": draw(st.integers(1, 10**6)), "completion_tokens": draw(st.integers(1, 10**5))}
    head = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x"}
    chunks: list[dict[str, Any]] = [{**head, "choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    if text:
        chunks.append({**head, "choices": [{"index": 0, "delta": {"content": text}}]})
    sent = [0] * len(calls)
    for i in order:
        delta: dict[str, Any] = {"index": i, "function": {"arguments": pieces[i][sent[i]]}}
        if sent[i] == 0:
            delta |= {"id": calls[i][0], "type": "function"}
            delta["function"]["name"] = calls[i][1]
        sent[i] += 1
        chunks.append({**head, "choices": [{"index": 0, "delta": {"tool_calls": [delta]}}]})
    chunks.append({**head, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    chunks.append({**head, "choices": [], "usage": {**usage, "total_tokens": sum(usage.values())}})
    body = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"
    return body, calls, text, usage


@PROPS
@given(data=openai_tool_stream(), client=st.sampled_from(CLIENTS), cuts=st.lists(st.integers(0, 5000), max_size=30))
def test_interleaved_tool_call_deltas_arrive_whole(
    data: tuple[bytes, list[tuple[str, str, dict[str, Any]]], str, dict[str, int]], client: Format, cuts: list[int]
) -> None:
    body, calls, text, usage = data
    out = _run(_translator(client, "openai"), body, [c % (len(body) + 1) for c in cuts])
    seen = READERS[client](out)
    assert seen.text == text
    got = {call_id: (name, json.loads(args)) for call_id, name, args in seen.calls}
    assert got == {call_id: (name, args) for call_id, name, args in calls}
    metered = samples.meter(client, out, stream=True)
    assert metered.usage is not None
    assert (metered.usage.input_tokens, metered.usage.output_tokens) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert seen.finish in ("tool_calls", "tool_use", "STOP")


# -- recorded streams: random splits and truncation ------------------------------------------


def _usage_ends(body: bytes) -> int:
    """The byte offset where the upstream's last usage-bearing event ends."""
    parser = SseParser()
    offset = end = 0
    for event in parser.feed(body):
        offset += len(event.raw)
        if b"usage" in event.data.lower():
            end = offset
    return end


WEB_SEARCH = next(r for r in STREAM_ROWS if r["id"] == "anthropic/messages/llm-anthropic__test_web_search__i0")


@PROPS
@example(row=WEB_SEARCH, client="openai", cut=0.9490295689866193, pieces=[])  # cut inside a UTF-8 character
@given(
    row=st.sampled_from(STREAM_ROWS),
    client=st.sampled_from(CLIENTS),
    cut=st.floats(0, 1),
    pieces=st.lists(st.integers(0, 10**6), max_size=20),
)
def test_truncated_streams_stay_well_formed_and_keep_usage(
    row: dict[str, Any], client: Format, cut: float, pieces: list[int]
) -> None:
    provider = samples.API_FORMAT[row["api"]]
    full = samples.body_of(row)
    body = full[: int(len(full) * cut)]
    stream = _translator(client, provider)
    out = _run(stream, body, [p % (len(body) + 1) for p in pieces])
    seen = READERS[client](out)  # well-formed, whatever was cut
    assert seen.error is None
    codec = CODECS[client]
    if stream.usage is None:
        assert not seen.usage or not any(v for v in seen.usage.values() if isinstance(v, int))
    else:
        expected = codec.usage_fields(stream.usage)
        assert {k: seen.usage[k] for k in expected} == expected  # type: ignore[index]
    if len(body) >= _usage_ends(full):
        complete = _translator(client, provider)
        _run(complete, full, [])
        assert stream.usage == complete.usage, "usage reported before the cut is never lost"


@PROPS
@given(
    row=st.sampled_from(STREAM_ROWS),
    client=st.sampled_from(CLIENTS),
    pieces=st.lists(st.integers(0, 10**6), max_size=40),
)
def test_random_splits_do_not_change_what_the_client_sees(
    row: dict[str, Any], client: Format, pieces: list[int]
) -> None:
    provider = samples.API_FORMAT[row["api"]]
    body = samples.body_of(row)
    whole = READERS[client](_run(_translator(client, provider), body, []))
    split = READERS[client](_run(_translator(client, provider), body, [p % (len(body) + 1) for p in pieces]))
    assert (split.text, split.thinking, split.calls, split.finish) == (
        whole.text,
        whole.thinking,
        whole.calls,
        whole.finish,
    )
    assert split.usage == whole.usage


def test_gemini_clients_hold_back_bounded_tool_arguments(monkeypatch: Any) -> None:
    from lava_server.gateway.rewrite import gemini_stream
    from lava_server.gateway.rewrite.ir import BlockStart, Delta

    monkeypatch.setattr(gemini_stream, "MAX_BUFFERED_ARGUMENTS", 100)
    encoder = gemini_stream.GeminiStreamEncoder("m", sse=True)
    assert encoder.feed(BlockStart(0, "tool_call", "c1", "f")) == b""
    assert encoder.feed(Delta(0, "arguments", "x" * 60)) == b""
    out = encoder.feed(Delta(0, "arguments", "y" * 60))
    assert b'"error"' in out and b"exceed" in out
    assert encoder.feed(Delta(0, "arguments", "z")) == b"" and encoder.finish() == b""

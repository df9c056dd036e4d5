"""Every recorded OpenAI, Anthropic and Gemini answer, translated into every other client format.

The usage the client sees, metered by the client format's own dialect, must equal the
provider's usage metered by the provider's dialect, field by field (input, output, cached
input, cache writes, reasoning). Streams are fed in random-size pieces and must be
well-formed for the client format.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from lava_server.gateway.rewrite import ClientRoute, Format, ProviderRoute, translation
from lava_server.gateway.rewrite.ir import ChatRequest, Message, Text
from lava_server.gateway.sse import SseParser
from lava_server.gateway.usage import Usage
from tests.gateway.rewrite import samples
from tests.gateway.rewrite.wellformed import READERS, read_gemini

ROWS = [r for r in samples.rows() if r["status"] == 200 and r["billable"]]
ERROR_ROWS = [r for r in samples.rows() if r["status"] >= 400]
CLIENTS: tuple[Format, ...] = ("openai", "anthropic", "google")
FIELDS = ("input_tokens", "output_tokens", "cached_input_tokens", "cache_write_tokens", "reasoning_tokens")


def test_corpus_is_present() -> None:
    assert len(ROWS) >= 60
    assert {samples.API_FORMAT[r["api"]] for r in ROWS} == {"openai", "anthropic", "google"}
    assert sum(r["stream"] for r in ROWS) >= 25


def assert_same_usage(client: Format, seen: Usage | None, upstream: Usage | None) -> None:
    assert upstream is not None, "every billable sample reports usage"
    assert seen is not None, "the client sees the usage"
    for name in FIELDS:
        expected = getattr(upstream, name)
        if name == "cache_write_tokens" and client == "google":
            expected = 0  # Gemini has no cache-write field: writes are inside promptTokenCount
        assert getattr(seen, name) == expected, (name, seen, upstream)


def _request(stream: bool) -> ChatRequest:
    return ChatRequest(
        model="client-model", messages=(Message("user", (Text("hi"),)),), stream=stream, stream_usage=stream
    )


@pytest.mark.parametrize("row", [r for r in ROWS if not r["stream"]], ids=lambda r: r["id"])
@pytest.mark.parametrize("client", CLIENTS)
def test_json_answers_keep_usage(row: dict[str, Any], client: Format) -> None:
    provider = samples.API_FORMAT[row["api"]]
    body = samples.body_of(row)
    upstream = samples.meter(provider, body, stream=False)
    tr = translation(client, provider)
    from lava_server.gateway.rewrite.translate import PreparedRequest

    prepared = PreparedRequest(_request(False), ProviderRoute("/", "", provider), {})
    out = tr.response(json.loads(body), prepared, ClientRoute())
    seen = samples.meter(client, json.dumps(out).encode(), stream=False)
    assert_same_usage(client, seen.usage, upstream.usage)
    assert seen.model == upstream.model


def _split(body: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(body):
        step = rng.randint(1, 64)
        pieces.append(body[i : i + step])
        i += step
    return pieces


def translate_stream(row: dict[str, Any], client: Format, seed: int, route: ClientRoute | None = None) -> bytes:
    """The upstream recording fed in random pieces through the translator; the client's bytes."""
    provider = samples.API_FORMAT[row["api"]]
    body = samples.body_of(row)
    from lava_server.gateway.rewrite.translate import PreparedRequest

    prepared = PreparedRequest(_request(True), ProviderRoute("/", "", provider), {})
    stream = translation(client, provider).stream(prepared, route or ClientRoute(stream=True))
    out = bytearray()
    if samples.is_sse(row):
        parser = SseParser()
        for piece in _split(body, seed):
            for event in parser.feed(piece):
                out += stream.feed(event.event, event.data.decode("utf-8", "replace"))
        for event in parser.flush():
            out += stream.feed(event.event, event.data.decode("utf-8", "replace"))
    else:
        for name, data in samples.upstream_events(row, body):
            out += stream.feed(name, data)
    out += stream.finish()
    return bytes(out)


@pytest.mark.parametrize("row", [r for r in ROWS if r["stream"]], ids=lambda r: r["id"])
@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("seed", [0, 1])
def test_streams_keep_usage_and_stay_well_formed(row: dict[str, Any], client: Format, seed: int) -> None:
    provider = samples.API_FORMAT[row["api"]]
    body = samples.body_of(row)
    upstream = samples.meter(provider, body, stream=samples.is_sse(row))
    out = translate_stream(row, client, seed)
    seen = READERS[client](out)
    assert seen.error is None
    assert seen.usage is not None
    metered = samples.meter(client, out, stream=True)
    assert_same_usage(client, metered.usage, upstream.usage)
    # the client sees the same text and tool calls whichever format it speaks
    reference = READERS["anthropic"](translate_stream(row, "anthropic", 7))
    assert seen.text == reference.text
    assert [(name, json.loads(args or "{}")) for _, name, args in seen.calls] == [
        (name, json.loads(args or "{}")) for _, name, args in reference.calls
    ]


@pytest.mark.parametrize("row", [r for r in ROWS if r["stream"]][:4], ids=lambda r: r["id"])
def test_gemini_json_array_stream(row: dict[str, Any]) -> None:
    out = translate_stream(row, "google", 3, ClientRoute(stream=True, sse=False))
    seen = read_gemini(out, sse=False)
    assert seen.usage is not None and seen.finish is not None


@pytest.mark.parametrize("row", ERROR_ROWS, ids=lambda r: r["id"])
@pytest.mark.parametrize("client", CLIENTS)
def test_upstream_errors_take_the_client_shape(row: dict[str, Any], client: Format) -> None:
    provider = samples.API_FORMAT[row["api"]]
    status, body = translation(client, provider).error(row["status"], samples.body_of(row))
    assert status == row["status"]
    original = json.loads(samples.body_of(row))
    original_message = (original.get("error") or {}).get("message")
    if client == "anthropic":
        assert body["type"] == "error" and body["error"]["type"].endswith(("_error", "request_too_large"))
        assert body["error"]["message"] == original_message
    elif client == "openai":
        assert body["error"]["message"] == original_message and body["error"]["type"]
    else:
        assert body["error"]["code"] == status and body["error"]["status"].isupper()
        assert body["error"]["message"] == original_message

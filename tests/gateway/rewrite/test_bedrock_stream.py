"""Bedrock ``converse-stream`` as a client format: AWS event-stream frames, exact to the byte."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest

from lava_server.gateway.rewrite import CODECS, ClientRoute, ProviderRoute, translation
from lava_server.gateway.rewrite.bedrock_stream import frame
from lava_server.gateway.rewrite.ir import ChatRequest, Message, Text
from lava_server.gateway.rewrite.translate import PreparedRequest
from lava_server.gateway.sse import SseParser
from tests.gateway.rewrite import samples

RECORDED = sorted((samples.SAMPLES / "bedrock" / "converse_stream").glob("*.eventstream"))
STREAMS = [r for r in samples.rows() if r["status"] == 200 and r["stream"] and samples.is_sse(r)]


def parse_frames(data: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Frames with both CRCs checked; a truncated or corrupt frame fails the test."""
    out, i = [], 0
    while i < len(data):
        total, head_len = struct.unpack(">II", data[i : i + 8])
        assert zlib.crc32(data[i : i + 8]) == struct.unpack(">I", data[i + 8 : i + 12])[0], "prelude CRC"
        assert zlib.crc32(data[i : i + total - 4]) == struct.unpack(">I", data[i + total - 4 : i + total])[0]
        head, headers, j = data[i + 12 : i + 12 + head_len], {}, 0
        while j < len(head):
            n = head[j]
            name = head[j + 1 : j + 1 + n].decode()
            assert head[j + 1 + n] == 7, "string header"
            (length,) = struct.unpack(">H", head[j + 2 + n : j + 4 + n])
            headers[name] = head[j + 4 + n : j + 4 + n + length].decode()
            j += 4 + n + length
        out.append((headers, data[i + 12 + head_len : i + total - 4]))
        i += total
    return out


@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_frames_are_byte_identical_to_recorded_bedrock_frames(path: Any) -> None:
    data = path.read_bytes()
    frames = parse_frames(data)
    assert len(frames) >= 5
    assert b"".join(frame(headers, payload) for headers, payload in frames) == data


@pytest.mark.parametrize("row", STREAMS, ids=lambda r: r["id"])
def test_recorded_streams_become_well_formed_converse_streams(row: dict[str, Any]) -> None:
    provider = samples.API_FORMAT[row["api"]]
    request = ChatRequest(model="m", messages=(Message("user", (Text("hi"),)),), stream=True, stream_usage=True)
    prepared = PreparedRequest(request, ProviderRoute("/", "", provider), {})
    stream = translation("bedrock", provider).stream(prepared, ClientRoute(stream=True))
    assert stream.content_type == "application/vnd.amazon.eventstream"
    parser, out = SseParser(), bytearray()
    for event in (*parser.feed(samples.body_of(row)), *parser.flush()):
        out += stream.feed(event.event, event.data.decode("utf-8", "replace"))
    out += stream.finish()
    events = [(h[":event-type"], json.loads(p)) for h, p in parse_frames(bytes(out))]
    kinds = [k for k, _ in events]
    assert kinds[0] == "messageStart" and kinds[-2:] == ["messageStop", "metadata"]
    open_blocks: set[int] = set()
    for kind, body in events:
        if kind == "contentBlockStart":
            open_blocks.add(body["contentBlockIndex"])
        elif kind == "contentBlockDelta" and "toolUse" in body["delta"]:
            assert body["contentBlockIndex"] in open_blocks, "tool input only inside a started block"
        elif kind == "contentBlockStop":
            open_blocks.discard(body["contentBlockIndex"])
    assert stream.usage is not None
    assert events[-1][1]["usage"] == CODECS["bedrock"].usage_fields(stream.usage)

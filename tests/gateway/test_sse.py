"""SseParser: framing edge cases and the byte-exact relay guarantee."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lava_server.gateway.sse import SseEvent, SseParser


def parse(data: bytes, sizes: list[int] | None = None, max_event_bytes: int = 4 * 1024 * 1024) -> list[SseEvent]:
    parser = SseParser(max_event_bytes=max_event_bytes)
    events: list[SseEvent] = []
    pos = 0
    for size in sizes or [len(data)]:
        events += parser.feed(data[pos : pos + size])
        pos += size
    events += parser.feed(data[pos:])
    events += parser.flush()
    return events


def parse_bytewise(data: bytes) -> list[SseEvent]:
    return parse(data, [1] * len(data))


def fields(events: list[SseEvent]) -> list[tuple[str | None, bytes]]:
    return [(e.event, e.data) for e in events]


def test_basic_event_and_raw() -> None:
    events = parse(b"event: ping\ndata: {}\n\n")
    assert events == [SseEvent(event="ping", data=b"{}", raw=b"event: ping\ndata: {}\n\n")]


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_line_endings(eol: bytes) -> None:
    data = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol
    for events in (parse(data), parse_bytewise(data)):
        assert fields(events) == [(None, b"a\nb"), (None, b"c")]
        assert b"".join(e.raw for e in events) == data


def test_gemini_crlf_split_inside_terminator() -> None:
    data = b'data: {"x": 1}\r\n\r\ndata: {"x": 2}\r\n\r\n'
    for cut in range(1, len(data)):
        events = parse(data, [cut])
        assert fields(events) == [(None, b'{"x": 1}'), (None, b'{"x": 2}')]
        assert events[0].raw == b'data: {"x": 1}\r\n\r\n'


def test_trailing_cr_is_held_until_next_byte() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r\n\r") == []  # the final "\r" may be half of "\r\n"
    events = parser.feed(b"\n")
    assert events == [SseEvent(event=None, data=b"a", raw=b"data: a\r\n\r\n")]
    assert parser.flush() == []


def test_lone_cr_resolved_at_flush() -> None:
    parser = SseParser()
    assert parser.feed(b"data: a\r\r") == []
    assert parser.flush() == [SseEvent(event=None, data=b"a", raw=b"data: a\r\r")]


def test_comments_are_relayed_but_carry_no_data() -> None:
    data = b": OPENROUTER PROCESSING\n\ndata: {}\n\n"
    events = parse(data)
    assert fields(events) == [(None, b""), (None, b"{}")]
    assert events[0].raw == b": OPENROUTER PROCESSING\n\n"


def test_bom_is_ignored_for_parsing_but_kept_in_raw() -> None:
    data = b"\xef\xbb\xbfdata: x\n\n"
    for events in (parse(data), parse_bytewise(data)):
        assert fields(events) == [(None, b"x")]
        assert events[0].raw == data


def test_bom_only_at_start() -> None:
    events = parse(b"data: x\n\n\xef\xbb\xbfdata: y\n\n")
    assert fields(events) == [(None, b"x"), (None, b"")]  # the second field name is not "data"


def test_data_with_and_without_space_and_only_one_space_removed() -> None:
    events = parse(b"data:a\ndata: b\ndata:  c\n\n")
    assert events[0].data == b"a\nb\n c"


def test_event_after_data_bedrock_mantle() -> None:
    events = parse(b'data: {"type":"response.completed"}\nevent: response.completed\n\n')
    assert fields(events) == [("response.completed", b'{"type":"response.completed"}')]


def test_last_event_field_wins_and_other_fields_ignored() -> None:
    events = parse(b"event: a\nid: 7\nretry: 10\nevent: b\ndata: x\nfoo\n\n")
    assert fields(events) == [("b", b"x")]


def test_empty_data_line_and_extra_blank_lines() -> None:
    events = parse(b"data:\n\n\n\ndata: y\n\n")
    assert fields(events) == [(None, b""), (None, b""), (None, b""), (None, b"y")]
    assert [e.raw for e in events] == [b"data:\n\n", b"\n", b"\n", b"data: y\n\n"]


def test_anthropic_trailing_spaces_are_kept_in_data() -> None:
    events = parse(b'event: message_stop\ndata: {"type":"message_stop"}          \n\n')
    assert events[0].data == b'{"type":"message_stop"}          '


def test_unterminated_final_event_is_emitted_by_flush() -> None:
    parser = SseParser()
    assert parser.feed(b"data: [DONE]") == []
    assert parser.flush() == [SseEvent(event=None, data=b"[DONE]", raw=b"data: [DONE]")]
    assert parser.flush() == []


def test_unterminated_final_event_with_complete_line() -> None:
    events = parse(b"event: error\ndata: {}\n")
    assert events == [SseEvent(event="error", data=b"{}", raw=b"event: error\ndata: {}\n")]


def test_empty_input() -> None:
    assert parse(b"") == []


def test_invalid_max_event_bytes() -> None:
    with pytest.raises(ValueError):
        SseParser(max_event_bytes=0)


def test_oversized_event_is_passed_through_without_data() -> None:
    big = b"data: " + b"x" * 100 + b"\n\n"
    data = b"data: small\n\n" + big + b"data: after\n\n"
    for sizes in (None, [7] * 40):
        parser = SseParser(max_event_bytes=32)
        events: list[SseEvent] = []
        pos = 0
        for size in sizes or [len(data)]:
            events += parser.feed(data[pos : pos + size])
            pos += size
        events += parser.feed(data[pos:])
        events += parser.flush()
        assert parser.overflowed
        assert b"".join(e.raw for e in events) == data
        assert events[0] == SseEvent(event=None, data=b"small", raw=b"data: small\n\n")
        assert events[-1] == SseEvent(event=None, data=b"after", raw=b"data: after\n\n")
        assert all(e.data == b"" and e.event is None for e in events[1:-1])
        chunk = max(sizes or [len(data)])
        assert all(len(e.raw) <= 32 + chunk for e in events)  # bounded: limit + one chunk


def test_oversized_single_line_never_buffers_beyond_limit() -> None:
    parser = SseParser(max_event_bytes=64)
    out: list[SseEvent] = []
    chunk = b"x" * 50
    out += parser.feed(b"data: ")
    for _ in range(100):
        emitted = parser.feed(chunk)
        assert all(len(e.raw) <= 64 + len(chunk) for e in emitted)
        out += emitted
    out += parser.feed(b"\n\ndata: ok\n\n")
    out += parser.flush()
    assert out[-1].data == b"ok"
    assert b"".join(e.raw for e in out) == b"data: " + chunk * 100 + b"\n\ndata: ok\n\n"


def test_overflow_with_crlf_split_across_fragments() -> None:
    data = b"data: " + b"y" * 40 + b"\r\n\r\ndata: z\r\n\r\n"
    for cut in range(1, len(data)):
        events = parse(data, [cut], max_event_bytes=16)
        assert b"".join(e.raw for e in events) == data
        assert fields(events)[-1] == (None, b"z")


def test_many_events_in_one_chunk_and_one_event_in_many_chunks() -> None:
    data = b"".join(b"data: %d\n\n" % i for i in range(200))
    whole = parse(data)
    assert [e.data for e in whole] == [b"%d" % i for i in range(200)]
    assert fields(parse_bytewise(data)) == fields(whole)


# -- property: the relay never loses, adds or reorders a byte -----------------------------


def reference(data: bytes) -> list[SseEvent]:
    """A deliberately naive whole-input parser of the same framing rules."""
    events: list[SseEvent] = []
    raw = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    body = data[len(raw) :]
    name: str | None = None
    lines: list[bytes] | None = None
    for match in re.finditer(rb"([^\r\n]*)(\r\n|\r|\n|$)", body):
        line, eol = match.group(1), match.group(2)
        if not line and not eol:
            break
        raw += line + eol
        if not line and eol:
            events.append(SseEvent(name, b"\n".join(lines or []), raw))
            raw, name, lines = b"", None, None
            continue
        if line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        value = value[1:] if value.startswith(b" ") else value
        if field == b"data":
            lines = [*(lines or []), value]
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    if raw:
        events.append(SseEvent(name, b"\n".join(lines or []), raw))
    return events


_ALPHABET = [b"\n", b"\r", b"\r\n", b"data:", b"data: ", b"event:", b": c", b"x", b"{}", b"\xef\xbb\xbf", b" "]


def _random_splits(data: bytes, rng: random.Random) -> list[int]:
    sizes: list[int] = []
    remaining = len(data)
    while remaining > 0:
        size = rng.randint(1, 9)
        sizes.append(size)
        remaining -= size
    return sizes


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_ALPHABET), max_size=60),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    limit=st.sampled_from([8, 24, 4 * 1024 * 1024]),
)
def test_raw_round_trip_with_random_splits(pieces: list[bytes], seed: int, limit: int) -> None:
    data = b"".join(pieces)
    events = parse(data, _random_splits(data, random.Random(seed)), max_event_bytes=limit)
    assert b"".join(e.raw for e in events) == data
    if limit > len(data):  # no overflow: parsing is independent of chunking
        assert fields(events) == fields(parse(data, max_event_bytes=limit))
        assert [e.raw for e in events] == [e.raw for e in parse(data, max_event_bytes=limit)]


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300), seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_raw_round_trip_arbitrary_bytes(data: bytes, seed: int) -> None:
    events = parse(data, _random_splits(data, random.Random(seed)), max_event_bytes=32)
    assert b"".join(e.raw for e in events) == data


_LF_ONLY = [p for p in _ALPHABET if b"\r" not in p]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_ALPHABET), max_size=60),
    lf_only=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_matches_reference_parser(pieces: list[bytes], lf_only: bool, seed: int) -> None:
    data = b"".join(p for p in pieces if not lf_only or b"\r" not in p)
    assert parse(data, _random_splits(data, random.Random(seed))) == reference(data)
    assert parse(data) == reference(data)


# -- an oversized event still yields its metering view ----------------------------------------


def _big_terminal(image: int) -> bytes:
    doc = {
        "type": "response.completed",
        "response": {"id": "r1", "output": [{"result": "A" * image}], "usage": {"input_tokens": 2, "output_tokens": 3}},
    }
    return b"event: response.completed\ndata: " + orjson_dumps(doc) + b"\n\n"


def orjson_dumps(doc: object) -> bytes:
    import json

    return json.dumps(doc, separators=(",", ":")).encode()


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
@pytest.mark.parametrize("step", [1, 7, 100, 4096, 1 << 20])
def test_an_oversized_event_ends_with_its_name_and_skeleton(eol: bytes, step: int) -> None:
    import json

    data = (b"data: first\n\n" + _big_terminal(20_000) + b"data: after\n\n").replace(b"\n", eol)
    parser = SseParser(max_event_bytes=1000)
    events: list[SseEvent] = []
    for pos in range(0, len(data), step):
        events += parser.feed(data[pos : pos + step])
    events += parser.flush()
    assert b"".join(e.raw for e in events) == data
    assert all(len(e.raw) <= 1000 + step + 2 for e in events)  # never held whole
    named = [e for e in events if e.event == "response.completed"]
    assert len(named) == 1 and named[0].elided
    assert json.loads(named[0].data)["response"]["usage"] == {"input_tokens": 2, "output_tokens": 3}
    assert json.loads(named[0].data)["response"]["output"] == [{"result": ""}]
    assert [e.data for e in events if not e.elided] == [b"first", b"after"]


def test_an_oversized_event_at_end_of_stream_without_blank_line() -> None:
    import json

    data = _big_terminal(20_000).rstrip(b"\n")
    events = parse(data, [333] * 70, max_event_bytes=1000)
    assert b"".join(e.raw for e in events) == data
    assert json.loads(events[-1].data)["response"]["id"] == "r1"

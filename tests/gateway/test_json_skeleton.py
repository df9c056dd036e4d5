"""JsonSkeleton: a JSON text minus its long strings, read in pieces split anywhere, in bounded memory."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from lava_server.gateway.json_skeleton import JsonSkeleton


def skeleton(
    data: bytes, sizes: list[int] | None = None, max_bytes: int = 1 << 20, max_string: int = 16
) -> bytes | None:
    sk = JsonSkeleton(max_bytes, max_string=max_string)
    pos = 0
    for size in sizes or []:
        sk.feed(data[pos : pos + size])
        pos += size
    sk.feed(data[pos:])
    return sk.value()


def test_long_strings_become_empty_and_everything_else_stays() -> None:
    doc = {"type": "response.completed", "response": {"output": [{"result": "A" * 100}], "usage": {"input_tokens": 7}}}
    out = skeleton(json.dumps(doc).encode(), max_string=32)
    assert out is not None
    assert json.loads(out) == {
        "type": "response.completed",
        "response": {"output": [{"result": ""}], "usage": {"input_tokens": 7}},
    }


def test_escapes_split_across_pieces_are_kept() -> None:
    data = b'{"a": "x\\"y\\\\", "b": 1}'
    for cut in range(1, len(data)):
        assert skeleton(data, [cut]) == data


def test_a_skeleton_over_its_bound_is_abandoned() -> None:
    data = json.dumps(list(range(1000))).encode()
    assert skeleton(data, max_bytes=100) is None
    assert skeleton(b'{"a": "unterminated') is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def _elide(value: object, limit: int) -> object:
    if isinstance(value, str):
        return "" if len(json.dumps(value)) - 2 > limit else value
    if isinstance(value, list):
        return [_elide(v, limit) for v in value]
    if isinstance(value, dict):
        return {("" if len(json.dumps(k)) - 2 > limit else k): _elide(v, limit) for k, v in value.items()}
    return value


@settings(max_examples=200, deadline=None)
@given(json_values, st.lists(st.integers(min_value=1, max_value=9), max_size=30))
def test_property_equals_the_whole_document_with_long_strings_elided(value: object, sizes: list[int]) -> None:
    data = json.dumps(value).encode()
    out = skeleton(data, sizes)
    assert out is not None
    if not isinstance(value, dict) or len({k for k in value if len(json.dumps(k)) - 2 > 16}) <= 1:
        assert json.loads(out) == _elide(value, 16)

"""A strict little SSE parser for tests that compare wire framing (not a general client)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson

_SEPARATOR = re.compile(rb"\r\n\r\n|\n\n|\r\r")


@dataclass(frozen=True)
class Frame:
    event: str | None
    data: str
    comments: tuple[str, ...] = ()
    field_order: tuple[str, ...] = ()  # e.g. ("event", "data")

    def json(self) -> Any:
        return orjson.loads(self.data)


def frame_separator(raw: bytes) -> bytes:
    """The blank-line separator the stream uses (``\\n\\n`` or ``\\r\\n\\r\\n``)."""
    m = _SEPARATOR.search(raw)
    if not m:
        raise ValueError("no SSE frame separator found")
    return m.group(0)


def parse_frames(raw: bytes) -> list[Frame]:
    """Split on the stream's own separator; every non-empty block becomes a :class:`Frame`."""
    sep = frame_separator(raw)
    eol = sep[: len(sep) // 2]
    frames = []
    for block in raw.split(sep):
        if not block.strip():
            continue
        event: str | None = None
        data: list[str] = []
        comments: list[str] = []
        order: list[str] = []
        for line in block.decode().split(eol.decode()):
            if line.startswith(":"):
                comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            order.append(name)
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        frames.append(Frame(event, "\n".join(data), tuple(comments), tuple(order)))
    return frames

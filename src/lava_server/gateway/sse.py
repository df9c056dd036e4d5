"""Incremental Server-Sent Events parser for a relaying proxy.

The parser serves two masters at once:

* the **relay**: every byte fed in comes back out, in order, in the ``raw`` field of exactly
  one emitted :class:`SseEvent`, so ``b"".join(e.raw for e in events)`` reproduces the
  input exactly (BOM, comments, keep-alive blank lines and odd line endings included);
* the **meter**: each event also carries its parsed ``event`` name and ``data`` payload.

Framing follows the WHATWG ``text/event-stream`` rules: lines end in ``\\r\\n``, ``\\n``
or ``\\r`` (Gemini sends ``\\r\\n\\r\\n``); a blank line ends an event; lines starting with
``:`` are comments (``: OPENROUTER PROCESSING``); ``field:value`` drops one optional space
after the colon; several ``data`` lines are joined with ``\\n``; ``event`` may come before or
after ``data`` (Bedrock-Mantle sends data first); a UTF-8 BOM at the very start is ignored.

Blocks without any ``data`` line (comments, extra blank lines) are still emitted, with
``data=b""``, so that their bytes reach the client; meters simply ignore empty data.

A chunk that ends in ``\\r`` is held back until the next byte shows whether it is half of a
``\\r\\n``; :meth:`SseParser.flush` settles it at end of stream.

Memory is bounded by ``max_event_bytes`` (twice: the event, and the skeleton of an oversized
one) plus one fed chunk. An event that grows beyond the limit sets
:attr:`SseParser.overflowed`; from then on its bytes are emitted as they arrive as
*fragments*, ``SseEvent(event=None, data=b"", raw=..., elided=True)``, and no byte is lost.
Its data is not held: it streams through a :class:`~.json_skeleton.JsonSkeleton`, which keeps
everything but strings longer than 16 KiB (images, audio). The fragment that ends the event
carries the event's name and that skeleton as its ``data``, so the usage inside an oversized
terminal event is still read exactly (``data=b""`` if the skeleton itself outgrew the limit).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .json_skeleton import JsonSkeleton

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SseEvent", "SseParser"]

DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_NAME, _DATA, _EVENT, _IGNORE = range(4)  # where a skipped line is: its name, or its value
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(slots=True)
class SseEvent:
    event: str | None
    """Value of the last ``event:`` field, if any."""
    data: bytes
    """``data`` lines joined with ``b"\\n"`` (prefix and one optional leading space removed)."""
    raw: bytes
    """The exact bytes of this event, including its terminating blank line."""
    elided: bool = False
    """Part of an oversized event: ``raw`` is a fragment and ``data`` is empty or, on the
    fragment that ends the event, the skeleton of its data. Always relayed."""


class SseParser:
    """Feed bytes as they arrive; get complete events back. See the module docstring.

    Two scanners share one state: streams that use only ``\\n`` are cut into whole events
    at each ``\\n\\n`` (one search per event); once a ``\\r`` is seen, and while an
    oversized event is passed through, the parser works line by line.
    """

    __slots__ = (
        "_bom_pending",
        "_buf",
        "_data",
        "_event",
        "_has_data",
        "_line_started",
        "_line_wise",
        "_max",
        "_raw",
        "_scan_from",
        "_skel",
        "_skel_event",
        "_skel_field",
        "_skel_lines",
        "_skel_mode",
        "_skel_space",
        "_skipping",
        "overflowed",
    )

    def __init__(self, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> None:
        if max_event_bytes < 1:
            raise ValueError("max_event_bytes must be positive")
        self._max = max_event_bytes
        self._buf = bytearray()  # unconsumed bytes, starting at a line start
        self._scan_from = 0  # where to resume searching _buf
        self._raw = bytearray()  # raw bytes of the current event already consumed
        self._data = bytearray()
        self._has_data = False
        self._event: str | None = None
        self._bom_pending = True
        self._line_wise = False  # set for good once a "\r" shows up
        self._skipping = False  # the current event overflowed: pass its bytes through
        self._line_started = False  # skipping: part of the current line was already emitted
        # While skipping, the event's lines are still read as they pass: its name is kept and
        # its data streams through a skeleton (see the module docstring).
        self._skel: JsonSkeleton | None = None
        self._skel_event: str | None = None
        self._skel_field = bytearray()  # the field name of the current line, up to its colon
        self._skel_mode = _NAME
        self._skel_space = False  # the optional space after "data:" may still come
        self._skel_lines = 0  # data lines seen (later ones are joined with "\n")
        self.overflowed = False

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Consume ``chunk`` (split anywhere) and return the events it completed."""
        out: list[SseEvent] = []
        if not self._line_wise and b"\r" in chunk:
            self._line_wise = True
            self._scan_from = 0
        self._buf += chunk
        if self._bom_pending:
            if len(self._buf) < len(_BOM) and _BOM.startswith(self._buf):
                return out  # cannot tell yet whether this is a BOM
            self._bom_pending = False
            if self._buf.startswith(_BOM):
                self._raw += _BOM
                del self._buf[: len(_BOM)]
        self._consume(out, at_eof=False)
        self._bound_memory(out)
        return out

    def flush(self) -> list[SseEvent]:
        """At end of stream: return the final event even if its blank line never came."""
        out: list[SseEvent] = []
        self._bom_pending = False
        self._line_wise = True
        self._scan_from = 0
        self._consume(out, at_eof=True)
        if self._buf:
            line = bytes(self._buf)
            self._buf.clear()
            self._take_line(line, line, out)
        if self._raw or self._skipping:  # an oversized event's end may carry no byte, only its skeleton
            out.append(self._build_event())
        self._reset_event()
        return out

    # -- internals --------------------------------------------------------------------

    def _consume(self, out: list[SseEvent], *, at_eof: bool) -> None:
        buf = self._buf
        pos = 0
        scan = self._scan_from
        while True:
            if self._line_wise or self._skipping:
                match = _EOL.search(buf, max(scan, pos))
                if match is None:
                    break
                if match.end() == len(buf) and buf[-1] == 0x0D and not at_eof:
                    break  # a lone trailing "\r" may be the first half of "\r\n"
                self._take_line(bytes(buf[pos : match.start()]), bytes(buf[pos : match.end()]), out)
                pos = scan = match.end()
            elif pos < len(buf) and buf[pos] == 0x0A:  # a blank line right at a line start
                self._take_line(b"", b"\n", out)
                pos = scan = pos + 1
            else:
                end = buf.find(b"\n\n", max(scan, pos))
                if end < 0:
                    break
                self._take_block(bytes(buf[pos : end + 2]), out)
                pos = scan = end + 2
        del buf[:pos]
        if self._line_wise or self._skipping:
            # _buf now holds part of one line; re-check a held-back "\r" next time.
            self._scan_from = len(buf) - 1 if buf.endswith(b"\r") else len(buf)
        else:
            self._scan_from = max(len(buf) - 1, 0)  # "\n\n" may straddle two chunks

    def _take_block(self, block: bytes, out: list[SseEvent]) -> None:
        """A whole ``\\n``-only event: its lines, then the blank line that ends it.

        Only reached with no partly parsed event pending (``_raw`` may hold the BOM).
        """
        raw = bytes(self._raw) + block if self._raw else block
        self._raw.clear()
        event: str | None = None
        data: list[bytes] = []
        for line in block[:-2].split(b"\n"):
            if line[:1] == b":":  # a comment
                continue
            name, _, value = line.partition(b":")
            if value[:1] == b" ":
                value = value[1:]
            if name == b"data":
                data.append(value)
            elif name == b"event":
                event = value.decode("utf-8", "replace")
        if len(raw) > self._max:  # one fed chunk held it whole; still only its skeleton goes on
            self.overflowed = True
            skeleton = JsonSkeleton(self._max)
            skeleton.feed(b"\n".join(data))
            out.append(SseEvent(event=event, data=skeleton.value() or b"", raw=raw, elided=True))
            return
        out.append(SseEvent(event=event, data=b"\n".join(data), raw=raw))

    def _take_line(self, line: bytes, raw_line: bytes, out: list[SseEvent]) -> None:
        self._raw += raw_line
        if self._skipping:
            blank = not line and not self._line_started
            self._line_started = False
            if blank:
                out.append(self._build_event())
                self._reset_event()
                return
            self._skel_piece(line)
            self._skel_end_line()
            return
        if not line:
            out.append(self._build_event())
            self._reset_event()
            return
        self._take_field(line)
        if len(self._raw) > self._max:
            self._start_skipping(out)

    def _take_field(self, line: bytes) -> None:
        if line[:1] == b":":  # a comment
            return
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            if self._has_data:
                self._data += b"\n"
            self._data += value
            self._has_data = True
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")

    def _bound_memory(self, out: list[SseEvent]) -> None:
        """Keep at most ``max_event_bytes`` of one event in memory."""
        if not self._skipping and len(self._raw) + len(self._buf) > self._max:
            self._start_skipping(out)
        if not self._skipping:
            return
        # Pass through everything buffered except a held-back "\r" (still needed to
        # recognise "\r\n"), remembering whether a line was left unfinished.
        keep = 1 if self._buf.endswith(b"\r") else 0
        if len(self._buf) > keep:
            moved = bytes(self._buf[: len(self._buf) - keep])
            del self._buf[: len(moved)]
            self._raw += moved
            self._line_started = not moved.endswith(b"\n")
            self._scan_from = 0
            # Line-wise, _consume took every whole line; the "\n"-only scanner may leave several.
            *lines, tail = moved.split(b"\n")
            for line in lines:
                self._skel_piece(line)
                self._skel_end_line()
            self._skel_piece(tail)
        if self._raw:
            out.append(SseEvent(event=None, data=b"", raw=bytes(self._raw), elided=True))
            self._raw.clear()

    def _start_skipping(self, out: list[SseEvent]) -> None:
        """Called at a line start; what was parsed so far moves into the skeleton."""
        self.overflowed = True
        self._skipping = True
        self._line_started = False
        self._skel = JsonSkeleton(self._max)
        self._skel_event = self._event
        self._skel_mode, self._skel_lines = _NAME, 0
        self._skel_field.clear()
        if self._has_data:
            self._skel.feed(bytes(self._data))
            self._skel_lines = 1
        self._data.clear()
        self._has_data = False
        self._event = None
        if self._raw:
            out.append(SseEvent(event=None, data=b"", raw=bytes(self._raw), elided=True))
            self._raw.clear()

    def _skel_piece(self, piece: bytes) -> None:
        """Read part of one line (no line ending in it) of an event being skipped."""
        if self._skel_mode == _NAME:
            colon = piece.find(b":")
            if colon < 0:
                if len(self._skel_field) < 64:
                    self._skel_field += piece[:64]
                return
            name = bytes(self._skel_field) + piece[:colon]
            self._skel_field.clear()
            piece = piece[colon + 1 :]
            if name == b"data":
                self._skel_mode, self._skel_space = _DATA, True
                self._skel_data_line()
            elif name == b"event":
                self._skel_mode = _EVENT
                self._skel_space = True
            else:  # a comment (empty name) or a field meters do not read
                self._skel_mode = _IGNORE
        if not piece or self._skel_mode == _IGNORE:
            return
        if self._skel_space:
            self._skel_space = False
            if piece[:1] == b" ":
                piece = piece[1:]
        if self._skel_mode == _DATA and self._skel is not None:
            self._skel.feed(piece)
        elif self._skel_mode == _EVENT and len(self._skel_field) < 256:
            self._skel_field += piece[:256]

    def _skel_data_line(self) -> None:
        if self._skel_lines and self._skel is not None:
            self._skel.feed(b"\n")
        self._skel_lines += 1

    def _skel_end_line(self) -> None:
        if self._skel_mode == _NAME and bytes(self._skel_field) == b"data":
            self._skel_data_line()  # a bare "data" line: an empty value
        elif self._skel_mode == _EVENT:
            self._skel_event = self._skel_field.decode("utf-8", "replace")
        self._skel_field.clear()
        self._skel_mode = _NAME

    def _build_event(self) -> SseEvent:
        if self._skipping:
            if self._skel_mode != _NAME:
                self._skel_end_line()
            data = (self._skel.value() if self._skel is not None else None) or b""
            return SseEvent(event=self._skel_event, data=data, raw=bytes(self._raw), elided=True)
        return SseEvent(event=self._event, data=bytes(self._data), raw=bytes(self._raw))

    def _reset_event(self) -> None:
        self._raw.clear()
        self._data.clear()
        self._has_data = False
        self._event = None
        self._skipping = False
        self._line_started = False
        self._skel = None
        self._skel_event = None
        self._skel_field.clear()
        self._skel_mode, self._skel_lines = _NAME, 0

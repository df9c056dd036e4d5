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

Memory is bounded by ``max_event_bytes`` plus one fed chunk. An event that grows beyond
the limit sets :attr:`SseParser.overflowed`; from then on its bytes are emitted as they
arrive as *fragments*, ``SseEvent(event=None, data=b"", raw=...)``, up to and including its
terminating blank line. Its data is dropped (never parsed), but no byte is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["DEFAULT_MAX_EVENT_BYTES", "SseEvent", "SseParser"]

DEFAULT_MAX_EVENT_BYTES = 4 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r\n|\r|\n")


@dataclass(slots=True)
class SseEvent:
    event: str | None
    """Value of the last ``event:`` field, if any."""
    data: bytes
    """``data`` lines joined with ``b"\\n"`` (prefix and one optional leading space removed)."""
    raw: bytes
    """The exact bytes of this event, including its terminating blank line."""


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
        if self._raw:
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
        if len(raw) > self._max:
            self.overflowed = True
            out.append(SseEvent(event=None, data=b"", raw=raw))
            return
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
        out.append(SseEvent(event=event, data=b"\n".join(data), raw=raw))

    def _take_line(self, line: bytes, raw_line: bytes, out: list[SseEvent]) -> None:
        self._raw += raw_line
        if self._skipping:
            blank = not line and not self._line_started
            self._line_started = False
            if blank:
                out.append(SseEvent(event=None, data=b"", raw=bytes(self._raw)))
                self._reset_event()
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
            moved = self._buf[: len(self._buf) - keep]
            del self._buf[: len(moved)]
            self._raw += moved
            self._line_started = not moved.endswith(b"\n")
            self._scan_from = 0
        if self._raw:
            out.append(SseEvent(event=None, data=b"", raw=bytes(self._raw)))
            self._raw.clear()

    def _start_skipping(self, out: list[SseEvent]) -> None:
        self.overflowed = True
        self._skipping = True
        self._line_started = False
        self._data.clear()
        self._has_data = False
        self._event = None
        if self._raw:
            out.append(SseEvent(event=None, data=b"", raw=bytes(self._raw)))
            self._raw.clear()

    def _build_event(self) -> SseEvent:
        if self._skipping:
            return SseEvent(event=None, data=b"", raw=bytes(self._raw))
        return SseEvent(event=self._event, data=bytes(self._data), raw=bytes(self._raw))

    def _reset_event(self) -> None:
        self._raw.clear()
        self._data.clear()
        self._has_data = False
        self._event = None
        self._skipping = False
        self._line_started = False

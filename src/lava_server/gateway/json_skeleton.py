"""A JSON text reduced, as it streams past, to its small parts: the metering view of an event
too large to hold.

An SSE event over the parser's cap (a Responses ``response.completed`` that repeats a 5 MiB
generated image) still carries the usage that prices the call. :class:`JsonSkeleton` is fed the
event's data in pieces and keeps it byte for byte, except that every string longer than
``max_string`` bytes (an image, audio or file payload) is replaced by ``""``. Numbers, keys,
short strings and structure are kept, so the skeleton is valid JSON whenever the input is, and
every dialect's meter reads it unchanged.

Memory is bounded by ``max_bytes + max_string``: a skeleton that grows past ``max_bytes``
(millions of small values) is abandoned (:attr:`JsonSkeleton.failed`), and its event is then not
metered, as before.
"""

from __future__ import annotations

import re

__all__ = ["DEFAULT_MAX_STRING", "JsonSkeleton"]

DEFAULT_MAX_STRING = 16 * 1024
_STRING_STOP = re.compile(rb'["\\]')


class JsonSkeleton:
    """Feed a JSON text in pieces (split anywhere); :meth:`value` is its skeleton or None."""

    __slots__ = ("_escape", "_in_string", "_long", "_max", "_max_string", "_out", "_str", "failed")

    def __init__(self, max_bytes: int, max_string: int = DEFAULT_MAX_STRING) -> None:
        self._max = max_bytes
        self._max_string = max_string
        self._out = bytearray()
        self._str = bytearray()  # the current string's bytes, while it is short enough to keep
        self._in_string = False
        self._escape = False  # the previous piece ended inside an escape (a backslash)
        self._long = False  # the current string is over max_string: it becomes ""
        self.failed = False

    def feed(self, data: bytes) -> None:
        """Consume the next piece of the JSON text."""
        if self.failed:
            return
        pos, end = 0, len(data)
        while pos < end:
            if not self._in_string:
                quote = data.find(b'"', pos)
                stop = end if quote < 0 else quote
                self._out += data[pos:stop]
                if quote < 0:
                    break
                self._in_string, self._long = True, False
                self._str.clear()
                pos = quote + 1
            elif self._escape:
                self._keep(data[pos : pos + 1])
                self._escape = False
                pos += 1
            else:
                match = _STRING_STOP.search(data, pos)
                if match is None:
                    self._keep(data[pos:])
                    break
                at = match.start()
                if data[at] == 0x5C:  # a backslash: it and the next byte belong to the string
                    self._keep(data[pos : at + 1])
                    self._escape = True
                    pos = at + 1
                else:
                    self._keep(data[pos:at])
                    self._out += b'"' + (b"" if self._long else self._str) + b'"'
                    self._in_string = False
                    pos = at + 1
            if len(self._out) > self._max:
                self._abandon()
                return
        if len(self._out) > self._max:
            self._abandon()

    def value(self) -> bytes | None:
        """The skeleton so far, or None if it was abandoned or ends inside a string."""
        if self.failed or self._in_string:
            return None
        return bytes(self._out)

    def _keep(self, piece: bytes) -> None:
        if self._long:
            return
        self._str += piece
        if len(self._str) > self._max_string:
            self._long = True
            self._str.clear()

    def _abandon(self) -> None:
        self.failed = True
        self._out.clear()
        self._str.clear()

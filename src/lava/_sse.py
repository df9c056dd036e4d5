"""A Server-Sent Events decoder (the WHATWG ``text/event-stream`` rules), fed line by line.

Used by ``lava.gateway(..., stream=True)``: providers stream their answers as SSE (OpenAI
chunks, Anthropic ``message_start``/``content_block_*``…, Gemini ``alt=sse``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["SSEDecoder", "ServerSentEvent"]


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event. ``event`` is ``None`` when the stream named none (a "message")."""

    data: str
    event: str | None = None
    id: str | None = None
    retry: int | None = None

    def json(self) -> Any:
        """``data`` parsed as JSON (``ValueError`` when it is not, e.g. OpenAI's ``[DONE]``)."""
        return json.loads(self.data)


class SSEDecoder:
    """Feed lines (without their terminator); get an event back at each blank line.

    Comment lines (``:…``) are skipped, ``data`` lines are joined with ``\\n``, unknown
    fields are ignored, and an event without data is not dispatched. A partial event left
    when the stream ends is dropped, as the standard says.
    """

    __slots__ = ("_data", "_event", "_last_id", "_retry")

    def __init__(self) -> None:
        self._data: list[str] = []
        self._event: str | None = None
        self._last_id: str | None = None
        self._retry: int | None = None

    def feed(self, line: str) -> ServerSentEvent | None:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value or None
        elif name == "id":
            if "\0" not in value:
                self._last_id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            self._retry = int(value)
        return None

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._data:
            self._event = None
            return None
        event = ServerSentEvent(data="\n".join(self._data), event=self._event, id=self._last_id, retry=self._retry)
        self._data = []
        self._event = None
        return event

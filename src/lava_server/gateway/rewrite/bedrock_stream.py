"""Bedrock ``converse-stream`` answers: neutral events → AWS event-stream frames.

Each frame is ``total length, headers length, prelude CRC32, headers, JSON payload, message
CRC32`` (big-endian), with string headers ``:event-type``, ``:content-type`` and
``:message-type``. Events: ``messageStart``, ``contentBlockStart`` (tool use only),
``contentBlockDelta`` (text, tool-use input, reasoning), ``contentBlockStop``, ``messageStop``
and a final ``metadata`` with the usage; an upstream error becomes an ``exception`` frame.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from typing import Any, Final

from .common import dumps
from .ir import (
    BlockStart,
    BlockStop,
    Delta,
    ErrorKind,
    Finish,
    FinishReason,
    StreamError,
    StreamEvent,
    StreamStart,
    TokenUsage,
    UsageUpdate,
)

__all__ = ["EVENT_STREAM", "BedrockStreamEncoder", "frame"]

EVENT_STREAM: Final = "application/vnd.amazon.eventstream"
_STRING: Final = 7
_EXCEPTIONS: Final[dict[ErrorKind, str]] = {
    "invalid_request": "validationException",
    "authentication": "accessDeniedException",
    "permission": "accessDeniedException",
    "not_found": "resourceNotFoundException",
    "request_too_large": "validationException",
    "rate_limit": "throttlingException",
    "overloaded": "serviceUnavailableException",
    "server": "internalServerException",
}


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + bytes([_STRING]) + struct.pack(">H", len(raw_value)) + raw_value


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream message with ``headers`` (strings, in order) and ``payload``."""
    head = b"".join(_header(k, v) for k, v in headers.items())
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + head + payload
    return message + struct.pack(">I", zlib.crc32(message))


def _event(kind: str, body: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, dumps(body))


class BedrockStreamEncoder:
    """:data:`StreamEvent`\\ s → ``converse-stream`` frames."""

    content_type = EVENT_STREAM

    def __init__(
        self, usage_fields: Callable[[TokenUsage], dict[str, Any]], finish_names: dict[FinishReason, str]
    ) -> None:
        self._usage_fields = usage_fields
        self._finish_names = finish_names
        self._started = False
        self._blocks: dict[int, int] = {}
        self._next = 0
        self._finish: FinishReason | None = None
        self._usage: TokenUsage | None = None
        self._done = False

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return _event("messageStart", {"role": "assistant"})

    def feed(self, event: StreamEvent) -> bytes:
        if self._done or isinstance(event, StreamStart):
            return b""
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            self._finish = event.reason
            return b""
        if isinstance(event, StreamError):
            self._done = True
            headers = {
                ":exception-type": _EXCEPTIONS[event.kind],
                ":content-type": "application/json",
                ":message-type": "exception",
            }
            return frame(headers, dumps({"message": event.message}))
        head = self._start()
        if isinstance(event, BlockStart):
            index = self._blocks[event.index] = self._next
            self._next += 1
            if event.kind == "tool_call":
                start = {"toolUse": {"toolUseId": event.call_id, "name": event.name}}
                return head + _event("contentBlockStart", {"contentBlockIndex": index, "start": start})
            return head
        if isinstance(event, Delta) and event.index in self._blocks:
            delta: dict[str, Any]
            if event.kind == "text":
                delta = {"text": event.text}
            elif event.kind == "arguments":
                delta = {"toolUse": {"input": event.text}}
            elif event.kind == "thinking":
                delta = {"reasoningContent": {"text": event.text}}
            else:
                delta = {"reasoningContent": {"signature": event.text}}
            index = self._blocks[event.index]
            return head + _event("contentBlockDelta", {"contentBlockIndex": index, "delta": delta})
        if isinstance(event, BlockStop) and event.index in self._blocks:
            return head + _event("contentBlockStop", {"contentBlockIndex": self._blocks.pop(event.index)})
        return head

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        out = self._start()
        for index in sorted(self._blocks.values()):
            out += _event("contentBlockStop", {"contentBlockIndex": index})
        self._blocks = {}
        out += _event("messageStop", {"stopReason": self._finish_names[self._finish or "stop"]})
        usage = self._usage_fields(self._usage or TokenUsage())
        return out + _event("metadata", {"usage": usage, "metrics": {"latencyMs": 0}})

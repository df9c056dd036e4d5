"""Anthropic Messages streams: events → neutral events, and neutral events → events.

The decoder overlays each ``message_delta.usage`` on ``message_start.message.usage`` (as
Anthropic's own accumulation does) and reports the merged usage after each. The encoder
sends ``message_start`` first, then ``content_block_*`` by index, and at the end one
``message_delta`` carrying the stop reason and the full usage, then ``message_stop``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .anthropic_fields import (
    anthropic_usage,
    error_kind_from_type,
    error_type,
    finish_from_anthropic,
    finish_to_anthropic,
    usage_from_anthropic,
)
from .common import loads_object, sse_frame
from .ir import (
    BlockKind,
    BlockStart,
    BlockStop,
    Delta,
    DeltaKind,
    Finish,
    FinishReason,
    StreamError,
    StreamEvent,
    StreamStart,
    TokenUsage,
    UsageUpdate,
)

__all__ = ["AnthropicStreamDecoder", "AnthropicStreamEncoder"]

_DELTA_NAMES: dict[DeltaKind, tuple[str, str]] = {
    "text": ("text_delta", "text"),
    "thinking": ("thinking_delta", "thinking"),
    "signature": ("signature_delta", "signature"),
    "arguments": ("input_json_delta", "partial_json"),
}
_BLOCK_KINDS: dict[str, BlockKind] = {"text": "text", "thinking": "thinking", "tool_use": "tool_call"}
_DELTA_KINDS: dict[str, tuple[DeltaKind, str]] = {
    "text_delta": ("text", "text"),
    "thinking_delta": ("thinking", "thinking"),
    "signature_delta": ("signature", "signature"),
    "input_json_delta": ("arguments", "partial_json"),
}


class AnthropicStreamDecoder:
    """Messages stream events → :data:`StreamEvent`\\ s."""

    def __init__(self) -> None:
        self._usage: dict[str, Any] = {}
        self._blocks: dict[int, int] = {}  # Anthropic index → neutral index (translated blocks only)
        self._next = 0

    def _usage_event(self, usage: Any) -> list[StreamEvent]:
        if not isinstance(usage, Mapping):
            return []
        self._usage.update({k: v for k, v in usage.items() if v is not None})
        parsed = usage_from_anthropic(self._usage)
        return [UsageUpdate(parsed)] if parsed is not None else []

    def feed(self, event_name: str | None, data: str) -> list[StreamEvent]:
        obj = loads_object(data) if data else None
        if obj is None:
            return []
        kind = obj.get("type") or event_name
        if kind == "message_start":
            message = obj.get("message") if isinstance(obj.get("message"), Mapping) else {}
            assert isinstance(message, Mapping)
            start: list[StreamEvent] = [StreamStart(str(message.get("id") or ""), str(message.get("model") or ""))]
            return start + self._usage_event(message.get("usage"))
        if kind == "content_block_start":
            return self._block_start(obj)
        if kind == "content_block_delta":
            index = self._blocks.get(obj.get("index", -1))
            delta = obj.get("delta")
            if index is None or not isinstance(delta, Mapping):
                return []
            mapped = _DELTA_KINDS.get(str(delta.get("type")))
            if mapped is None:
                return []
            text = delta.get(mapped[1])
            return [Delta(index, mapped[0], text)] if isinstance(text, str) and text else []
        if kind == "content_block_stop":
            index = self._blocks.pop(obj.get("index", -1), None)
            return [BlockStop(index)] if index is not None else []
        if kind == "message_delta":
            delta = obj.get("delta") if isinstance(obj.get("delta"), Mapping) else {}
            assert isinstance(delta, Mapping)
            out: list[StreamEvent] = self._close_all()
            reason = finish_from_anthropic(delta.get("stop_reason"))
            if reason is not None:
                seq = delta.get("stop_sequence")
                out.append(Finish(reason, seq if isinstance(seq, str) else None))
            return out + self._usage_event(obj.get("usage"))
        if kind == "error":
            err = obj.get("error") if isinstance(obj.get("error"), Mapping) else {}
            assert isinstance(err, Mapping)
            return [StreamError(error_kind_from_type(err.get("type")), str(err.get("message") or "stream error"))]
        return []

    def _block_start(self, obj: Mapping[str, Any]) -> list[StreamEvent]:
        block = obj.get("content_block")
        if not isinstance(block, Mapping):
            return []
        kind = _BLOCK_KINDS.get(str(block.get("type")))
        if kind is None:  # server tool blocks, redacted thinking: not part of the client's answer
            return []
        index = self._next
        self._next += 1
        self._blocks[obj.get("index", index)] = index
        if kind == "tool_call":
            return [BlockStart(index, kind, str(block.get("id") or ""), str(block.get("name") or ""))]
        out: list[StreamEvent] = [BlockStart(index, kind)]
        initial = block.get("text" if kind == "text" else "thinking")
        if isinstance(initial, str) and initial:
            out.append(Delta(index, kind, initial))
        return out

    def _close_all(self) -> list[StreamEvent]:
        out: list[StreamEvent] = [BlockStop(i) for i in sorted(self._blocks.values())]
        self._blocks = {}
        return out

    def finish(self) -> list[StreamEvent]:
        return self._close_all()


class AnthropicStreamEncoder:
    """:data:`StreamEvent`\\ s → Messages stream events."""

    content_type = "text/event-stream"

    def __init__(self, model: str) -> None:
        self._id = f"msg_lava{time.time_ns():x}"
        self._model = model
        self._started = False
        self._open: dict[int, int] = {}  # neutral index → client index
        self._next = 0
        self._finish: FinishReason | None = None
        self._stop_sequence: str | None = None
        self._usage: TokenUsage | None = None
        self._done = False

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        usage = anthropic_usage(self._usage or TokenUsage())
        message: dict[str, Any] = {
            "id": self._id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        return sse_frame({"type": "message_start", "message": message}, "message_start")

    def feed(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, StreamStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
            return b""  # sent with the first content (or at the end): usage may still arrive first
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, Finish):
            self._finish, self._stop_sequence = event.reason, event.stop_sequence
            return b""
        if isinstance(event, StreamError):
            self._done = True
            error = {"type": "error", "error": {"type": error_type(event.kind), "message": event.message}}
            return self._start() + sse_frame(error, "error")
        head = self._start()
        if isinstance(event, BlockStart):
            index = self._next
            self._next += 1
            self._open[event.index] = index
            block: dict[str, Any]
            if event.kind == "text":
                block = {"type": "text", "text": ""}
            elif event.kind == "thinking":
                block = {"type": "thinking", "thinking": "", "signature": ""}
            else:
                block = {"type": "tool_use", "id": event.call_id, "name": event.name, "input": {}}
            start = {"type": "content_block_start", "index": index, "content_block": block}
            return head + sse_frame(start, "content_block_start")
        if isinstance(event, Delta) and event.index in self._open:
            kind, key = _DELTA_NAMES[event.kind]
            body: dict[str, Any] = {
                "type": "content_block_delta",
                "index": self._open[event.index],
                "delta": {"type": kind, key: event.text},
            }
            return head + sse_frame(body, "content_block_delta")
        if isinstance(event, BlockStop) and event.index in self._open:
            index = self._open.pop(event.index)
            return head + sse_frame({"type": "content_block_stop", "index": index}, "content_block_stop")
        return head

    def finish(self) -> bytes:
        if self._done:
            return b""
        self._done = True
        out = self._start()
        for index in sorted(self._open.values()):
            out += sse_frame({"type": "content_block_stop", "index": index}, "content_block_stop")
        self._open = {}
        delta = {"stop_reason": finish_to_anthropic(self._finish), "stop_sequence": self._stop_sequence}
        body = {"type": "message_delta", "delta": delta, "usage": anthropic_usage(self._usage or TokenUsage())}
        out += sse_frame(body, "message_delta")
        return out + sse_frame({"type": "message_stop"}, "message_stop")

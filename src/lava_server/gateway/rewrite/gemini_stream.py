"""Gemini ``streamGenerateContent`` chunks → neutral events, and back.

Each upstream chunk is a whole ``GenerateContentResponse`` with cumulative usage. A
function call arrives whole in one chunk, so the decoder emits start, arguments and stop
at once. The encoder buffers the arguments of each tool call until its block closes (Gemini
cannot send a partial ``functionCall``) and writes the ``finishReason`` and the final
``usageMetadata`` in the last chunk. Without ``alt=sse`` the client gets one JSON array,
written element by element.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .anthropic_fields import lenient_object
from .common import dumps, error_kind, loads_object, sse_frame
from .gemini_fields import error_status, finish_from_gemini, finish_to_gemini, gemini_usage, gget, usage_from_gemini
from .ir import (
    BlockStart,
    BlockStop,
    Delta,
    Finish,
    FinishReason,
    IdMap,
    StreamError,
    StreamEvent,
    StreamStart,
    TokenUsage,
    UsageUpdate,
)

__all__ = ["MAX_BUFFERED_ARGUMENTS", "GeminiStreamDecoder", "GeminiStreamEncoder"]

MAX_BUFFERED_ARGUMENTS = 8 * 1024 * 1024
"""Bytes of tool-call arguments a Gemini client's stream may hold back at once (all open calls);
past it the stream ends with an error chunk instead of growing without bound."""


class GeminiStreamDecoder:
    """Gemini chunks → :data:`StreamEvent`\\ s (candidate 0 only)."""

    def __init__(self) -> None:
        self._started = False
        self._next = 0
        self._open: tuple[str, int] | None = None  # ("text"|"thinking", index)
        self._ids = IdMap()
        self._called = False
        self._finished = False

    def _close(self, out: list[StreamEvent]) -> None:
        if self._open is not None:
            out.append(BlockStop(self._open[1]))
            self._open = None

    def feed(self, event_name: str | None, data: str) -> list[StreamEvent]:
        obj = loads_object(data) if data else None
        if obj is None:
            return []
        err = obj.get("error")
        if isinstance(err, Mapping):
            code = err.get("code")
            kind = error_kind(code) if isinstance(code, int) else "server"
            return [StreamError(kind, str(err.get("message") or "stream error"))]
        out: list[StreamEvent] = []
        if not self._started:
            self._started = True
            out.append(StreamStart(str(gget(obj, "responseId") or ""), str(gget(obj, "modelVersion") or "")))
        for cand in gget(obj, "candidates") or []:
            if not isinstance(cand, Mapping) or (gget(cand, "index") or 0) != 0:
                continue
            for part in gget(gget(cand, "content"), "parts") or []:
                self._part(part, out)
            reason = finish_from_gemini(gget(cand, "finishReason"))
            if reason is not None and not self._finished:
                self._finished = True
                self._close(out)
                out.append(Finish("tool_calls" if reason == "stop" and self._called else reason))
        usage = usage_from_gemini(gget(obj, "usageMetadata"))
        if usage is not None:
            out.append(UsageUpdate(usage))
        return out

    def _part(self, part: Any, out: list[StreamEvent]) -> None:
        if not isinstance(part, Mapping):
            return
        call = gget(part, "functionCall")
        if isinstance(call, Mapping):
            self._close(out)
            self._called = True
            name = str(gget(call, "name") or "")
            call_id = str(gget(call, "id") or "") or self._ids.new(name)
            index = self._next
            self._next += 1
            out.append(BlockStart(index, "tool_call", call_id, name))
            out.append(Delta(index, "arguments", dumps(gget(call, "args") or {}).decode()))
            out.append(BlockStop(index))
            return
        text = gget(part, "text")
        if not isinstance(text, str):
            return
        kind = "thinking" if gget(part, "thought") is True else "text"
        if self._open is None or self._open[0] != kind:
            self._close(out)
            self._open = (kind, self._next)
            self._next += 1
            out.append(BlockStart(self._open[1], "thinking" if kind == "thinking" else "text"))
        if text:
            out.append(Delta(self._open[1], "thinking" if kind == "thinking" else "text", text))

    def finish(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        self._close(out)
        return out


class GeminiStreamEncoder:
    """:data:`StreamEvent`\\ s → ``GenerateContentResponse`` chunks (SSE or one JSON array)."""

    def __init__(self, model: str, *, sse: bool) -> None:
        self._sse = sse
        self.content_type = "text/event-stream" if sse else "application/json"
        self._model = model
        self._id = f"lava{time.time_ns():x}"
        self._calls: dict[int, tuple[str, str, list[str]]] = {}  # open tool calls: id, name, argument pieces
        self._finish: FinishReason | None = None
        self._usage: TokenUsage | None = None
        self._written = 0
        self._buffered = 0
        self._done = False

    def _emit(self, body: dict[str, Any]) -> bytes:
        self._written += 1
        if self._sse:
            return sse_frame(body)
        return (b"[" if self._written == 1 else b",\r\n") + dumps(body)

    def _chunk(self, parts: list[dict[str, Any]], finish: str | None = None) -> bytes:
        cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        if finish is not None:
            cand["finishReason"] = finish
        body: dict[str, Any] = {"candidates": [cand], "modelVersion": self._model, "responseId": self._id}
        if finish is not None and self._usage is not None:
            body["usageMetadata"] = gemini_usage(self._usage)
        return self._emit(body)

    def feed(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, StreamStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
        elif isinstance(event, UsageUpdate):
            self._usage = event.usage
        elif isinstance(event, Finish):
            self._finish = event.reason
        elif isinstance(event, StreamError):
            self._done = True
            code = {"rate_limit": 429, "overloaded": 503, "invalid_request": 400}.get(event.kind, 500)
            return self._emit({"error": {"code": code, "message": event.message, "status": error_status(event.kind)}})
        elif isinstance(event, BlockStart):
            if event.kind == "tool_call":
                self._calls[event.index] = (event.call_id or "", event.name or "", [])
        elif isinstance(event, Delta):
            if event.kind == "arguments" and event.index in self._calls:
                self._buffered += len(event.text)
                if self._buffered > MAX_BUFFERED_ARGUMENTS:
                    return self.feed(StreamError("server", "tool-call arguments exceed the gateway's buffer"))
                self._calls[event.index][2].append(event.text)
            elif event.kind in ("text", "thinking"):
                part: dict[str, Any] = {"text": event.text}
                if event.kind == "thinking":
                    part["thought"] = True
                return self._chunk([part])
        elif isinstance(event, BlockStop) and event.index in self._calls:
            return self._flush_call(event.index)
        return b""

    def _flush_call(self, index: int) -> bytes:
        call_id, name, pieces = self._calls.pop(index)
        self._buffered -= sum(len(p) for p in pieces)
        call = {"name": name, "args": lenient_object("".join(pieces)), "id": call_id}
        return self._chunk([{"functionCall": call}])

    def finish(self) -> bytes:
        if self._done:
            return b"" if self._sse or not self._written else b"]"
        self._done = True
        out = b"".join(self._flush_call(index) for index in sorted(self._calls))
        out += self._chunk([{"text": ""}], finish_to_gemini(self._finish) or "OTHER")
        return out if self._sse else out + b"]"

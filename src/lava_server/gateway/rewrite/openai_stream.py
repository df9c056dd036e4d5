"""OpenAI Chat Completions streams: chunks → neutral events, and neutral events → chunks.

The decoder opens one text block and one thinking block at a time (a switch of kind closes
the other) and one block per ``tool_calls[].index``; every open block closes at
``finish_reason`` or at the end of the stream. The encoder sends the usage chunk
(``choices: []``) only when the client asked for it (``stream_options.include_usage``),
after the finish chunk and before ``data: [DONE]``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from .common import loads_object, sse_frame
from .ir import (
    BlockStart,
    BlockStop,
    Delta,
    Finish,
    FinishReason,
    StreamError,
    StreamEvent,
    StreamStart,
    TokenUsage,
    UsageUpdate,
)
from .openai_fields import finish_from_openai, finish_to_openai, openai_usage, usage_from_openai

__all__ = ["OpenAIStreamDecoder", "OpenAIStreamEncoder"]


def _finish_in(value: Any) -> FinishReason:
    return finish_from_openai(value) or "other"


class OpenAIStreamDecoder:
    """Chat Completions chunks → :data:`StreamEvent`\\ s (choice 0 only; ``n`` > 1 is refused for streams)."""

    def __init__(self) -> None:
        self._started = False
        self._next = 0
        self._text: int | None = None
        self._thinking: int | None = None
        self._tools: dict[int, int] = {}
        self._finished = False

    def _open(self, kind: str, out: list[StreamEvent]) -> int:
        index = self._next
        self._next += 1
        if kind == "text":
            if self._thinking is not None:
                out.append(BlockStop(self._thinking))
                self._thinking = None
            self._text = index
            out.append(BlockStart(index, "text"))
        else:
            if self._text is not None:
                out.append(BlockStop(self._text))
                self._text = None
            self._thinking = index
            out.append(BlockStart(index, "thinking"))
        return index

    def _close_all(self, out: list[StreamEvent]) -> None:
        for index in sorted(i for i in (self._text, self._thinking, *self._tools.values()) if i is not None):
            out.append(BlockStop(index))
        self._text = self._thinking = None
        self._tools = {}

    def feed(self, event_name: str | None, data: str) -> list[StreamEvent]:
        if not data or data.strip() == "[DONE]":
            return []
        obj = loads_object(data)
        if obj is None:
            return []
        out: list[StreamEvent] = []
        err = obj.get("error")
        if err is not None:
            message = err.get("message") if isinstance(err, Mapping) else str(err)
            return [StreamError("server", str(message or "stream error"))]
        if not self._started:
            self._started = True
            out.append(StreamStart(str(obj.get("id") or ""), str(obj.get("model") or "")))
        for choice in obj.get("choices") or []:
            if not isinstance(choice, Mapping) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if isinstance(delta, Mapping):
                self._delta(delta, out)
            reason = choice.get("finish_reason")
            if reason is not None and not self._finished:
                self._finished = True
                self._close_all(out)
                out.append(Finish(_finish_in(reason)))
        usage = obj.get("usage")
        if isinstance(usage, Mapping):
            parsed = usage_from_openai(usage)
            if parsed is not None:
                out.append(UsageUpdate(parsed))
        return out

    def _delta(self, delta: Mapping[str, Any], out: list[StreamEvent]) -> None:
        thinking = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(thinking, str) and thinking:
            index = self._thinking if self._thinking is not None else self._open("thinking", out)
            out.append(Delta(index, "thinking", thinking))
        for key in ("content", "refusal"):
            text = delta.get(key)
            if isinstance(text, str) and text:
                index = self._text if self._text is not None else self._open("text", out)
                out.append(Delta(index, "text", text))
        for call in delta.get("tool_calls") or []:
            if not isinstance(call, Mapping):
                continue
            slot = call.get("index", 0)
            fn = call.get("function") if isinstance(call.get("function"), Mapping) else {}
            assert isinstance(fn, Mapping)
            if slot not in self._tools:
                index = self._next
                self._next += 1
                self._tools[slot] = index
                out.append(BlockStart(index, "tool_call", str(call.get("id") or ""), str(fn.get("name") or "")))
            args = fn.get("arguments")
            if isinstance(args, str) and args:
                out.append(Delta(self._tools[slot], "arguments", args))

    def finish(self) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        self._close_all(out)
        return out


class OpenAIStreamEncoder:
    """:data:`StreamEvent`\\ s → Chat Completions chunks, ``data: [DONE]`` at the end."""

    content_type = "text/event-stream"

    def __init__(self, model: str, *, include_usage: bool) -> None:
        self._id = f"chatcmpl-lava{time.time_ns():x}"
        self._model = model
        self._created = int(time.time())
        self._include_usage = include_usage
        self._usage: TokenUsage | None = None
        self._tool_slots: dict[int, int] = {}
        self._started = False
        self._done = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        body = {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [choice],
        }
        return sse_frame(body)

    def _start(self) -> bytes:
        if self._started:
            return b""
        self._started = True
        return self._chunk({"role": "assistant", "content": ""})

    def feed(self, event: StreamEvent) -> bytes:
        if self._done:
            return b""
        if isinstance(event, StreamStart):
            self._id = event.id or self._id
            self._model = event.model or self._model
            return self._start()
        if isinstance(event, UsageUpdate):
            self._usage = event.usage
            return b""
        if isinstance(event, StreamError):
            self._done = True
            return sse_frame({"error": {"message": event.message, "type": event.kind, "param": None, "code": None}})
        head = self._start()
        if isinstance(event, BlockStart) and event.kind == "tool_call":
            slot = len(self._tool_slots)
            self._tool_slots[event.index] = slot
            call = {
                "index": slot,
                "id": event.call_id,
                "type": "function",
                "function": {"name": event.name, "arguments": ""},
            }
            return head + self._chunk({"tool_calls": [call]})
        if isinstance(event, Delta):
            if event.kind == "text":
                return head + self._chunk({"content": event.text})
            if event.kind == "thinking":
                return head + self._chunk({"reasoning_content": event.text})
            if event.kind == "arguments" and event.index in self._tool_slots:
                call = {"index": self._tool_slots[event.index], "function": {"arguments": event.text}}
                return head + self._chunk({"tool_calls": [call]})
            return head
        if isinstance(event, Finish):
            return head + self._chunk({}, finish_to_openai(event.reason))
        return head

    def finish(self) -> bytes:
        if self._done:
            return b"data: [DONE]\n\n"
        self._done = True
        out = self._start()
        if self._include_usage:
            body = {
                "id": self._id,
                "object": "chat.completion.chunk",
                "created": self._created,
                "model": self._model,
                "choices": [],
                "usage": openai_usage(self._usage) if self._usage is not None else None,
            }
            out += sse_frame(body)
        return out + b"data: [DONE]\n\n"

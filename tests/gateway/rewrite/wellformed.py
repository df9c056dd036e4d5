"""Parse a translated client stream strictly and rebuild what the client SDK would see.

Each ``read_*`` function asserts the stream is well-formed for its format (event order,
open/close pairing, one terminator) and returns a :class:`Seen` with the text, thinking,
tool calls, finish reason and the raw final usage object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from lava_server.gateway.sse import SseParser


@dataclass
class Seen:
    text: str = ""
    thinking: str = ""
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # id, name, arguments (JSON text)
    finish: str | None = None
    usage: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


def events(body: bytes) -> list[tuple[str | None, str]]:
    parser = SseParser()
    return [
        (e.event, e.data.decode() if isinstance(e.data, bytes) else e.data)
        for e in (*parser.feed(body), *parser.flush())
    ]


def read_openai(body: bytes) -> Seen:
    seen = Seen()
    evs = events(body)
    assert evs and evs[-1][1] == "[DONE]", "an OpenAI stream ends with data: [DONE]"
    calls: dict[int, list[str]] = {}
    finished = False
    for i, (_, data) in enumerate(evs[:-1]):
        assert data != "[DONE]", "[DONE] only at the end"
        obj = json.loads(data)
        if "error" in obj:
            assert i == len(evs) - 2, "an error chunk is the last before [DONE]"
            seen.error = obj["error"]
            continue
        assert obj["object"] == "chat.completion.chunk"
        if obj.get("usage") is not None or obj["choices"] == []:
            assert obj["choices"] == [], "the usage chunk has no choices"
            assert i == len(evs) - 2, "the usage chunk is the last before [DONE]"
            seen.usage = obj["usage"]
            continue
        (choice,) = obj["choices"]
        assert not finished, "nothing follows the finish chunk but usage"
        delta = choice["delta"]
        seen.text += delta.get("content") or ""
        seen.thinking += delta.get("reasoning_content") or ""
        for call in delta.get("tool_calls") or []:
            slot = call["index"]
            if slot not in calls:
                assert slot == len(calls), "tool-call indexes are consecutive"
                assert call["id"] and call["function"]["name"], "a tool call's first delta names it"
                calls[slot] = [call["id"], call["function"]["name"], ""]
            calls[slot][2] += call["function"].get("arguments") or ""
        if choice["finish_reason"] is not None:
            finished = True
            seen.finish = choice["finish_reason"]
    seen.calls = [(c[0], c[1], c[2]) for _, c in sorted(calls.items())]
    return seen


def read_anthropic(body: bytes) -> Seen:
    seen = Seen()
    evs = [(name, json.loads(data)) for name, data in events(body)]
    assert evs, "empty stream"
    assert evs[0][1]["type"] in ("message_start", "error")
    if evs[-1][1]["type"] == "error":
        seen.error = evs[-1][1]["error"]
        evs = evs[:-1]
        return seen
    assert evs[0][1]["type"] == "message_start"
    assert evs[-1][1]["type"] == "message_stop", "an Anthropic stream ends with message_stop"
    assert evs[-2][1]["type"] == "message_delta", "message_delta comes right before message_stop"
    usage = dict(evs[0][1]["message"]["usage"])
    blocks: dict[int, dict[str, Any]] = {}
    open_: set[int] = set()
    for name, obj in evs[1:-2]:
        assert name == obj["type"]
        kind = obj["type"]
        if kind == "content_block_start":
            index = obj["index"]
            assert index == len(blocks), "block indexes are consecutive"
            blocks[index] = dict(obj["content_block"], partial="")
            open_.add(index)
        elif kind == "content_block_delta":
            assert obj["index"] in open_, "a delta for an open block"
            block, delta = blocks[obj["index"]], obj["delta"]
            expected = {
                "text": ("text_delta",),
                "thinking": ("thinking_delta", "signature_delta"),
                "tool_use": ("input_json_delta",),
            }
            assert delta["type"] in expected[block["type"]], (block["type"], delta["type"])
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "input_json_delta":
                block["partial"] += delta["partial_json"]
        elif kind == "content_block_stop":
            assert obj["index"] in open_, "stop of an open block"
            open_.remove(obj["index"])
        else:
            raise AssertionError(f"unexpected event {kind}")
    assert not open_, "every block is closed before message_delta"
    delta = evs[-2][1]
    usage.update({k: v for k, v in delta["usage"].items() if v is not None})
    seen.usage = usage
    seen.finish = delta["delta"]["stop_reason"]
    for _, block in sorted(blocks.items()):
        if block["type"] == "text":
            seen.text += block["text"]
        elif block["type"] == "thinking":
            seen.thinking += block["thinking"]
        else:
            seen.calls.append((block["id"], block["name"], block["partial"]))
    return seen


def read_gemini(body: bytes, *, sse: bool = True) -> Seen:
    seen = Seen()
    chunks = [json.loads(data) for _, data in events(body)] if sse else json.loads(body)
    assert chunks, "empty stream"
    if "error" in chunks[-1]:
        seen.error = chunks[-1]["error"]
        chunks = chunks[:-1]
        return seen
    for i, chunk in enumerate(chunks):
        (cand,) = chunk["candidates"]
        last = i == len(chunks) - 1
        assert ("finishReason" in cand) == last, "only the last chunk has a finishReason"
        for part in cand["content"]["parts"]:
            if "functionCall" in part:
                call = part["functionCall"]
                seen.calls.append((call.get("id", ""), call["name"], json.dumps(call["args"])))
            elif part.get("thought"):
                seen.thinking += part["text"]
            else:
                seen.text += part["text"]
        if last:
            seen.finish = cand["finishReason"]
            seen.usage = chunk.get("usageMetadata")
    return seen


READERS = {"openai": read_openai, "anthropic": read_anthropic, "google": read_gemini}

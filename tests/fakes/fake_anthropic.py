"""Fake Anthropic Messages API: ``POST /v1/messages`` (JSON and SSE), count_tokens, models."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
from aiohttp import web

from . import common as c
from . import usage as u

ANTHROPIC_STREAM_CT = "text/event-stream; charset=utf-8"
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ERROR_MESSAGES = {
    413: "Request exceeds the maximum allowed number of bytes.",
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}


def _request_id(request: web.Request) -> str:
    n = c.state_of(request).next_id()
    return "req_011C" + hashlib.sha256(f"areq{n}".encode()).hexdigest()[:20]


def anthropic_error(request: web.Request, status: int, message: str, type_: str | None = None) -> web.Response:
    rid = _request_id(request)
    err_type = type_ or _ERROR_TYPES.get(status, "api_error")
    body = {"type": "error", "error": {"type": err_type, "message": message}, "request_id": rid}
    headers = {"request-id": rid}
    if status == 429:
        headers["anthropic-ratelimit-requests-remaining"] = "0"
    return c.json_response(body, status=status, headers=headers)


def check_auth(request: web.Request) -> web.Response | None:
    key = request.headers.get("x-api-key") or c.bearer_token(request)
    if not key:
        return anthropic_error(request, 401, "x-api-key header is required")
    if not c.key_is_valid(c.state_of(request), key):
        return anthropic_error(request, 401, "invalid x-api-key")
    return None


def _magic_error(request: web.Request, magic: c.Magic, model: str) -> web.StreamResponse | None:
    if magic.name == "redirect-302":
        return c.redirect_response()
    status = magic.error_status
    if status is None:
        return None
    if magic.error_variant == "html":
        return c.html_error(status)
    if status == 401:
        return anthropic_error(request, 401, "invalid x-api-key")
    if status == 404:
        return anthropic_error(request, 404, f"model: {model}")
    return anthropic_error(request, status, _ERROR_MESSAGES.get(status, f"{model}: simulated error {status}"))


async def _prelude(request: web.Request) -> tuple[dict[str, Any], c.Magic] | web.StreamResponse:
    if (denied := check_auth(request)) is not None:
        return denied
    if c.state_of(request).require_anthropic_version and "anthropic-version" not in request.headers:
        return anthropic_error(request, 400, "anthropic-version: header is required")
    body = await c.read_json(request)
    if body is None:
        return anthropic_error(request, 400, "There was an issue with your request body: invalid JSON")
    for field in ("model", "messages"):
        if field not in body:
            return anthropic_error(request, 400, f"{field}: Field required")
    magic = c.magic_of(body["model"])
    if (err := _magic_error(request, magic, str(body["model"]))) is not None:
        return err
    return body, magic


def _blocks(plan: u.Plan, tool_id: str) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if plan.reasoning_tokens:
        thinking = " ".join(c.lorem_words(plan.reasoning_tokens, offset=5))
        blocks.append({"type": "thinking", "thinking": thinking, "signature": "EqoBCkgIBhABGAIiQFakeSig=="})
    if plan.tool:
        args = c.sample_value(plan.tool.schema)
        blocks.append({"type": "tool_use", "id": tool_id, "name": plan.tool.name, "input": args})
    else:
        blocks.append({"type": "text", "text": " ".join(c.lorem_words(plan.text_words))})
    return blocks


def _stop_reason(plan: u.Plan) -> str:
    return "tool_use" if plan.tool else "max_tokens" if plan.truncated else "end_turn"


def _frame(event: str, data: dict[str, Any]) -> bytes:
    payload = orjson.dumps(data)
    # Real Anthropic pads its data lines with trailing spaces; so do we, deterministically.
    return c.sse(payload, event=event, pad=(len(payload) * 7) % 16)


def _words_in_chunks(text: str, size: int = 3) -> list[str]:
    ws = text.split(" ")
    return [(" " if i else "") + " ".join(ws[i : i + size]) for i in range(0, len(ws), size)]


def _stream_frames(body: dict[str, Any], plan: u.Plan, msg_id: str, tool_id: str, magic: c.Magic) -> list[bytes]:
    with_usage = magic.name != "no-usage-stream"
    message: dict[str, Any] = {
        "model": body["model"],
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "stop_details": None,
    }
    if with_usage:  # real message_start usage has a placeholder output count and no details
        message["usage"] = u.anthropic_usage(plan, output_tokens=1)
        message["usage"].pop("output_tokens_details", None)
    frames = [_frame("message_start", {"type": "message_start", "message": message})]
    deltas_sent = 0
    for index, block in enumerate(_blocks(plan, tool_id)):
        kind = block["type"]
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": t} for t in _words_in_chunks(block["text"])]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": t} for t in _words_in_chunks(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block["signature"]})
        else:
            start = {**block, "input": {}}
            args = orjson.dumps(block["input"]).decode()
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in ["", *_split(args, 4)]]
        frames.append(
            _frame("content_block_start", {"type": "content_block_start", "index": index, "content_block": start})
        )
        if index == 0:
            frames.append(c.sse(b'{"type": "ping"}', event="ping"))
        for delta in deltas:
            frames.append(
                _frame("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
            )
            deltas_sent += 1
            if magic.name == "error-event-stream" and deltas_sent == 2:
                err = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
                frames.append(_frame("error", err))
                return frames
        frames.append(_frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta_msg: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": _stop_reason(plan), "stop_sequence": None, "stop_details": None},
    }
    if with_usage:
        full = u.anthropic_usage(plan)
        keys = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
        delta_msg["usage"] = {k: full[k] for k in keys}
        if "output_tokens_details" in full:
            delta_msg["usage"]["output_tokens_details"] = full["output_tokens_details"]
    frames.append(_frame("message_delta", delta_msg))
    frames.append(_frame("message_stop", {"type": "message_stop"}))
    return frames


def _split(text: str, parts: int) -> list[str]:
    step = max(1, -(-len(text) // parts))
    return [text[i : i + step] for i in range(0, len(text), step)]


async def messages(request: web.Request) -> web.StreamResponse:
    pre = await _prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    body, magic = pre
    if "max_tokens" not in body:
        return anthropic_error(request, 400, "max_tokens: Field required")
    plan = u.plan_anthropic(body)
    n = c.state_of(request).next_id()
    msg_id = "msg_01" + c.token_id("", n, 22)
    tool_id = "toolu_01" + c.token_id("", n + 10**9, 22)
    headers = {"request-id": _request_id(request)}
    if body.get("stream") is True:
        frames = _stream_frames(body, plan, msg_id, tool_id, magic)
        return await c.send_stream(request, frames, content_type=ANTHROPIC_STREAM_CT, headers=headers, magic=magic)
    result = {
        "model": body["model"],
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": _blocks(plan, tool_id),
        "stop_reason": _stop_reason(plan),
        "stop_sequence": None,
        "stop_details": None,
        "usage": u.anthropic_usage(plan),
    }
    if magic.name == "reset-midstream":
        return await c.send_truncated_body(request, c.dumps(result), "application/json")
    return c.json_response(result, headers=headers)


async def count_tokens(request: web.Request) -> web.StreamResponse:
    pre = await _prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    plan = u.plan_anthropic(pre[0])
    total = plan.prompt_tokens + plan.cached_tokens + plan.cache_write_tokens
    return c.json_response({"input_tokens": total}, headers={"request-id": _request_id(request)})


async def list_models(request: web.Request) -> web.StreamResponse:
    if (denied := check_auth(request)) is not None:
        return denied
    models = [("claude-sonnet-5", "Claude Sonnet 5"), ("claude-haiku-4-5-20251001", "Claude Haiku 4.5")]
    data = [
        {"type": "model", "id": mid, "display_name": name, "created_at": "2025-09-29T00:00:00Z"} for mid, name in models
    ]
    body = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
    return c.json_response(body, headers={"request-id": _request_id(request)})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/messages", messages)
    app.router.add_post("/v1/messages/count_tokens", count_tokens)

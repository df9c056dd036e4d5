"""Fake OpenAI Responses API: ``POST /v1/responses`` (JSON and SSE)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from . import common as c
from . import usage as u
from .fake_openai import OPENAI_STREAM_CT, openai_error, openai_headers, prelude, split_text, tool_arguments


def _response_object(
    body: dict[str, Any], rid: str, created: int, *, status: str, output: list[Any], usage: Any
) -> dict[str, Any]:
    raw_reasoning = body.get("reasoning")
    reasoning: dict[str, Any] = raw_reasoning if isinstance(raw_reasoning, dict) else {}
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "completed_at": None if status == "in_progress" else created,
        "error": None,
        "frequency_penalty": 0.0,
        "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "model": body["model"],
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "presence_penalty": 0.0,
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": None,
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": "default",
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": body.get("text") or {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools") or [],
        "top_logprobs": 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


class _Ids:
    def __init__(self, n: int) -> None:
        self.response = c.token_id("resp_", n, 48)
        self.reasoning = c.token_id("rs_", n, 48)
        self.message = c.token_id("msg_", n, 48)
        self.function = c.token_id("fc_", n, 48)
        self.call = c.token_id("call_", n)


def _final_items(plan: u.Plan, ids: _Ids) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if plan.reasoning_tokens:
        items.append({"id": ids.reasoning, "type": "reasoning", "summary": []})
    if plan.tool:
        args = tool_arguments(plan)
        items.append(
            {
                "id": ids.function,
                "type": "function_call",
                "status": "completed",
                "arguments": args,
                "call_id": ids.call,
                "name": plan.tool.name,
            }
        )
    else:
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": _text(plan)}
        items.append(
            {"id": ids.message, "type": "message", "status": "completed", "content": [part], "role": "assistant"}
        )
    return items


def _text(plan: u.Plan) -> str:
    return " ".join(c.lorem_words(plan.text_words))


def _stream_frames(
    body: dict[str, Any], plan: u.Plan, ids: _Ids, created: int, magic: c.Magic, final_status: str
) -> list[bytes]:
    frames: list[bytes] = []

    def emit(event: str, **fields: Any) -> None:
        frames.append(c.sse({"type": event, **fields, "sequence_number": len(frames)}, event=event))

    def resp(status: str, output: list[Any], usage: Any) -> dict[str, Any]:
        return _response_object(body, ids.response, created, status=status, output=output, usage=usage)

    emit("response.created", response=resp("in_progress", [], None))
    emit("response.in_progress", response=resp("in_progress", [], None))
    items = _final_items(plan, ids)
    for idx, item in enumerate(items):
        if item["type"] == "reasoning":
            emit("response.output_item.added", item=item, output_index=idx)
            emit("response.output_item.done", item=item, output_index=idx)
        elif item["type"] == "function_call":
            emit(
                "response.output_item.added", item={**item, "status": "in_progress", "arguments": ""}, output_index=idx
            )
            for n, piece in enumerate(split_text(item["arguments"], 4)):
                emit(
                    "response.function_call_arguments.delta",
                    delta=piece,
                    item_id=item["id"],
                    obfuscation=c.obfuscation(n),
                    output_index=idx,
                )
            emit(
                "response.function_call_arguments.done",
                arguments=item["arguments"],
                item_id=item["id"],
                name=item["name"],
                output_index=idx,
            )
            emit("response.output_item.done", item=item, output_index=idx)
        else:
            added = {**item, "status": "in_progress", "content": []}
            emit("response.output_item.added", item=added, output_index=idx)
            empty = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
            where = {"content_index": 0, "item_id": item["id"], "output_index": idx}
            emit("response.content_part.added", **where, part=empty)
            for n, word in enumerate(c.lorem_words(plan.text_words)):
                emit(
                    "response.output_text.delta",
                    **where,
                    delta=word if n == 0 else " " + word,
                    logprobs=[],
                    obfuscation=c.obfuscation(n),
                )
                if magic.name == "error-event-stream" and n == 1:
                    frames.append(
                        c.sse(
                            {
                                "type": "error",
                                "code": "server_error",
                                "message": "The server had an error while processing your request.",
                                "param": None,
                                "sequence_number": len(frames),
                            },
                            event="error",
                        )
                    )
                    return frames
            emit("response.output_text.done", **where, logprobs=[], text=_text(plan))
            emit("response.content_part.done", **where, part=item["content"][0])
            emit("response.output_item.done", item=item, output_index=idx)
    usage = None if magic.name == "no-usage-stream" else u.openai_responses_usage(plan)
    emit(f"response.{final_status}", response=resp(final_status, items, usage))
    return frames


async def create_response(request: web.Request) -> web.StreamResponse:
    pre = await prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    body, magic = pre
    if body.get("input") is None and not body.get("previous_response_id") and not body.get("prompt"):
        return openai_error(
            request, 400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    plan = u.plan_openai_responses(body)
    ids = _Ids(c.state_of(request).next_id())
    created = c.now()
    status = "incomplete" if plan.truncated else "completed"
    headers = openai_headers(request)
    if body.get("stream") is True:
        frames = _stream_frames(body, plan, ids, created, magic, status)
        return await c.send_stream(request, frames, content_type=OPENAI_STREAM_CT, headers=headers, magic=magic)
    result = _response_object(
        body,
        ids.response,
        created,
        status=status,
        output=_final_items(plan, ids),
        usage=u.openai_responses_usage(plan),
    )
    result.update(billing={"payer": "developer"}, moderation=None)  # only on the non-stream object
    if magic.name == "reset-midstream":
        return await c.send_truncated_body(request, c.dumps(result), "application/json")
    return c.json_response(result, headers=headers)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/responses", create_response)

"""A built-in stand-in for OpenAI Chat Completions, mounted only by ``lava serve --demo`` when no
OpenAI key is configured, so a newcomer can make a billed call in a minute without any key.

It speaks the real wire format (JSON, and SSE with ``stream_options.include_usage``) and reports
real-looking usage: one token per word of the prompt plus overhead, and its fixed reply. The
demo says loudly that ``api.openai.com`` is served by it.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

PATH = "/_demo/openai"
REPLY = "Hello from the Lava demo provider. This call was metered, priced and charged to the demo wallet."


def _usage(body: dict[str, Any]) -> dict[str, int]:
    words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []) if isinstance(m, dict))
    prompt = words + 3 * len(body.get("messages", [])) + 3
    completion = len(REPLY.split())
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


async def chat_completions(request: web.Request) -> web.StreamResponse:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("model"), str):
        error = {
            "error": {"message": "model is required", "type": "invalid_request_error", "param": "model", "code": None}
        }
        return web.json_response(error, status=400)
    rid, created, model = f"chatcmpl-demo{time.time_ns()}", int(time.time()), body["model"]
    usage = _usage(body)
    if not body.get("stream"):
        return web.json_response(
            {
                "id": rid,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}, "finish_reason": "stop"}],
                "usage": usage,
            }
        )
    with_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream; charset=utf-8"})
    await response.prepare(request)

    def chunk(choices: list[dict[str, Any]], usage_value: Any = None) -> bytes:
        frame: dict[str, Any] = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
        frame["choices"] = choices
        if with_usage:
            frame["usage"] = usage_value
        return b"data: " + orjson.dumps(frame) + b"\n\n"

    for word in REPLY.split(" "):
        await response.write(chunk([{"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]))
    await response.write(chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    if with_usage:
        await response.write(chunk([], usage))
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def not_served(request: web.Request) -> web.Response:
    """Any other endpoint: an OpenAI-shaped 404 that says what the demo serves and how to reach OpenAI."""
    path = request.path.removeprefix(PATH) or "/"
    message = (
        f"{request.method} {path} is not served by the Lava demo provider, which stands in for api.openai.com "
        "and serves only POST /v1/chat/completions; to reach OpenAI, store a key with "
        "`lava provider-keys set --provider openai --key sk-...` and restart"
    )
    error = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": "unknown_url"}}
    return web.json_response(error, status=404)


def mount(app: web.Application) -> None:
    app.router.add_post(PATH + "/v1/chat/completions", chat_completions)
    app.router.add_route("*", PATH + "/{tail:.*}", not_served)

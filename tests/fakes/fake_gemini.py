"""Fake Google Gemini API (generativelanguage v1beta): generateContent, streamGenerateContent,
countTokens and the model list."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from . import common as c
from . import usage as u

GEMINI_JSON_CT = "application/json; charset=UTF-8"
GEMINI_SSE_CT = "text/event-stream"
_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
_MESSAGES = {
    429: "Resource has been exhausted (e.g. check quota).",
    500: "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}


def _pretty(obj: Any) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)


def gemini_error(status: int, message: str, *, details: list[Any] | None = None) -> web.Response:
    err: dict[str, Any] = {"code": status, "message": message, "status": _STATUS.get(status, "UNKNOWN")}
    if details:
        err["details"] = details
    return web.Response(body=_pretty({"error": err}), status=status, headers={"Content-Type": GEMINI_JSON_CT})


def check_auth(request: web.Request) -> web.Response | None:
    key = request.headers.get("x-goog-api-key") or request.query.get("key")
    if not key:
        return gemini_error(
            403,
            "Method doesn't allow unregistered callers (callers without established identity). "
            "Please use API Key or other form of API consumer identity to call this API.",
        )
    if not c.key_is_valid(c.state_of(request), key):
        info = {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "generativelanguage.googleapis.com"},
        }
        return gemini_error(400, "API key not valid. Please pass a valid API key.", details=[info])
    return None


def _candidate(parts: list[dict[str, Any]], finish: str | None) -> dict[str, Any]:
    cand: dict[str, Any] = {"content": {"parts": parts, "role": "model"}}
    if finish:
        cand["finishReason"] = finish
    cand["index"] = 0
    return cand


def _chunk(parts: list[dict[str, Any]], finish: str | None, usage: Any, model: str, rid: str) -> dict[str, Any]:
    obj: dict[str, Any] = {"candidates": [_candidate(parts, finish)]}
    if usage is not None:
        obj["usageMetadata"] = usage
    obj.update(modelVersion=model, responseId=rid)
    return obj


def _finish(plan: u.Plan) -> str:
    return "MAX_TOKENS" if plan.truncated else "STOP"


def _chunks(body: dict[str, Any], plan: u.Plan, model: str, rid: str, magic: c.Magic) -> list[dict[str, Any]]:
    """The stream as a list of GenerateContentResponse objects (cumulative usage on each)."""
    with_usage = magic.name != "no-usage-stream"
    thought_parts: list[dict[str, Any]] = []
    thinking = u.gget(u.gget(body, "generationConfig"), "thinkingConfig")
    if plan.reasoning_tokens and u.gget(thinking, "includeThoughts"):
        thought_parts = [{"text": "**Thinking** " + " ".join(c.lorem_words(8, offset=4)), "thought": True}]
    if plan.tool:
        call = {"functionCall": {"name": plan.tool.name, "args": c.sample_value(plan.tool.schema)}}
        usage = u.gemini_usage(plan) if with_usage else None
        return [_chunk([*thought_parts, call], "STOP", usage, model, rid)]
    ws = c.lorem_words(plan.text_words)
    groups = [ws[i : i + 5] for i in range(0, len(ws), 5)] or [[]]
    out: list[dict[str, Any]] = []
    done = 0
    for i, group in enumerate(groups):
        last = i == len(groups) - 1
        text = ("" if i == 0 else " ") + " ".join(group)
        done += len(group)
        usage = u.gemini_usage(plan, candidates=done if i else 0) if with_usage else None
        parts = [*(thought_parts if i == 0 else []), {"text": text}]
        out.append(_chunk(parts, _finish(plan) if last else None, usage, model, rid))
        if magic.name == "error-event-stream" and i == 0:
            out.append({"error": {"code": 500, "message": _MESSAGES[500], "status": "INTERNAL"}})
            break
    return out


def _whole(chunks: list[dict[str, Any]], plan: u.Plan, model: str, rid: str) -> dict[str, Any]:
    chunks = [ch for ch in chunks if "candidates" in ch]
    parts: list[dict[str, Any]] = []
    for ch in chunks:
        parts += ch["candidates"][0]["content"]["parts"]
    merged: list[dict[str, Any]] = []
    for p in parts:
        if merged and "text" in p and "text" in merged[-1] and p.get("thought") == merged[-1].get("thought"):
            merged[-1] = {**merged[-1], "text": merged[-1]["text"] + p["text"]}
        else:
            merged.append(p)
    return _chunk(merged, chunks[-1]["candidates"][0].get("finishReason"), u.gemini_usage(plan), model, rid)


async def model_action(request: web.Request) -> web.StreamResponse:
    if (denied := check_auth(request)) is not None:
        return denied
    model, _, action = request.match_info["model"].rpartition(":")
    if action not in ("generateContent", "streamGenerateContent", "countTokens"):
        return gemini_error(404, f"Method not found: {action}")
    magic = c.magic_of(model)
    if magic.name == "redirect-302":
        return c.redirect_response()
    if magic.error_status is not None:
        if magic.error_variant == "html":
            return c.html_error(magic.error_status)
        msg = _MESSAGES.get(magic.error_status, f"Request contains an invalid argument. ({model})")
        if magic.error_status == 404:
            msg = f"models/{model} is not found for API version v1beta, or is not supported for {action}."
        return gemini_error(magic.error_status, msg)
    body = await c.read_json(request)
    if body is None:
        return gemini_error(400, "Invalid JSON payload received. Unexpected token.")
    if not u.gget(body, "contents"):
        return gemini_error(400, "* GenerateContentRequest.contents: contents is not specified\n")
    plan = u.plan_gemini(body)
    if action == "countTokens":
        details = [{"modality": "TEXT", "tokenCount": plan.prompt_tokens}]
        return c.json_response(
            {"totalTokens": plan.prompt_tokens, "promptTokensDetails": details}, content_type=GEMINI_JSON_CT
        )
    rid = c.token_id("", c.state_of(request).next_id(), 23)
    chunks = _chunks(body, plan, model, rid, magic)
    if action == "generateContent":
        result = _pretty(_whole(chunks, plan, model, rid))
        if magic.name == "reset-midstream":
            return await c.send_truncated_body(request, result, GEMINI_JSON_CT)
        return web.Response(body=result, headers={"Content-Type": GEMINI_JSON_CT})
    if request.query.get("alt") == "sse":
        frames = [c.sse(ch, eol="\r\n") for ch in chunks]
        return await c.send_stream(request, frames, content_type=GEMINI_SSE_CT, magic=magic)
    # Without alt=sse the stream is one JSON array, written element by element, with the same
    # odd "\n,\r\n" element separator as the real API.
    frames = [(b"[" if i == 0 else b"\n,\r\n") + _pretty(ch) for i, ch in enumerate(chunks)] + [b"\n]"]
    return await c.send_stream(request, frames, content_type=GEMINI_JSON_CT, magic=magic)


async def list_models(request: web.Request) -> web.StreamResponse:
    if (denied := check_auth(request)) is not None:
        return denied
    names = ("gemini-2.0-flash", "gemini-2.5-flash", "gemini-2.5-pro")
    models = [
        {
            "name": f"models/{n}",
            "version": "001",
            "displayName": n,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }
        for n in names
    ]
    return web.Response(body=_pretty({"models": models}), headers={"Content-Type": GEMINI_JSON_CT})


def add_routes(app: web.Application) -> None:
    for version in ("v1beta", "v1"):
        app.router.add_post(f"/{version}/models/{{model}}", model_action)
    app.router.add_get("/v1beta/models", list_models)

"""Fake OpenAI (and OpenAI-compatible) API: chat completions, embeddings, audio, models.

The Responses API lives in :mod:`tests.fakes.fake_openai_responses`; it reuses the auth/error
helpers here.
"""

from __future__ import annotations

import base64
import hashlib
import random
import struct
from email.message import Message
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

import orjson
from aiohttp import web

from . import common as c
from . import usage as u

OPENAI_STREAM_CT = "text/event-stream; charset=utf-8"
FINGERPRINT = "fp_fake0c0ffee"
_DEFAULT_MODELS = ("gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "o4-mini", "text-embedding-3-small", "whisper-1")


# --------------------------------------------------------------------------------------------
# Headers, auth and errors
# --------------------------------------------------------------------------------------------


def openai_headers(request: web.Request) -> dict[str, str]:
    n = c.state_of(request).next_id()
    return {
        "x-request-id": "req_" + hashlib.sha256(f"req{n}".encode()).hexdigest()[:32],
        "openai-processing-ms": "7",
        "openai-version": "2020-10-01",
    }


def openai_error(
    request: web.Request,
    status: int,
    message: str,
    type_: str = "invalid_request_error",
    *,
    param: str | None = None,
    code: str | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    headers = openai_headers(request)
    if status == 429:
        headers.update({"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "0"})
        headers["x-ratelimit-reset-requests"] = "120ms"
    return c.json_response(body, status=status, headers=headers)


def check_auth(request: web.Request) -> web.Response | None:
    key = c.bearer_token(request)
    if not key:
        return openai_error(
            request,
            401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header "
            "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
            "blank username) if you're accessing the API from your browser and are prompted for a "
            "username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        )
    if not c.key_is_valid(c.state_of(request), key):
        shown = key if len(key) <= 8 else f"{key[:3]}*****{key[-4:]}"
        return openai_error(
            request,
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )
    return None


def magic_error(request: web.Request, magic: c.Magic, model: str) -> web.StreamResponse | None:
    """The response for ``error-<status>`` / ``redirect-302`` models, or None."""
    if magic.name == "redirect-302":
        return c.redirect_response()
    status = magic.error_status
    if status is None:
        return None
    if magic.error_variant == "html":
        return c.html_error(status)
    if status == 401:
        return openai_error(request, 401, "Incorrect API key provided: sk-fake.", code="invalid_api_key")
    if status == 404:
        msg = f"The model `{model}` does not exist or you do not have access to it."
        return openai_error(request, 404, msg, code="model_not_found")
    if status == 429 and magic.error_variant == "quota":
        msg = "You exceeded your current quota, please check your plan and billing details."
        return openai_error(request, 429, msg, "insufficient_quota", code="insufficient_quota")
    if status == 429:
        msg = f"Rate limit reached for {model} on requests per min (RPM): Limit 500, Used 500, Requested 1."
        return openai_error(request, 429, msg, "requests", code="rate_limit_exceeded")
    if status >= 500:
        msg = "The server had an error while processing your request. Sorry about that!"
        return openai_error(request, status, msg, "server_error")
    if status == 403:
        return openai_error(request, 403, "You are not allowed to sample from this model", code=None)
    return openai_error(request, status, f"Invalid value for 'model': '{model}'.", param="model")


async def prelude(request: web.Request) -> tuple[dict[str, Any], c.Magic] | web.StreamResponse:
    """Auth, JSON parsing, the ``model`` check and magic error models, shared by every endpoint."""
    if (denied := check_auth(request)) is not None:
        return denied
    body = await c.read_json(request)
    if body is None:
        return openai_error(
            request,
            400,
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using "
            "your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not "
            "valid JSON. If you have trouble figuring out how to fix this, please contact us through our "
            "help center at help.openai.com.)",
        )
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return openai_error(request, 400, "you must provide a model parameter")
    magic = c.magic_of(model)
    if (err := magic_error(request, magic, model)) is not None:
        return err
    return body, magic


# --------------------------------------------------------------------------------------------
# Chat completions
# --------------------------------------------------------------------------------------------


def tool_arguments(plan: u.Plan) -> str:
    assert plan.tool is not None
    return orjson.dumps(c.sample_value(plan.tool.schema)).decode()


def split_text(text: str, parts: int) -> list[str]:
    step = max(1, -(-len(text) // parts))
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


def _chat_message(plan: u.Plan, call_id: str) -> dict[str, Any]:
    if plan.tool:
        function = {"name": plan.tool.name, "arguments": tool_arguments(plan)}
        call = {"id": call_id, "type": "function", "function": function}
        msg: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
    else:
        msg = {"role": "assistant", "content": " ".join(c.lorem_words(plan.text_words))}
    msg.update(refusal=None, annotations=[])
    return msg


def _finish(plan: u.Plan) -> str:
    return "tool_calls" if plan.tool else "length" if plan.truncated else "stop"


def _chat_frames(plan: u.Plan, body: dict[str, Any], magic: c.Magic, ids: tuple[str, str], created: int) -> list[bytes]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    include_usage = include_usage and magic.name not in ("no-usage-stream", "error-event-stream")
    chunk_id, call_id = ids
    frames: list[bytes] = []

    def chunk(delta: dict[str, Any] | None, finish: str | None = None) -> bytes:
        obj: dict[str, Any] = {
            "id": chunk_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": body["model"],
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
            "choices": [],
        }
        if delta is not None:
            obj["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
        if include_usage:
            obj["usage"] = None if delta is not None else u.openai_chat_usage(plan)
        obj["obfuscation"] = c.obfuscation(len(frames))
        return c.sse(obj)

    if plan.tool:
        call = {"index": 0, "id": call_id, "type": "function"}
        call["function"] = {"name": plan.tool.name, "arguments": ""}
        frames.append(chunk({"role": "assistant", "content": None, "tool_calls": [call], "refusal": None}))
        for piece in split_text(tool_arguments(plan), 4):
            frames.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    else:
        frames.append(chunk({"role": "assistant", "content": "", "refusal": None}))
        for i, word in enumerate(c.lorem_words(plan.text_words)):
            frames.append(chunk({"content": word if i == 0 else " " + word}))
            if magic.name == "error-event-stream" and i == 1:
                break
    if magic.name == "error-event-stream":
        err = {
            "message": "Tool call validation failed: the model produced output that could not be parsed",
            "type": "invalid_request_error",
            "code": "tool_use_failed",
            "status_code": 400,
        }
        frames.append(c.sse({"error": err}, event="error"))
        return frames  # Groq style: no finish chunk, no usage, no [DONE]
    frames.append(chunk({}, _finish(plan)))
    if include_usage:
        frames.append(chunk(None))
    frames.append(b"data: [DONE]\n\n")
    return frames


async def chat_completions(request: web.Request) -> web.StreamResponse:
    pre = await prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    body, magic = pre
    if not isinstance(body.get("messages"), list):
        return openai_error(
            request,
            400,
            "Missing required parameter: 'messages'.",
            param="messages",
            code="missing_required_parameter",
        )
    stream = body.get("stream") is True
    if body.get("stream_options") is not None and not stream:
        msg = "The 'stream_options' parameter is only allowed when 'stream' is enabled."
        return openai_error(request, 400, msg, param="stream_options")
    plan = u.plan_openai_chat(body)
    n = c.state_of(request).next_id()
    ids = (c.token_id("chatcmpl-", n, 29), c.token_id("call_", n))
    created = c.now()
    headers = openai_headers(request)
    if stream:
        frames = _chat_frames(plan, body, magic, ids, created)
        return await c.send_stream(request, frames, content_type=OPENAI_STREAM_CT, headers=headers, magic=magic)
    result = {
        "id": ids[0],
        "object": "chat.completion",
        "created": created,
        "model": body["model"],
        "choices": [
            {"index": 0, "message": _chat_message(plan, ids[1]), "logprobs": None, "finish_reason": _finish(plan)}
        ],
        "usage": u.openai_chat_usage(plan),
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    if magic.name == "reset-midstream":
        return await c.send_truncated_body(request, c.dumps(result), "application/json")
    return c.json_response(result, headers=headers)


# --------------------------------------------------------------------------------------------
# Embeddings
# --------------------------------------------------------------------------------------------


def _vector(item: Any, dims: int) -> list[float]:
    rng = random.Random(hashlib.sha256(orjson.dumps(item)).digest())
    vec = [rng.uniform(-1.0, 1.0) for _ in range(dims)]
    norm = sum(x * x for x in vec) ** 0.5 or 1.0
    return [x / norm for x in vec]


async def embeddings(request: web.Request) -> web.StreamResponse:
    pre = await prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    body, _magic = pre
    inputs = u.embedding_inputs(body)
    if not inputs or any(x in ("", []) for x in inputs):
        return openai_error(request, 400, "'$.input' is invalid. Please check the API reference.")
    model = body["model"]
    dims = body.get("dimensions") or (3072 if "large" in model else 1536)
    data = []
    for i, item in enumerate(inputs):
        vec = _vector(item, int(dims))
        emb: Any = vec
        if body.get("encoding_format") == "base64":
            emb = base64.b64encode(struct.pack(f"<{len(vec)}f", *vec)).decode()
        data.append({"object": "embedding", "index": i, "embedding": emb})
    result = {"object": "list", "data": data, "model": model, "usage": u.openai_embeddings_usage(body)}
    return c.json_response(result, headers=openai_headers(request))


# --------------------------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------------------------


def parse_multipart(content_type: str, raw: bytes) -> dict[str, str | bytes]:
    """Form fields of a multipart/form-data body; file parts come back as bytes."""
    msg: Message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
    fields: dict[str, str | bytes] = {}
    if not msg.is_multipart():
        return fields
    for part in msg.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None:
            fields[str(name)] = payload
        else:
            fields[str(name)] = payload.decode("utf-8", "replace")
    return fields


async def transcriptions(request: web.Request) -> web.StreamResponse:
    """``POST /v1/audio/transcriptions`` and ``/v1/audio/translations`` in OpenAI's wire format:
    multipart/form-data in; ``json`` → ``{"text", "usage"}`` (translations: ``{"text"}`` only),
    ``verbose_json`` adds ``task``/``language``/``duration``/``segments``, text formats are plain."""
    translate = request.path.endswith("/translations")
    if (denied := check_auth(request)) is not None:
        return denied
    fields = parse_multipart(request.headers.get("Content-Type", ""), await request.read())
    model = fields.get("model")
    if not isinstance(model, str) or not model:
        return openai_error(request, 400, "you must provide a model parameter")
    if (err := magic_error(request, c.magic_of(model), model)) is not None:
        return err
    file = fields.get("file")
    if not isinstance(file, bytes):
        return openai_error(
            request, 400, "Missing required parameter: 'file'.", param="file", code="missing_required_parameter"
        )
    req = {"model": model, "file_size": len(file), "prompt": fields.get("prompt")}
    usage = u.openai_transcription_usage(req)
    text = " ".join(c.lorem_words(u.DEFAULT_OUTPUT_WORDS))
    fmt = fields.get("response_format", "json")
    headers = openai_headers(request)
    if fmt in ("text", "srt", "vtt"):
        return web.Response(text=text + "\n", content_type="text/plain", headers=headers)
    result: dict[str, Any] = {"text": text} if translate else {"text": text, "usage": usage}
    if fmt == "verbose_json":
        seconds = float(u.audio_seconds(len(file)))
        task = "translate" if translate else "transcribe"
        result = {"task": task, "language": "english", "duration": seconds, "text": text, "segments": []}
        if not translate:
            result["usage"] = usage
    return c.json_response(result, headers=headers)


async def speech(request: web.Request) -> web.StreamResponse:
    pre = await prelude(request)
    if isinstance(pre, web.StreamResponse):
        return pre
    body, magic = pre
    if not isinstance(body.get("input"), str) or not body["input"]:
        return openai_error(
            request, 400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
        )
    usage = u.openai_speech_usage(body)
    audio = b"ID3\x04\x00\x00\x00\x00\x00\x00" + (b"\xff\xf3\x44\xc4" + bytes(412)) * (usage["input_tokens"] * 4)
    headers = openai_headers(request)
    if body.get("stream_format") == "sse":
        frames = [
            c.sse({"type": "speech.audio.delta", "audio": base64.b64encode(chunk).decode()})
            for chunk in (audio[i : i + 4096] for i in range(0, len(audio), 4096))
        ]
        frames.append(c.sse({"type": "speech.audio.done", "usage": usage}))
        return await c.send_stream(request, frames, content_type=OPENAI_STREAM_CT, headers=headers, magic=magic)
    fmt = body.get("response_format", "mp3")
    ctype = {"opus": "audio/opus", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav"}.get(fmt, "audio/mpeg")
    if fmt == "pcm":
        ctype = "audio/pcm"
    frames = [audio[i : i + 4096] for i in range(0, len(audio), 4096)]
    return await c.send_stream(request, frames, content_type=ctype, headers=headers, magic=magic)


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


async def list_models(request: web.Request) -> web.StreamResponse:
    if "x-api-key" in request.headers or "anthropic-version" in request.headers:
        from .fake_anthropic import list_models as anthropic_models

        return await anthropic_models(request)
    if (denied := check_auth(request)) is not None:
        return denied
    data = [{"id": m, "object": "model", "created": 1700000000, "owned_by": "system"} for m in _DEFAULT_MODELS]
    return c.json_response({"object": "list", "data": data}, headers=openai_headers(request))


async def retrieve_model(request: web.Request) -> web.StreamResponse:
    if (denied := check_auth(request)) is not None:
        return denied
    model = request.match_info["model"]
    obj = {"id": model, "object": "model", "created": 1700000000, "owned_by": "system"}
    return c.json_response(obj, headers=openai_headers(request))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/embeddings", embeddings)
    app.router.add_post("/v1/audio/transcriptions", transcriptions)
    app.router.add_post("/v1/audio/translations", transcriptions)
    app.router.add_post("/v1/audio/speech", speech)
    app.router.add_get("/v1/models", list_models)
    app.router.add_get("/v1/models/{model}", retrieve_model)

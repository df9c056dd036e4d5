"""A fake provider of our own and a live gateway in front of it, for the forward lifecycle tests
(tests/e2e/test_forward_lifecycle.py, tests/e2e/test_request_encoding.py).

Use its fixtures as tests/e2e/test_forward_edge.py does: ``env = lifecycle_stack.env``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.billing.billing_fixtures import BillingEnv, Connection
from tests.fakes.server import start_in_thread
from tests.support.live import start_server

AZURE = "myres.openai.azure.com"
STRICT = "strict.example.com"  # an operator-added host that refuses stream_options for another reason
PLAIN = "plain.example.com"  # configured up front: never gets stream_options
AZURE_URL = f"https://{AZURE}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-02-01"
CHAT_URL = "https://api.openai.com/v1/chat/completions"
RESPONSES_URL = "https://api.openai.com/v1/responses"
USAGE = {"input_tokens": 2000, "output_tokens": 4000, "total_tokens": 6000}
IMAGE_BYTES = 5 * 1024 * 1024  # > the 4 MiB SSE event cap
AZURE_REFUSAL = {
    "error": {
        "code": None,
        "message": "Unrecognized request argument supplied: stream_options",
        "param": None,
        "type": "invalid_request_error",
    }
}


def _sse(obj: Any, name: str | None = None) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _chat_chunks(usage: dict[str, int] | None) -> bytes:
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini"}
    out = _sse({**base, "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": None}]})
    out += _sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    if usage is not None:
        out += _sse({**base, "choices": [], "usage": usage})
    return out + b"data: [DONE]\n\n"


def _huge_responses_stream() -> bytes:
    item = {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": "A" * IMAGE_BYTES}

    def response(status: str, usage: Any, output: list[Any]) -> dict[str, Any]:
        return {
            "id": "resp_huge",
            "object": "response",
            "status": status,
            "model": "img-model",
            "output": output,
            "usage": usage,
        }

    return (
        _sse({"type": "response.created", "response": response("in_progress", None, [])}, "response.created")
        + _sse({"type": "response.output_item.done", "output_index": 0, "item": item}, "response.output_item.done")
        + _sse({"type": "response.completed", "response": response("completed", USAGE, [item])}, "response.completed")
    )


def provider_app() -> web.Application:
    """One fake provider behind every mapped host; it records what it received."""
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        entry = {"path": request.path, "body": raw.decode(), "headers": dict(request.headers)}
        seen.append(entry)
        return entry

    async def stream(request: web.Request, body: bytes, step: int = 64 * 1024) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(0, len(body), step):
            await resp.write(body[i : i + step])
        await resp.write_eof()
        return resp

    async def azure_chat(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        if "stream_options" in entry["body"]:
            return web.json_response(AZURE_REFUSAL, status=400)
        return await stream(request, _chat_chunks(None))

    async def strict_chat(request: web.Request) -> web.StreamResponse:
        await record(request)
        return web.json_response(
            {"error": {"message": "model 'nope' does not exist", "type": "invalid_request_error"}}, status=400
        )

    async def chat(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        body = json.loads(entry["body"]) if entry["body"] else {}
        if body.get("stream"):
            usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
            if body.get("model") == "huge-usage":  # issue 14's repro: a count above 2**63
                usage = {"prompt_tokens": 10, "completion_tokens": 2**64 + 5, "total_tokens": 2**64 + 15}
            return await stream(request, _chat_chunks(usage if "stream_options" in entry["body"] else None))
        return web.json_response(
            {
                "id": "chatcmpl-2",
                "object": "chat.completion",
                "model": body.get("model"),
                "choices": [],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            }
        )

    async def responses(request: web.Request) -> web.StreamResponse:
        entry = await record(request)
        body = json.loads(entry["body"])
        if body.get("input") == "huge":
            return await stream(request, _huge_responses_stream())
        # "reuse": an upstream that answers every call with the same id
        return web.json_response(
            {"id": "resp_same", "object": "response", "model": body["model"], "status": "completed", "usage": USAGE}
        )

    async def fetch(request: web.Request) -> web.Response:
        await record(request)
        # The body names another id than the one asked for: the gateway must key on the URL's.
        return web.json_response(
            {"id": "resp_other", "object": "response", "model": "img-model", "status": "completed", "usage": USAGE}
        )

    async def requests_seen(request: web.Request) -> web.Response:
        return web.json_response(seen)

    app = web.Application(client_max_size=64 << 20)
    app.router.add_post("/azure/openai/deployments/{dep}/chat/completions", azure_chat)
    app.router.add_post("/strict/chat/completions", strict_chat)
    app.router.add_post("/plain/chat/completions", azure_chat)
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_post("/v1/responses", responses)
    app.router.add_get("/v1/responses/{rid}", fetch)
    app.router.add_get("/_seen", requests_seen)
    return app


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BillingEnv]:
    tmp: Path = tmp_path_factory.mktemp("lifecycle")
    upstream = start_in_thread(provider_app)
    (tmp / "prices.json").write_text(
        json.dumps(
            {
                "openai/img-model": {"input_mtok": "1.25", "output_mtok": "10.00"},
                "openai/gpt-4o-mini": {"input_mtok": "1.00", "output_mtok": "10.00"},
                "openai/explode": {"input_mtok": "1.00", "output_mtok": "10.00"},
            }
        )
    )
    server, stop = start_server(
        tmp,
        upstream_map={
            "api.openai.com": upstream.url,
            AZURE: upstream.url + "/azure",
            STRICT: upstream.url + "/strict",
            PLAIN: upstream.url + "/plain",
        },
        extra_upstream_hosts=(AZURE, STRICT, PLAIN),
        no_stream_usage_option_hosts=(PLAIN,),
        prices_file=tmp / "prices.json",
    )
    server.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
    e = BillingEnv(server, upstream, server.merchant(), stop)
    yield e
    e.close()


@pytest.fixture
def account(env: BillingEnv) -> tuple[Connection, dict[str, Any]]:
    product = env.product("--rate-type", "percentage", "--tier", "0:20", "--allow-unpriced-models")
    return env.connection(credit="10"), product


def forward(env: BillingEnv, url: str, tok: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {tok}", **(headers or {})}
    return httpx.post(f"{env.server.url}/v1/forward", params={"u": url}, headers=headers, timeout=60, **kw)


def seen(env: BillingEnv, path_part: str) -> list[dict[str, Any]]:
    rows = httpx.get(env.fake.url + "/_seen", timeout=10).json()
    return [r for r in rows if path_part in r["path"]]

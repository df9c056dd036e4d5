"""Test controls under ``/_fake/``: request recording, stats, reset, redirects, latency.

- ``GET /_fake/stats`` → ``{"requests": N, "by_path": {path: n}, "last_request": {...} | null}``
- ``GET /_fake/requests`` → ``{"requests": [...]}``: the last 1000 recorded requests, oldest first
- ``POST /_fake/reset`` → clears counters and history (``{"ok": true}``)
- ``ANY /_fake/redirect[/anything]`` → 302 to ``?to=<url>`` or ``/_fake/redirect-target``
- ``ANY /_fake/redirect-target`` → 200 ``{"redirected": true}`` (recorded, so a test can assert
  that nobody followed the redirect)

Recorded request: ``{"method", "path", "query": {..}, "headers": {lowercased: value}, "body"}``
where ``body`` is the parsed JSON, else the UTF-8 text (bytes replaced), else null. The control
endpoints themselves (stats/requests/reset) are not recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from aiohttp import web

from . import common as c

CONTROL_PREFIX = "/_fake/"
_UNRECORDED = frozenset({"/_fake/stats", "/_fake/requests", "/_fake/reset"})
_MULTIPART_BODY_LIMIT = 4096

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _decode_body(request: web.Request, raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    if request.content_type.startswith("multipart/"):
        raw = raw[:_MULTIPART_BODY_LIMIT]
    return raw.decode("utf-8", "replace")


async def record_request(request: web.Request) -> None:
    state = c.state_of(request)
    raw = await request.read()  # cached by aiohttp, handlers can read it again
    state.requests += 1
    state.by_path[request.path] += 1
    state.history.append(
        {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "headers": {k.lower(): v for k, v in request.headers.items()},
            "body": _decode_body(request, raw),
        }
    )


@web.middleware
async def recording_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Record every request, then apply ``latency_s`` (or ``x-fake-latency-ms``) before answering."""
    if request.path in _UNRECORDED:
        return await handler(request)
    await record_request(request)
    if not request.path.startswith(CONTROL_PREFIX):
        latency = c.header_float(request, "x-fake-latency-ms", "latency_ms", c.state_of(request).latency_s * 1000)
        if latency > 0:
            await asyncio.sleep(latency / 1000)
    return await handler(request)


async def stats(request: web.Request) -> web.Response:
    state = c.state_of(request)
    last = state.history[-1] if state.history else None
    return c.json_response({"requests": state.requests, "by_path": dict(state.by_path), "last_request": last})


async def requests(request: web.Request) -> web.Response:
    return c.json_response({"requests": list(c.state_of(request).history)})


async def reset(request: web.Request) -> web.Response:
    c.state_of(request).reset()
    return c.json_response({"ok": True})


async def redirect(request: web.Request) -> web.Response:
    return web.Response(status=302, headers={"Location": request.query.get("to", "/_fake/redirect-target")})


async def redirect_target(request: web.Request) -> web.Response:
    return c.json_response({"redirected": True})


async def not_found(request: web.Request) -> web.Response:
    """Unknown paths answer like the provider the path belongs to."""
    if request.path.startswith("/v1beta/"):
        err = {"code": 404, "message": f"Invalid URL path {request.path}", "status": "NOT_FOUND"}
        return c.json_response({"error": err}, status=404, content_type="application/json; charset=UTF-8")
    if "anthropic-version" in request.headers:
        body = {"type": "error", "error": {"type": "not_found_error", "message": "Not Found"}}
        return c.json_response(body, status=404)
    err = {
        "message": f"Invalid URL ({request.method} {request.path})",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    return c.json_response({"error": err}, status=404)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/_fake/stats", stats)
    app.router.add_get("/_fake/requests", requests)
    app.router.add_post("/_fake/reset", reset)
    app.router.add_route("*", "/_fake/redirect-target", redirect_target)
    app.router.add_route("*", "/_fake/redirect", redirect)
    app.router.add_route("*", "/_fake/redirect/{tail:.*}", redirect)


def add_fallback(app: web.Application) -> None:
    """Must be added last: provider-shaped 404s for every other path."""
    app.router.add_route("*", "/{tail:.*}", not_found)

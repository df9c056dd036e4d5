"""Cross-cutting edge behaviour: our error shape for every failure, compressed request bodies,
and API-version checks.

An error can be answered with our JSON error shape only while nothing has been sent. Once a
handler has prepared a streamed response (the gateway records it under
:data:`~lava_server.gateway.deliver.STREAM_RESPONSE`), its status line and headers are on the
wire: the error may then only end that stream (a final SSE ``error`` event where it is SSE,
the terminating chunk) and close the connection, never write a second response into its body.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from ..errors import ApiError
from ..gateway.deliver import STREAM_RESPONSE, end_stream_with_error
from ..store import StoreError, StoreUnavailable
from .content_encoding import decoded_request
from .jsonio import error_response

log = logging.getLogger("lava.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API_VERSIONS = ("2025-03-27.v1", "2025-04-21.v1", "2025-04-28.v1")
_HTTP_CODES = {
    400: "invalid_request",
    401: "authentication_failed",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    431: "headers_too_large",
}


STREAM_END_TIMEOUT_S = 10.0  # writing the final error event and the terminating chunk


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 404 else f"no route for {request.method} {request.path}"
        return await _answer(request, ApiError(exc.status, code, message))
    except ApiError as err:
        return await _answer(request, err)
    except StoreUnavailable as exc:  # an outage: one line per request, no traceback
        log.warning("store unavailable on %s %s: %s", request.method, request.path, str(exc)[:200])
        return await _answer(request, ApiError(503, "store_unavailable", "the database is unavailable; retry later"))
    except StoreError:
        log.exception("store failure on %s %s", request.method, request.path)
        return await _answer(request, ApiError(503, "store_unavailable", "the database is unavailable; retry later"))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await _answer(request, ApiError(500, "internal_error", "internal error; it has been logged"))


async def _answer(request: web.Request, err: ApiError) -> web.StreamResponse:
    """A fresh JSON error response, or, once a stream was prepared, the end of that stream."""
    started: web.StreamResponse | None = request.get(STREAM_RESPONSE)
    if started is None or not started.prepared:
        return error_response(err)
    log.warning("error after the stream of %s %s started: %s; ending it", request.method, request.path, err.code)
    await end_stream_with_error(request, started, err, timeout_s=STREAM_END_TIMEOUT_S)
    return started


def content_encoding_middleware(max_body_bytes: int, body_timeout_s: float) -> Middleware:
    """Decode a compressed request body before any handler reads it (api/content_encoding.py)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        return await handler(await decoded_request(request, max_body_bytes, body_timeout_s))

    return middleware


def header_limits_middleware(max_header_bytes: int) -> Middleware:
    """Enforce the documented per-header limit with our JSON error (431 ``headers_too_large``).

    The HTTP parser's own hard limit is set higher (see app.py), so that in all but absurd cases
    a client gets this JSON answer instead of the parser's plain-text 400.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        for name, value in request.raw_headers:
            if len(name) + len(value) > max_header_bytes:
                raise ApiError(
                    431,
                    "headers_too_large",
                    f"header {name[:64].decode('latin-1')!r} is longer than {max_header_bytes} bytes",
                )
        return await handler(request)

    return middleware


@web.middleware
async def api_version_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    version = request.headers.get("X-Lava-API-Version")
    rest_api = request.path.startswith("/v1/") and not request.path.startswith("/v1/forward")
    if version is not None and rest_api and version not in API_VERSIONS:
        raise ApiError(
            400,
            "invalid_api_version",
            f"unsupported X-Lava-API-Version {version!r}; supported: {', '.join(API_VERSIONS)}",
        )
    return await handler(request)

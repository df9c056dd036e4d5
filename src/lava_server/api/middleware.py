"""Cross-cutting edge behaviour: our error shape for every failure, and API-version checks."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..errors import ApiError
from ..store import StoreError
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


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as err:
        return error_response(err)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = exc.reason if exc.status != 404 else f"no route for {request.method} {request.path}"
        return error_response(ApiError(exc.status, code, message))
    except StoreError:
        log.exception("store failure on %s %s", request.method, request.path)
        return error_response(ApiError(503, "store_unavailable", "the database is unavailable; retry later"))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(ApiError(500, "internal_error", "internal error; it has been logged"))


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

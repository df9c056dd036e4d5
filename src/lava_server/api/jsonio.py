"""JSON in and out of aiohttp, bounded, with our error shape for bad input."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from ..errors import ApiError, invalid_request

JSON_HEADERS = {"Content-Type": "application/json"}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers={**JSON_HEADERS, **(headers or {})})


def error_response(err: ApiError) -> web.Response:
    return json_response(err.body(), err.status, err.headers)


# The body, when a middleware already read it (api/idempotency.py fingerprints it first).
READ_BODY: web.RequestKey[bytes] = web.RequestKey("lava_request_body", bytes)


async def read_body_bytes(request: web.Request, max_bytes: int) -> bytes:
    """The whole request body, read once and kept on the request; 413 beyond ``max_bytes``."""
    cached: bytes | None = request.get(READ_BODY)
    if cached is not None:
        if len(cached) > max_bytes:
            raise ApiError(413, "payload_too_large", f"request body is larger than {max_bytes} bytes")
        return cached
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError(413, "payload_too_large", f"request body is larger than {max_bytes} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(65536):
        body.extend(chunk)
        if len(body) > max_bytes:
            raise ApiError(413, "payload_too_large", f"request body is larger than {max_bytes} bytes")
    request[READ_BODY] = bytes(body)
    return request[READ_BODY]


async def read_json_object(request: web.Request, max_bytes: int) -> dict[str, Any]:
    """The request body as a JSON object; 413 if larger than ``max_bytes``, 400 if not an object."""
    body = await read_body_bytes(request, max_bytes)
    if not body.strip():
        raise invalid_request("request body must be a JSON object")
    try:
        data = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise invalid_request("request body must be a JSON object")
    return data

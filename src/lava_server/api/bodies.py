"""Request bodies of the current API: an empty body counts as ``{}`` (docs/current-api.md "Conventions")."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .deps import services
from .jsonio import read_json_object


async def read_optional_object(request: web.Request) -> dict[str, Any]:
    """The JSON object body, or ``{}`` when there is none (the SDK sends no body without data).

    Bodies on GET and DELETE are ignored; otherwise the rules of ``read_json_object`` apply
    (413 above the API body limit, 400 when not a JSON object)."""
    if request.method in ("GET", "DELETE") or request.content_length == 0 or not request.body_exists:
        return {}
    return await read_json_object(request, services(request).settings.limits.max_api_body_bytes)

"""GET /healthz (process is up) and GET /readyz (database reachable and migrated)."""

from __future__ import annotations

from aiohttp import web

from ..store import StoreError
from .deps import services
from .jsonio import json_response

routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    svc = services(request)
    try:
        version = await svc.db.fetchval("SELECT MAX(version) FROM schema_migrations")
    except StoreError as exc:
        return json_response({"status": "unavailable", "error": str(exc)}, status=503)
    return json_response({"status": "ready", "database": svc.db.backend, "schema_version": version})

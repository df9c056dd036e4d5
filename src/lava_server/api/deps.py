"""What every handler needs from the request: the services and the authenticated merchant."""

from __future__ import annotations

from aiohttp import web

from ..context import Services
from ..store.merchants import MerchantKey

SERVICES: web.AppKey[Services] = web.AppKey("lava_services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]


async def merchant(request: web.Request) -> MerchantKey:
    return await services(request).keys.authenticate(request.headers.get("Authorization"))


def public_base(request: web.Request) -> str:
    """This server's public URL with a trailing slash (LAVA_PUBLIC_URL, else the request's origin)."""
    configured = services(request).settings.public_url
    if configured:
        return configured.rstrip("/") + "/"
    return f"{request.scheme}://{request.host}/"

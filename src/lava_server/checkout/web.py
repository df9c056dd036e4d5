"""Mounts the hosted checkout (pages, static helper, processor webhooks) on the application.

Routes:
- ``GET /embed/checkout/{secret}`` and its form posts (see :mod:`.flow`)
- ``GET /static/{name}``: ``lava-checkout.js`` (our helper for merchants), page CSS/JS
- ``POST /webhooks/stripe``: signature-verified Stripe events
- ``GET /demo/checkout`` only with ``CheckoutSettings.demo_page`` (``lava serve --demo``)
"""

from __future__ import annotations

import logging
from importlib import resources

from aiohttp import web

from ..context import Services
from ..errors import ApiError
from . import flow, page_view
from .otp import OtpService, make_sender
from .payments import handle_event
from .processors import ProcessorRegistry

log = logging.getLogger("lava.checkout")

MAX_WEBHOOK_BYTES = 256 * 1024
STATIC_FILES = {
    "lava-checkout.js": "text/javascript",
    "checkout.js": "text/javascript",
    "checkout.css": "text/css",
    "demo-checkout.js": "text/javascript",
}


def _static_bytes(name: str) -> bytes:
    return resources.files("lava_server").joinpath("web", "static", name).read_bytes()


async def static_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise web.HTTPNotFound()
    return web.Response(
        body=_static_bytes(name),
        content_type=content_type,
        charset="utf-8",
        headers={
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",  # the helper is loaded by merchants' pages
        },
    )


async def stripe_webhook(request: web.Request) -> web.StreamResponse:
    rt = request.app[page_view.RUNTIME]
    processor = rt.processors.by_name("stripe")
    if processor is None:
        raise ApiError(404, "not_found", "the stripe processor is not configured")
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "payload_too_large", "webhook body too large")
    body = await request.read()
    if len(body) > MAX_WEBHOOK_BYTES:
        raise ApiError(413, "payload_too_large", "webhook body too large")
    try:
        event = processor.parse_webhook(body, request.headers)
    except ValueError as exc:
        raise ApiError(400, "invalid_signature", str(exc)) from exc
    result = await handle_event(rt.svc, processor, event)
    return web.json_response({"received": True, "result": result})


def setup(app: web.Application, svc: Services) -> None:
    """Add checkout routes and any start-up/clean-up hooks they need."""
    settings = svc.settings.checkout
    processors = ProcessorRegistry(settings, svc.ids)
    otp = OtpService(svc.db, svc.keyring, svc.ids, settings, make_sender(settings))
    app[page_view.RUNTIME] = page_view.CheckoutRuntime(svc, processors, otp)
    flow.add_routes(app)
    app.router.add_get("/static/{name}", static_file)
    app.router.add_post("/webhooks/stripe", stripe_webhook)
    if settings.demo_page:
        enable_demo(app)

    async def close(_: web.Application) -> None:
        await processors.close()

    app.on_cleanup.append(close)


def enable_demo(app: web.Application) -> None:
    """Mount GET /demo/checkout (a sample merchant page for the demo merchant)."""
    from .demo_page import demo_checkout

    app.router.add_get("/demo/checkout", demo_checkout)

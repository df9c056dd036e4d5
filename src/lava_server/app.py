"""Assembles the aiohttp application from its parts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from . import scheduler
from .api import (
    checkout_sessions,
    connections,
    credit_bundles,
    customers,
    health,
    meters,
    models,
    openapi,
    plans,
    requests,
    secret_keys,
    spend_keys,
    subscriptions,
    test_clocks,
    usage,
    webhooks,
)
from .api.deps import SERVICES
from .api.idempotency import idempotency_middleware
from .api.middleware import (
    api_version_middleware,
    content_encoding_middleware,
    error_middleware,
    header_limits_middleware,
)
from .checkout import web as checkout_web
from .clock import now_us
from .context import Services, open_services
from .events import delivery as webhook_delivery
from .gateway import routes as gateway_routes
from .settings import Settings
from .store import StoreError
from .store import idempotency as idempotency_store

log = logging.getLogger("lava")
PARSER_HARD_LIMIT = 64 * 1024  # request line and any single header; beyond this aiohttp answers in plain text


def build_app(svc: Services) -> web.Application:
    """An application over already-open services (the caller owns their lifetime)."""
    limits = svc.settings.limits
    app = web.Application(
        middlewares=[
            error_middleware,
            header_limits_middleware(limits.max_header_bytes),
            content_encoding_middleware(limits.max_body_bytes, limits.client_body_timeout_s),  # before any body read
            api_version_middleware,
            idempotency_middleware(),
        ],
        client_max_size=limits.max_body_bytes,
        # The parser's hard limits sit above ours so the middleware can answer in JSON; request
        # bodies are decoded by content_encoding_middleware, with a bound and a clear 400.
        handler_args={
            "max_field_size": PARSER_HARD_LIMIT,
            "max_line_size": PARSER_HARD_LIMIT,
            "auto_decompress": False,
        },
    )
    app[SERVICES] = svc
    for table in (
        health.routes,
        openapi.routes,
        checkout_sessions.routes,
        connections.routes,
        requests.routes,
        usage.routes,
        webhooks.routes,
        customers.routes,
        meters.routes,
        secret_keys.routes,
        models.routes,
        plans.routes,
        credit_bundles.routes,
        subscriptions.routes,
        test_clocks.routes,
        spend_keys.routes,
    ):
        app.router.add_routes(table)
    webhook_delivery.setup(app, svc.db, svc.keyring, svc.ids, svc.settings.webhooks)
    gateway_routes.setup(app, svc)
    app.cleanup_ctx.append(_idempotency_sweeper(svc))
    scheduler.setup(app, svc)
    if svc.settings.demo_provider:
        from . import demo_provider

        demo_provider.mount(app)
    checkout_web.setup(app, svc)
    return app


def _idempotency_sweeper(svc: Services) -> Callable[[web.Application], AsyncIterator[None]]:
    """A background task deleting expired Idempotency-Key rows every sweep interval."""

    async def sweep_forever() -> None:
        while True:
            try:
                swept = await idempotency_store.sweep(svc.db, now_us())
                if swept:
                    log.info("swept %d expired idempotency key(s)", swept)
            except StoreError:
                log.exception("idempotency key sweep failed; retrying next interval")
            await asyncio.sleep(svc.settings.limits.idempotency_sweep_interval_s)

    async def lifetime(_: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(sweep_forever())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    return lifetime


async def create_app(settings: Settings) -> web.Application:
    """An application that opens its services on start-up and closes them on clean-up."""
    svc = await open_services(settings)
    app = build_app(svc)

    async def close(_: web.Application) -> None:
        await svc.close()

    app.on_cleanup.append(close)
    return app

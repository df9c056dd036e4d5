"""Mounts ``/v1/forward`` (and its SDK-produced variants), ``/v1/rewrite`` and owns the gateway's lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from ..billing.instances import InstanceRuntime
from ..billing.reconcile import reconcile, sweeper
from ..context import Services
from .provider_keys import ProviderKeyStore
from .proxy import ForwardHandler, Gateway
from .quote import quote
from .rewrite.handler import RewriteHandler
from .tokens import ForwardAuthenticator
from .upstream import make_session

GATEWAY: web.AppKey[Gateway] = web.AppKey("lava_gateway", Gateway)
# False when several worker processes share one SQLite store: the supervisor reconciles orphans once.
ORPHANS_AT_START: web.AppKey[bool] = web.AppKey("lava_orphans_at_start", bool)
DEMO_KEY = "lava-demo-provider"  # the built-in demo provider accepts any key


def setup(app: web.Application, svc: Services) -> None:
    settings = svc.settings
    trusted = {urlsplit(base).hostname or "" for base in settings.upstream_map.values()}
    holder: dict[str, ForwardHandler] = {}

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        gateway = Gateway(
            settings=settings,
            auth=svc.forward_auth,
            provider_keys=ProviderKeyStore(
                svc.db, svc.keyring, fallback={("openai", "test"): DEMO_KEY} if settings.demo_provider else None
            ),
            billing=svc.billing,
            session=make_session(settings.limits, trusted),
            drains=asyncio.Semaphore(settings.limits.max_concurrent_drains),
            db=svc.db,
        )
        app[GATEWAY] = gateway
        holder["handler"] = ForwardHandler(gateway)
        await reconcile(svc.billing.deps, all_pending=svc.db.backend == "sqlite" and app.get(ORPHANS_AT_START, True))
        sweep = asyncio.create_task(sweeper(svc.billing.deps, settings.limits.hold_sweep_interval_s))
        runtime = InstanceRuntime(svc.billing)  # boot id, lease, settlement journal (docs/deployment.md)
        await runtime.start()
        yield
        sweep.cancel()
        await runtime.stop()
        await gateway.session.close()

    async def forward(request: web.Request) -> web.StreamResponse:
        return await holder["handler"](request)

    async def rewrite(request: web.Request) -> web.StreamResponse:
        return await RewriteHandler(holder["handler"])(request)

    async def quote_handler(request: web.Request) -> web.Response:
        return await quote(request, settings, svc.forward_auth, svc.billing, svc.ledger)

    app.cleanup_ctx.append(lifetime)
    app.router.add_post("/v1/quote", quote_handler)
    app.router.add_post("/v1/rewrite/{format:[^/]+}/{provider_url:.*}", rewrite)
    for path in ("/v1/forward", "/v1/forward/", "/v1/forward/{suffix:.*}"):
        app.router.add_route("*", path, forward)


__all__ = ["GATEWAY", "ForwardAuthenticator", "setup"]

"""Run the server: bind, announce, serve until SIGINT/SIGTERM, shut down cleanly."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

from aiohttp import web

from .app import build_app
from .context import open_services
from .settings import Settings

log = logging.getLogger("lava")


async def _serve(settings: Settings, host: str, port: int, demo: bool) -> None:
    if demo:  # the demo also mounts a sample merchant page at /demo/checkout
        settings = settings.with_overrides(checkout=replace(settings.checkout, demo_page=True))
    svc = await open_services(settings)
    try:
        app = build_app(svc)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=1024, reuse_address=True)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        bound_port = sockets[0].getsockname()[1] if sockets else port
        url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
        announcement: dict[str, Any] = {"listening": url, "database": svc.db.backend}
        if demo:
            from .demo import describe, seed_demo

            seeded = await seed_demo(svc)
            announcement["demo"] = seeded
            print(describe(seeded, settings.public_url or url), file=sys.stderr, flush=True)
        print(json.dumps(announcement), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
    finally:
        await svc.close()


def serve(settings: Settings, *, host: str, port: int, demo: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is optional
        pass
    asyncio.run(_serve(settings, host, port, demo))

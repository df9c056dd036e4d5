"""Run the server: bind, announce, serve until SIGINT/SIGTERM, shut down cleanly."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
from dataclasses import replace
from typing import Any

from aiohttp import web

from .app import build_app
from .context import Services, open_services
from .demo_provider import PATH as DEMO_PATH
from .gateway.provider_keys import ProviderKeyStore
from .settings import Settings

log = logging.getLogger("lava")


async def _serve(settings: Settings, host: str, port: int, demo: bool) -> None:
    if demo:  # the demo also mounts a sample merchant page at /demo/checkout
        settings = settings.with_overrides(checkout=replace(settings.checkout, demo_page=True))
    sock = _bind(host, port)  # bound first: the demo needs its own URL before the app is built
    bound_port = sock.getsockname()[1]
    url = f"http://{host if ':' not in host else f'[{host}]'}:{bound_port}"
    svc = await open_services(settings)
    try:
        demo_provider = demo and await _use_demo_provider(svc)
        if demo_provider:
            svc.settings = svc.settings.with_overrides(
                demo_provider=True,
                upstream_map={**svc.settings.upstream_map, "api.openai.com": url + DEMO_PATH},
            )
        app = build_app(svc)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.SockSite(runner, sock)
        await site.start()
        announcement: dict[str, Any] = {"listening": url, "database": svc.db.backend}
        if demo:
            from .demo import describe, seed_demo

            seeded = await seed_demo(svc)
            announcement["demo"] = seeded
            announcement["demo_provider"] = demo_provider
            print(
                describe(seeded, settings.public_url or url, demo_provider=demo_provider), file=sys.stderr, flush=True
            )
        print(json.dumps(announcement), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()
    finally:
        await svc.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def _use_demo_provider(svc: Services) -> bool:
    """The demo serves api.openai.com itself unless the operator configured OpenAI."""
    if "api.openai.com" in svc.settings.upstream_map:
        return False
    return await ProviderKeyStore(svc.db, svc.keyring).get("openai", "test") is None


def serve(settings: Settings, *, host: str, port: int, demo: bool) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is optional
        pass
    asyncio.run(_serve(settings, host, port, demo))

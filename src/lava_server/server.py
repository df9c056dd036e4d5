"""Run the server: bind, announce, serve until SIGINT/SIGTERM, shut down cleanly.

With one worker everything runs in this process. With several (``lava serve --workers N``, the
default is one per core) ``server_workers.py`` pre-forks worker processes that share one
listening socket (docs/deployment.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from aiohttp import web

from .app import build_app
from .context import Services, open_services
from .demo_provider import PATH as DEMO_PATH
from .gateway.provider_keys import ProviderKeyStore
from .gateway.routes import ORPHANS_AT_START
from .server_guard import ConnectionGuard, ServerLog, effective_connection_bound
from .settings import Settings

log = logging.getLogger("lava")
BACKLOG = 1024
SHUTDOWN_TIMEOUT_S = 60.0  # in-flight requests get this long to finish after SIGTERM


def base_url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://{host if ':' not in host else f'[{host}]'}:{port}"


def with_demo(settings: Settings, demo: bool) -> Settings:
    if not demo:  # the demo also mounts a sample merchant page at /demo/checkout
        return settings
    return settings.with_overrides(checkout=replace(settings.checkout, demo_page=True))


def with_demo_provider(settings: Settings, url: str) -> Settings:
    return settings.with_overrides(
        demo_provider=True, upstream_map={**settings.upstream_map, "api.openai.com": url + DEMO_PATH}
    )


async def prepare(svc: Services, url: str, demo: bool) -> dict[str, Any]:
    """Start-up work done once per server (not once per worker): the demo's seed.

    Returns the announcement fields it adds (``demo``, ``demo_provider``)."""
    if not demo:
        return {}
    from .demo import describe, seed_demo

    demo_provider = await _use_demo_provider(svc)
    seeded = await seed_demo(svc)
    print(describe(seeded, svc.settings.public_url or url, demo_provider=demo_provider), file=sys.stderr, flush=True)
    return {"demo": seeded, "demo_provider": demo_provider}


async def run_worker(
    svc: Services, sock: socket.socket, *, orphans_at_start: bool, ready: Callable[[], None] | None = None
) -> None:
    """Serve ``sock`` with the app over ``svc`` until SIGINT/SIGTERM, then drain (bounded).

    ``orphans_at_start``: this process alone owns an SQLite store, so every pending request is an
    orphan of a previous run (with several workers the supervisor reconciles them instead).
    ``ready()`` is called once the socket is being served."""
    limits = svc.settings.limits
    app = build_app(svc)
    app[ORPHANS_AT_START] = orphans_at_start
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        keepalive_timeout=limits.client_idle_timeout_s,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        logger=ServerLog(),
    )
    await runner.setup()
    assert runner.server is not None
    guard = ConnectionGuard(effective_connection_bound(limits.max_client_connections, limits.max_upstream_connections))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(guard.protocol_factory(runner.server), sock=sock, backlog=BACKLOG)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready()
    try:
        await stop.wait()
    finally:
        server.close()  # stop accepting; in-flight requests finish (bounded) in cleanup
        await runner.cleanup()


async def _serve_single(settings: Settings, host: str, port: int, demo: bool) -> None:
    settings = with_demo(settings, demo)
    sock = bind(host, port)  # bound first: the demo needs its own URL before the app is built
    url = base_url(host, sock)
    svc = await open_services(settings)
    try:
        if demo and await _use_demo_provider(svc):
            svc.settings = with_demo_provider(svc.settings, url)
        extra = await prepare(svc, url, demo)
        announcement = {"listening": url, "database": svc.db.backend, "workers": 1, **extra}
        await run_worker(
            svc,
            sock,
            orphans_at_start=svc.db.backend == "sqlite",
            ready=lambda: print(json.dumps(announcement), flush=True),
        )
    finally:
        await svc.close()


def bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking TCP socket (shared by every worker)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


async def _use_demo_provider(svc: Services) -> bool:
    """The demo serves api.openai.com itself unless the operator configured OpenAI."""
    if "api.openai.com" in svc.settings.upstream_map:
        return False
    return await ProviderKeyStore(svc.db, svc.keyring).get("openai", "test") is None


def default_workers() -> int:
    """One worker per core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def install_uvloop() -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop is optional
        pass


class ServeError(ValueError):
    """The server cannot start: a bad bound, or its preparation (migrations, demo) failed."""


def serve(
    settings: Settings,
    *,
    host: str,
    port: int,
    demo: bool,
    workers: int | None = None,
    max_connections: int | None = None,
    idle_timeout_s: float | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM with ``workers`` processes (default: one per core).

    ``max_connections`` (per worker) and ``idle_timeout_s`` override ``settings.limits``.
    Raises :class:`ServeError`."""
    count = default_workers() if workers is None else workers
    if (
        count < 1
        or (max_connections is not None and max_connections < 1)
        or (idle_timeout_s is not None and idle_timeout_s <= 0)
    ):
        raise ServeError("--workers, --max-connections and --idle-timeout must be positive")
    limits = settings.limits
    limits = replace(
        limits,
        max_client_connections=max_connections or limits.max_client_connections,
        client_idle_timeout_s=limits.client_idle_timeout_s if idle_timeout_s is None else idle_timeout_s,
    )
    settings = settings.with_overrides(limits=limits)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if count == 1:
        install_uvloop()
        asyncio.run(_serve_single(settings, host, port, demo))
        return
    from .server_workers import supervise

    supervise(with_demo(settings, demo), host=host, port=port, demo=demo, workers=count)

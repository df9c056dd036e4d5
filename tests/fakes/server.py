"""Run an aiohttp app on 127.0.0.1 on a free port, from async or sync tests.

async with serve_app(make_fake_app()) as base_url: ...      # same event loop as the test
base_url, stop = run_in_thread(make_fake_app); ...; stop()  # own loop in a daemon thread
with serve_in_thread(make_fake_app) as running: running.url, running.app
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from aiohttp import web

AppFactory = Callable[[], web.Application]


def _port_of(site: web.TCPSite) -> int:
    # aiohttp does not expose the bound port publicly; asyncio and uvloop servers both have .sockets
    sockets = getattr(site._server, "sockets", None)
    assert sockets, "site is not started"
    return int(sockets[0].getsockname()[1])


async def _start(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, reuse_address=True)
    await site.start()
    return runner, f"http://127.0.0.1:{_port_of(site)}"


@contextlib.asynccontextmanager
async def serve_app(app: web.Application | AppFactory) -> AsyncIterator[str]:
    """Serve ``app`` (or ``app()``) in the running loop; yields ``http://127.0.0.1:PORT``."""
    application = app if isinstance(app, web.Application) else app()
    runner, url = await _start(application)
    try:
        yield url
    finally:
        await runner.cleanup()


@dataclass
class RunningServer:
    url: str
    app: web.Application
    loop: asyncio.AbstractEventLoop
    stop: Callable[[], None]


def start_in_thread(app_factory: AppFactory, *, timeout: float = 10.0) -> RunningServer:
    """Start ``app_factory()`` on its own event loop in a daemon thread."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    result: dict[str, object] = {}
    stop_requested: asyncio.Event | None = None

    async def main() -> None:
        nonlocal stop_requested
        stop_requested = asyncio.Event()
        try:
            app = app_factory()
            runner, url = await _start(app)
            result.update(app=app, url=url)
        except BaseException as exc:  # report startup failures to the caller
            result["error"] = exc
            return
        finally:
            ready.set()
        try:
            await stop_requested.wait()
        finally:
            await runner.cleanup()

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="fake-upstream", daemon=True)
    thread.start()
    if not ready.wait(timeout):
        raise RuntimeError("fake upstream did not start in time")
    if "error" in result:
        thread.join(timeout)
        raise RuntimeError("fake upstream failed to start") from result["error"]  # type: ignore[misc]

    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        assert stop_requested is not None
        loop.call_soon_threadsafe(stop_requested.set)
        thread.join(timeout)

    app = result["app"]
    assert isinstance(app, web.Application)
    return RunningServer(url=str(result["url"]), app=app, loop=loop, stop=stop)


def run_in_thread(app_factory: AppFactory) -> tuple[str, Callable[[], None]]:
    """``(base_url, stop)`` for an app served from a background thread (for sync tests)."""
    running = start_in_thread(app_factory)
    return running.url, running.stop


@contextlib.contextmanager
def serve_in_thread(app_factory: AppFactory) -> Iterator[RunningServer]:
    running = start_in_thread(app_factory)
    try:
        yield running
    finally:
        running.stop()

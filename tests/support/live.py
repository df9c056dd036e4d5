"""A real Lava server on a free loopback port, run in a background thread, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from lava_server.app import build_app
from lava_server.cli import CliError, run
from lava_server.context import Services, open_services
from lava_server.settings import Settings, from_env


@dataclass
class LiveServer:
    url: str
    settings: Settings
    services: Services
    loop: asyncio.AbstractEventLoop
    _stop: threading.Event = field(default_factory=threading.Event)

    @property
    def api_base(self) -> str:
        return self.url + "/v1/"

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def cli(self, *args: str) -> dict[str, Any]:
        """Run an admin command against this server's database, in-process."""
        argv = [*args, "--database-url", self.settings.database_url, "--data-dir", str(self.settings.data_dir)]
        return run(argv)

    def cli_error(self, *args: str) -> str:
        try:
            self.cli(*args)
        except CliError as exc:
            return str(exc)
        raise AssertionError(f"lava {' '.join(args)} unexpectedly succeeded")

    def call(self, coro: Any) -> Any:
        """Run a coroutine on the server's loop (e.g. a store query) and wait for it."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def merchant(self, name: str = "Test merchant", live: bool = False) -> dict[str, Any]:
        return self.cli("merchants", "create", "--name", name, *(["--live"] if live else []))


def start_server(data_dir: Path, database_url: str | None = None, **overrides: Any) -> tuple[LiveServer, Any]:
    """Start a server thread; returns (server, stop_function)."""
    settings = from_env(
        {}, data_dir=str(data_dir), database_url=database_url or f"sqlite:///{data_dir / 'lava.db'}", **overrides
    )
    ready = threading.Event()
    box: dict[str, Any] = {}

    def main() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()

        async def serve() -> None:
            svc = await open_services(settings)
            runner = web.AppRunner(build_app(svc), access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            box["server"] = LiveServer(f"http://127.0.0.1:{port}", settings, svc, loop)
            box["stop"] = stop
            ready.set()
            await stop.wait()
            await runner.cleanup()
            await svc.close()

        try:
            loop.run_until_complete(serve())
        except BaseException as exc:  # surface start-up failures to the test
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=main, name="lava-test-server", daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("server did not start within 30 s")
    if "error" in box:
        raise box["error"]
    server: LiveServer = box["server"]

    def stop() -> None:
        server.loop.call_soon_threadsafe(box["stop"].set)
        thread.join(timeout=30)

    return server, stop


def cli_json(argv: list[str]) -> dict[str, Any]:
    """Run ``lava`` main() in-process capturing stdout; for tests of the printing layer."""
    from lava_server.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "json": _maybe_json(out.getvalue())}


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None

"""``lava serve --workers N``: pre-forked worker processes sharing one listening socket.

The supervisor (this process) never runs an event loop or a thread of its own, so forking is
safe. It:

1. binds the listening socket;
2. forks a short-lived *preparation* child that applies migrations, reconciles the orphans of a
   previous run (SQLite: every ``pending`` request, since no worker is serving yet) and seeds the
   demo, then reports back through a pipe;
3. forks N workers. Each opens its own database connections and serves the inherited socket
   (the kernel hands each new connection to one of them); none reconciles orphans at start, so a
   restarted worker never touches the requests its siblings are serving;
4. restarts a worker that dies (and gives up after repeated immediate failures);
5. on SIGTERM/SIGINT asks every worker to stop (they finish in-flight requests, bounded), then
   kills stragglers. Workers die with the supervisor: if it is killed, the kernel kills them
   (``PR_SET_PDEATHSIG``), so a restart never overlaps with workers of the previous run.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import logging
import os
import signal
import sys
import time
from typing import Any

from .billing.instances import recover_dead_local
from .billing.reconcile import reconcile
from .context import open_services
from .server import (
    SHUTDOWN_TIMEOUT_S,
    ServeError,
    base_url,
    bind,
    install_uvloop,
    prepare,
    run_worker,
    with_demo_provider,
)
from .settings import Settings

log = logging.getLogger("lava")
SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
FAST_FAILURE_S = 5.0  # a worker that dies sooner than this after its start failed to start
MAX_FAST_FAILURES = 5
PR_SET_PDEATHSIG = 1


def supervise(settings: Settings, *, host: str, port: int, demo: bool, workers: int) -> None:
    """Run ``workers`` worker processes on one socket until SIGTERM/SIGINT."""
    sock = bind(host, port)
    url = base_url(host, sock)
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    prepared = _prepare(settings, url, demo)
    if prepared.get("demo_provider"):
        settings = with_demo_provider(settings, url)
    parent = os.getpid()
    started: dict[int, float] = {}

    def spawn() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _child(parent, lambda: _worker(settings, sock))
        started[pid] = time.monotonic()

    for _ in range(workers):
        spawn()
    print(json.dumps({"listening": url, "workers": workers, **prepared}), flush=True)
    fast_failures = 0
    try:
        while True:
            info = signal.sigtimedwait(SIGNALS, 1.0)
            if info is not None and info.si_signo != signal.SIGCHLD:
                break
            for pid, status in _reap():
                began = started.pop(pid, None)
                if began is None:
                    continue
                log.warning("worker %d exited (%s); starting another", pid, _describe(status))
                fast_failures = fast_failures + 1 if time.monotonic() - began < FAST_FAILURE_S else 0
                if fast_failures >= MAX_FAST_FAILURES:
                    raise ServeError(f"workers keep failing at start ({fast_failures} in a row)")
                spawn()
    finally:
        _stop_all(started)
        sock.close()


def _prepare(settings: Settings, url: str, demo: bool) -> dict[str, Any]:
    """Fork the preparation child and return what it reports (``database``, demo fields)."""
    read_fd, write_fd = os.pipe()
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)

        def work() -> None:
            result: dict[str, Any]
            try:
                result = asyncio.run(_prepare_async(settings, url, demo))
            except Exception as exc:  # reported to the supervisor, which exits with it
                result = {"error": f"{type(exc).__name__}: {exc}"}
            with os.fdopen(write_fd, "w") as out:
                out.write(json.dumps(result))
            if "error" in result:
                raise SystemExit(1)

        _child(parent, work)
    os.close(write_fd)
    with os.fdopen(read_fd) as inp:
        text = inp.read()
    os.waitpid(pid, 0)
    try:
        result: dict[str, Any] = json.loads(text)
    except ValueError:
        raise ServeError("server preparation failed") from None
    if "error" in result:
        raise ServeError(str(result["error"]))
    return result


async def _prepare_async(settings: Settings, url: str, demo: bool) -> dict[str, Any]:
    svc = await open_services(settings)  # applies migrations
    try:
        if svc.db.backend == "sqlite":  # no worker runs yet: every pending request is an orphan
            await reconcile(svc.billing.deps, all_pending=True)
        await recover_dead_local(svc.billing)  # journals of dead processes in this data dir (billing/instances.py)
        return {"database": svc.db.backend, **(await prepare(svc, url, demo))}
    finally:
        await svc.close()


async def _worker_async(settings: Settings, sock: Any) -> None:
    svc = await open_services(settings, run_migrations=False)
    try:
        await run_worker(svc, sock, orphans_at_start=False)
    finally:
        await svc.close()


def _worker(settings: Settings, sock: Any) -> None:
    install_uvloop()
    asyncio.run(_worker_async(settings, sock))


def _child(parent: int, work: Any) -> None:
    """In a forked child: die with the supervisor, unblock signals, run ``work``, never return."""
    code = 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        work()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        log.exception("worker %d failed", os.getpid())
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _reap() -> list[tuple[int, int]]:
    done: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done.append((pid, status))


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"status {os.waitstatus_to_exitcode(status)}"


def _stop_all(started: dict[int, float]) -> None:
    """SIGTERM every worker, wait for them (bounded), then SIGKILL what is left."""
    for pid in started:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S + 5
    while started and time.monotonic() < deadline:
        for pid, _status in _reap():
            started.pop(pid, None)
        if started:
            signal.sigtimedwait({signal.SIGCHLD}, 0.2)
    for pid in started:
        log.warning("worker %d did not stop in time; killing it", pid)
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass

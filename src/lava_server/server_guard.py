"""Bounds on client connections, enforced by the server itself (docs/limits.md).

- **Open connections per process:** :class:`ConnectionGuard` wraps aiohttp's protocol factory and
  counts transports. Above the bound a new connection gets a fixed ``503`` and is closed at once
  (its file descriptor is freed), with a rate-limited WARNING line. The bound is also kept below
  the process's file-descriptor limit, so idle connections can never starve the database,
  the upstream pool or the listening socket of descriptors.
- **Idle connections and slow request heads (slowloris):** aiohttp's ``keepalive_timeout`` closes
  a connection that has no request in progress when it expires: it starts when the connection
  opens and again after each response, and trickled bytes of an incomplete request line or
  headers do not reset it. So one setting bounds both the idle keep-alive time and the time to
  send a request head (``Limits.client_idle_timeout_s``).
- **Malformed requests** (bad request line, bad header, oversized line) are logged as one short
  WARNING line with the client address and the parser's reason (quoted, truncated): no
  traceback, and nothing is authenticated or routed before it.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import Any, cast

from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger("lava.server")

_REFUSAL_BODY = b'{"error":{"message":"too many open connections","code":"too_many_connections","status":503}}'
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 1\r\n"
    b"Connection: close\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n\r\n" + _REFUSAL_BODY
)
REFUSAL_LOG_INTERVAL_S = 10.0
FD_RESERVE = 256  # descriptors kept for the database, log files, the listening socket, DNS…
MAX_REASON_CHARS = 160


def effective_connection_bound(configured: int, upstream_connections: int) -> int:
    """The client-connection bound this process can honour: ``configured`` (a count), lowered to
    what the file-descriptor limit leaves after the upstream pool and a reserve.

    Raises the soft ``RLIMIT_NOFILE`` to the hard limit first (as most servers do)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    available = soft - upstream_connections - FD_RESERVE
    bound = configured if configured <= available else max(16, available)
    if bound < configured:
        log.warning(
            "client connections bounded at %d (not %d): the file-descriptor limit is %d", bound, configured, soft
        )
    return bound


class _Counted(asyncio.Protocol):
    """Delegates every event to aiohttp's handler and releases a slot when the transport closes."""

    __slots__ = ("_guard", "_inner")

    def __init__(self, inner: Any, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._guard.open += 1
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.open -= 1
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self._inner.eof_received()
        return result

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _Refuse(asyncio.Protocol):
    """Above the bound: answer 503 and close, without reading the request."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tcp = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        self._guard.refused_one()
        tcp.write(REFUSAL)
        tcp.close()


class ConnectionGuard:
    """Counts one process's open client connections; refuses new ones at ``max_connections``.

    ``open`` and ``refused`` are plain counters (connections); the event loop is single-threaded.
    """

    def __init__(self, max_connections: int, clock: Callable[[], float] | None = None) -> None:
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self._unlogged = 0
        self._last_log = float("-inf")
        self._clock = clock

    def protocol_factory(self, inner: Callable[[], Any]) -> Callable[[], asyncio.Protocol]:
        """Wrap aiohttp's ``Server`` (a protocol factory) for ``loop.create_server``."""

        def make() -> asyncio.Protocol:
            if self.open >= self.max_connections:
                return _Refuse(self)
            return _Counted(inner(), self)

        return make

    def refused_one(self) -> None:
        self.refused += 1
        self._unlogged += 1
        now = self._clock() if self._clock else asyncio.get_running_loop().time()
        if now - self._last_log >= REFUSAL_LOG_INTERVAL_S:
            log.warning(
                "refused %d connection(s): %d open, the limit is %d (max_client_connections)",
                self._unlogged,
                self.open,
                self.max_connections,
            )
            self._unlogged = 0
            self._last_log = now


def _reason(exc: HttpProcessingError) -> str:
    text = f"{exc.code} {type(exc).__name__}: {exc.message}"
    return repr(text[:MAX_REASON_CHARS])  # repr: no newline or control byte from the client reaches the log


class ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, with HTTP parse errors turned into one short WARNING line.

    Passed as ``logger=`` to the runner; every other message (an unhandled 500) is unchanged."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        super().__init__(logger or logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            log.warning("malformed request from %s: %s", args[0] if args else "?", _reason(exc_info))
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info")
        if isinstance(exc, HttpProcessingError):  # aiohttp logs a bad method on a fresh connection at DEBUG
            log.warning("malformed request from %s: %s", args[0] if args else "?", _reason(exc))
            return
        super().debug(msg, *args, **kwargs)

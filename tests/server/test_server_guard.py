"""Unit tests of the connection guard and the server log (the end-to-end behaviour is in
test_connection_limits.py): counting, refusal, rate-limited refusal lines, one-line parse errors."""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

import pytest
from aiohttp.http_exceptions import BadStatusLine, LineTooLong

from lava_server.server_guard import REFUSAL, ConnectionGuard, ServerLog, effective_connection_bound


class FakeTransport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


class Inner(asyncio.Protocol):
    def __init__(self) -> None:
        self.events: list[str] = []

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(f"data:{data.decode()}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")


def test_guard_counts_delegates_and_refuses_above_the_bound(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    guard = ConnectionGuard(2, clock=lambda: now[0])
    inners: list[Inner] = []

    def make_inner() -> Inner:
        inners.append(Inner())
        return inners[-1]

    factory = guard.protocol_factory(make_inner)
    first, second = factory(), factory()
    first.connection_made(FakeTransport())  # type: ignore[arg-type]
    second.connection_made(FakeTransport())  # type: ignore[arg-type]
    first.data_received(b"GET")
    assert guard.open == 2
    assert inners[0].events == ["made", "data:GET"]

    caplog.set_level(logging.WARNING, logger="lava.server")
    refused = [FakeTransport() for _ in range(5)]
    for t in refused:
        factory().connection_made(t)  # type: ignore[arg-type]
    assert len(inners) == 2  # aiohttp's handler is never built for a refused connection
    assert all(t.written == REFUSAL and t.closed for t in refused)
    assert guard.refused == 5
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["refused 1 connection(s): 2 open, the limit is 2 (max_client_connections)"]

    now[0] += 11  # the next refusal after the interval reports the ones not yet logged
    factory().connection_made(FakeTransport())  # type: ignore[arg-type]
    assert [r.getMessage() for r in caplog.records][-1].startswith("refused 5 connection(s)")

    first.connection_lost(None)
    assert guard.open == 1 and inners[0].events[-1] == "lost"
    third = factory()
    third.connection_made(FakeTransport())  # type: ignore[arg-type]
    assert len(inners) == 3 and guard.open == 2  # a freed slot is usable again


def test_parse_errors_are_one_quoted_warning_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    log = ServerLog()
    log.exception("Error handling request from %s", "10.0.0.7", exc_info=BadStatusLine("GET\r\nX-Forged: yes" * 40))
    log.debug("Error handling request from %s", "10.0.0.8", exc_info=LineTooLong("a" * 10, "8190"))
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    for record in warnings:
        text = record.getMessage()
        assert text.startswith("malformed request from 10.0.0.")
        assert "\n" not in text and "\r" not in text  # client bytes cannot forge a log line
        assert len(text) < 260
        assert record.exc_info is None
    assert "400 BadStatusLine" in warnings[0].getMessage()


def test_other_errors_keep_their_traceback(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    try:
        raise RuntimeError("a bug")
    except RuntimeError as exc:
        ServerLog().exception("Error handling request from %s", "127.0.0.1", exc_info=exc)
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None


def test_bound_is_lowered_to_what_descriptors_allow() -> None:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert effective_connection_bound(50, 1000) == 50
    huge = 10 * soft + 10**6
    lowered = effective_connection_bound(huge, 1000)
    soft_after, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert lowered == max(16, soft_after - 1000 - 256)
    assert lowered < huge

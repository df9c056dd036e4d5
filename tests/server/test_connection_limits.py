"""Issue 14 item 7: the server bounds open connections and the time to send a request head,
refuses above the bound with a log line, and logs a malformed request as one short WARNING line.

Each test runs a real ``lava serve --workers 1`` process with small bounds and inspects its file
descriptors in /proc and its log on stderr."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.billing.billing_fixtures import FORWARD_PATH, prompt_of
from tests.support.workers import WorkersEnv, make_workers_env

MAX_CONNECTIONS = 40
IDLE_TIMEOUT_S = 1.5
PRICES = [("openai", "slow-stream", "0", "10")]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[WorkersEnv]:
    e = make_workers_env(
        tmp_path / "d",
        1,
        PRICES,
        extra_args=("--max-connections", str(MAX_CONNECTIONS), "--idle-timeout", str(IDLE_TIMEOUT_S)),
    )
    try:
        yield e
    finally:
        e.close()


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _addr(env: WorkersEnv) -> tuple[str, int]:
    host, port = env.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


def _closed_by_server(sock: socket.socket, deadline: float) -> float | None:
    """Seconds until the server closed ``sock`` (EOF or reset), or None if it did not by ``deadline``."""
    started = time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


def test_idle_connections_are_bounded_refused_with_a_log_line_and_expire(env: WorkersEnv) -> None:
    pid = env.proc.pid
    baseline = _fds(pid)
    socks = []
    try:
        for _ in range(5 * MAX_CONNECTIONS):
            socks.append(socket.create_connection(_addr(env), timeout=5))
        time.sleep(0.3)
        # the server never holds more than the bound, however many clients connect
        assert _fds(pid) <= baseline + MAX_CONNECTIONS + 2
        refused = httpx.get(env.url + "/healthz", timeout=5)
        assert refused.status_code == 503
        assert refused.json() == {
            "error": {"message": "too many open connections", "code": "too_many_connections", "status": 503}
        }
        assert refused.headers["retry-after"] == "1"
        # idle connections are closed after the idle timeout, and normal requests work again
        deadline = time.monotonic() + IDLE_TIMEOUT_S + 3
        while time.monotonic() < deadline and _fds(pid) > baseline + 2:
            time.sleep(0.1)
        assert _fds(pid) <= baseline + 2
        assert httpx.get(env.url + "/healthz", timeout=5).status_code == 200
    finally:
        for s in socks:
            s.close()
    err = env.stop()
    refusals = [line for line in err.splitlines() if "refused" in line and "connection" in line]
    assert refusals and "WARNING" in refusals[0] and "limit is 40" in refusals[0], err[-2000:]
    assert len(refusals) <= 2  # rate-limited: a burst does not flood the log


def test_slowloris_heads_are_closed_within_the_bound(env: WorkersEnv) -> None:
    first = socket.create_connection(_addr(env), timeout=5)  # trickles its first request head
    second = socket.create_connection(_addr(env), timeout=5)  # one full request, then trickles the next
    try:
        second.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in second.recv(4096)
        first.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        second.sendall(b"GET /healthz HTTP/1.1\r\n")
        started = time.monotonic()
        closed: dict[str, float] = {}
        while time.monotonic() - started < IDLE_TIMEOUT_S + 3 and len(closed) < 2:
            for name, s in (("first", first), ("second", second)):
                if name in closed:
                    continue
                try:
                    s.sendall(b"X-Slow: y\r\n")  # a header line every 0.2 s, never the blank line
                except (BrokenPipeError, ConnectionResetError):
                    closed[name] = time.monotonic() - started
                    continue
                s.settimeout(0.1)
                try:
                    if s.recv(4096) == b"":
                        closed[name] = time.monotonic() - started
                except TimeoutError:
                    pass
                except ConnectionResetError:
                    closed[name] = time.monotonic() - started
        assert set(closed) == {"first", "second"}, closed
        assert all(t <= IDLE_TIMEOUT_S + 1.5 for t in closed.values()), closed
    finally:
        first.close()
        second.close()


def test_a_stream_longer_than_the_idle_timeout_is_not_cut(env: WorkersEnv) -> None:
    con, tok = env.connection(credit="1"), None
    product = env.product("--rate-type", "fixed", "--tier", "0:0")
    tok = env.token(con, product)
    body = {"model": "slow-stream", "stream": True, "max_tokens": 40, "messages": prompt_of(10, out_words=40)}
    headers = {"Authorization": f"Bearer {tok}", "x-fake-chunk-delay-ms": "60"}  # ~2.4 s of chunks
    started = time.monotonic()
    with httpx.stream("POST", env.url + FORWARD_PATH, json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        text = "".join(r.iter_text())
    assert time.monotonic() - started > IDLE_TIMEOUT_S
    assert "[DONE]" in text
    env.assert_ledger_ok()


def test_malformed_requests_log_one_short_warning_line(env: WorkersEnv) -> None:
    bad = [
        b"GARBAGE\x01 / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ]
    for raw in bad:
        with socket.create_connection(_addr(env), timeout=5) as s:
            s.sendall(raw)
            reply = s.recv(4096)
            assert reply.startswith(b"HTTP/1.") and reply[9:10] == b"4", reply[:200]
            _closed_by_server(s, time.monotonic() + 2)
    err = env.stop()
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if "malformed request" in line]
    assert len(lines) == len(bad), err[-3000:]
    assert all("WARNING" in line and "127.0.0.1" in line and len(line) < 300 for line in lines), lines
    assert not [line for line in err.splitlines() if " ERROR " in line], err[-3000:]

"""Clients that stop reading or reset while the gateway waits on them: the upstream is still
drained and the real usage charged; nothing waits forever."""

from __future__ import annotations

import base64
import json
import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from lava_server.settings import Limits
from tests.fakes.server import RunningServer, start_in_thread
from tests.support.live import LiveServer, start_server

CHUNK = 20_000
USAGE = {"prompt_tokens": 1000, "completion_tokens": 2000, "total_tokens": 3000}


def big_stream_upstream() -> web.Application:
    """A long SSE chat stream (~n × 20 KB) that ends with a usage chunk."""

    async def chat(request: web.Request) -> web.StreamResponse:
        await request.read()
        n = int(request.headers.get("x-n", "1500"))
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        for i in range(n):
            delta = {"content": f"[{i}]" + "x" * CHUNK}
            frame = {
                "id": "c1",
                "object": "chat.completion.chunk",
                "model": "gpt-4o",
                "choices": [{"index": 0, "delta": delta}],
            }
            await resp.write(b"data: " + json.dumps(frame).encode() + b"\n\n")
        last = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o", "choices": [], "usage": USAGE}
        await resp.write(b"data: " + json.dumps(last).encode() + b"\n\ndata: [DONE]\n\n")
        await resp.write_eof()
        return resp

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    return app


def make_stack(data: Path, write_timeout_s: float) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    upstream: RunningServer = start_in_thread(big_stream_upstream)
    server, stop = start_server(
        data,
        upstream_map={"api.openai.com": upstream.url},
        limits=Limits(client_write_timeout_s=write_timeout_s, client_body_timeout_s=1.0),
    )
    m = server.merchant("bp")
    product = server.cli("products", "create", "--secret-key", m["secret_key"], "--allow-unpriced-models")
    con = server.cli("connections", "create", "--secret-key", m["secret_key"], "--credit", "100")
    token = base64.b64encode(
        json.dumps(
            {
                "secret_key": m["secret_key"],
                "connection_secret": con["connection_secret"],
                "product_secret": product["product_secret"],
                "provider_key": "sk-own",
            },
            separators=(",", ":"),
        ).encode()
    ).decode()
    yield server, {"token": token, "secret_key": m["secret_key"]}
    stop()
    upstream.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    yield from make_stack(Path(tmp_path_factory.mktemp("bp")), write_timeout_s=1.0)


@pytest.fixture(scope="module")
def patient_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A long write timeout, so only the reset itself can tell the gateway the client is gone."""
    yield from make_stack(Path(tmp_path_factory.mktemp("bp2")), write_timeout_s=60.0)


def raw_request(server: LiveServer, token: str, *, n: int) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    body = json.dumps(
        {"model": "gpt-4o", "stream": True, "stream_options": {"include_usage": True}, "messages": []}
    ).encode()
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.sendall(
        b"POST /v1/forward?u=https://api.openai.com/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {token}\r\nx-n: {n}\r\nContent-Type: application/json\r\n".encode()
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    return sock


def newest_request(server: LiveServer, secret_key: str, *, wait_s: float = 20.0) -> dict[str, object]:
    deadline = time.monotonic() + wait_s
    while True:
        rec = httpx.get(server.url + "/v1/requests?limit=1", headers={"Authorization": f"Bearer {secret_key}"}).json()[
            "data"
        ][0]
        if rec["status"] != "pending" or time.monotonic() > deadline:
            return rec  # type: ignore[no-any-return]
        time.sleep(0.2)


def test_reset_while_the_gateway_waits_to_write_still_charges_real_usage(patient_stack) -> None:  # type: ignore[no-untyped-def]
    server, acct = patient_stack
    sock = raw_request(server, acct["token"], n=600)
    got = 0
    while got < 1_000_000:
        data = sock.recv(65536)
        if not data:
            break
        got += len(data)
    time.sleep(1.0)  # the gateway is now blocked on a full socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # reset, not FIN
    sock.close()
    rec = newest_request(server, acct["secret_key"])
    assert rec["status"] == "completed", rec
    usage = rec["model_usage"]
    assert isinstance(usage, dict)
    assert (usage["input_tokens"], usage["output_tokens"], usage["estimated"]) == (1000, 2000, False)


def test_a_client_that_stops_reading_is_treated_as_gone(stack) -> None:  # type: ignore[no-untyped-def]
    server, acct = stack
    started = time.monotonic()
    sock = raw_request(server, acct["token"], n=600)  # never read: the socket fills up
    rec = newest_request(server, acct["secret_key"])
    sock.close()
    assert rec["status"] == "completed", rec
    assert time.monotonic() - started < 15  # write timeout (1 s) + draining the rest
    usage = rec["model_usage"]
    assert isinstance(usage, dict)
    assert usage["output_tokens"] == 2000


def test_a_body_that_never_arrives_times_out(stack) -> None:  # type: ignore[no-untyped-def]
    server, acct = stack
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.settimeout(10)
    sock.sendall(
        b"POST /v1/forward?u=https://api.openai.com/v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        + f"Authorization: Bearer {acct['token']}\r\nContent-Type: application/json\r\n".encode()
        + b"Content-Length: 1000\r\n\r\n{"
    )
    started = time.monotonic()
    reply = sock.recv(65536).decode()
    sock.close()
    assert reply.startswith("HTTP/1.1 408"), reply[:200]
    assert '"request_timeout"' in reply
    assert time.monotonic() - started < 5

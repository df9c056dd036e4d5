"""A real webhook receiver on loopback, and a verifier written from the spec (lava-api-current §3.9).

The receiver answers with a programmable sequence of statuses (then 200), records every request
(headers and raw body) and the ids it acknowledged with a 2xx, and can be slowed down.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web

from tests.fakes.server import RunningServer, start_in_thread


class VerificationError(Exception):
    pass


def verify(
    body: bytes, signature: str | None, secret: str, *, tolerance_s: float = 300, now: float | None = None
) -> Any:
    """The receiver's side of the scheme: hex HMAC-SHA256 of the raw body keyed with the secret,
    compared in constant time; then the envelope's signed ``created_at`` must be within ``tolerance_s``."""
    if not signature:
        raise VerificationError("no signature header")
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise VerificationError("signature mismatch")
    event = json.loads(body)
    sent = datetime.fromisoformat(event["created_at"].replace("Z", "+00:00")).timestamp()
    if abs((time.time() if now is None else now) - sent) > tolerance_s:
        raise VerificationError("outside the tolerance")
    return event


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float

    @property
    def event(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Programmable behaviour: ``statuses`` are answered first, in order, then 200."""

    statuses: list[int] = field(default_factory=list)
    delay_s: float = 0.0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: RunningServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url + "/hook"

    def app(self) -> web.Application:
        async def hook(request: web.Request) -> web.Response:
            import asyncio

            body = await request.read()
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            with self.lock:
                status = self.statuses.pop(0) if self.statuses else 200
                self.received.append(Received(dict(request.headers), body, status, time.time()))
            return web.json_response({"received": True}, status=status)

        app = web.Application()
        app.router.add_post("/hook", hook)
        return app

    def start(self) -> Receiver:
        self.server = start_in_thread(self.app)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def acknowledged(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if 200 <= r.status < 300]

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.05)
        with self.lock:
            seen = [(r.status, r.event.get("event"), r.event.get("id")) for r in self.received]
        raise AssertionError(f"receiver condition not met within {timeout} s; received {seen}")

    def acked_events(self, event_type: str | None = None) -> list[Any]:
        events = [r.event for r in self.acknowledged()]
        return [e for e in events if event_type is None or e["event"] == event_type]

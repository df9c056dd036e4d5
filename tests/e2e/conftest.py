"""E2E fixtures: Chromium (Debian's, via Playwright), merchant sites on other origins, localstripe."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from lava_server.checkout.config import CheckoutSettings
from tests.support.live import LiveServer, start_server

WEB = Path(__file__).parent / "web" / "public"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WEBHOOK_SECRET = "whsec_lava_e2e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Module-scoped on purpose: sync Playwright runs an event loop in the main thread while it is
    open, which would break later tests that call asyncio.run() (e.g. LiveServer.cli)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 390, "height": 844})  # phone width
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


class OtpCapture(logging.Handler):
    """The console OTP sender logs codes; tests read them here (the server runs in-process)."""

    def __init__(self) -> None:
        super().__init__()
        self.codes: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "lava.checkout.otp" and len(record.args or ()) == 3:
            email, _merchant, code = record.args  # type: ignore[misc]
            self.codes[str(email)] = str(code)

    def wait(self, email: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if email in self.codes:
                return self.codes.pop(email)
            time.sleep(0.05)
        raise AssertionError(f"no code was sent to {email}")


@pytest.fixture(scope="session")
def otp_codes() -> Iterator[OtpCapture]:
    handler = OtpCapture()
    logger = logging.getLogger("lava.checkout.otp")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture(scope="module")
def checkout_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server of its own, so 'funds in = successful payments' is exact for this module."""
    server, stop = start_server(tmp_path_factory.mktemp("lava-checkout"))
    yield server
    stop()


@dataclass
class MerchantSite:
    """A merchant's site on its own origin: static files plus a backend that uses the Python SDK."""

    secret_key: str
    api_base: str
    origin_url: str | None = None  # None → this site's own origin
    extra_pages: dict[str, str] = field(default_factory=dict)
    url: str = ""
    connection_id: str | None = None
    sessions: list[str] = field(default_factory=list)

    def create_session(self, checkout_mode: str) -> dict[str, Any]:
        from lava import Lava

        lava = Lava(self.secret_key, base_url=self.api_base)
        session = lava.checkout_sessions.create(
            checkout_mode=checkout_mode,  # type: ignore[arg-type]
            origin_url=self.origin_url or self.url + "/",
            reference_id="customer_42",
            connection_id=self.connection_id if checkout_mode == "topup" else None,
        )
        self.sessions.append(session.checkout_session_id)
        return {"checkout_session_token": session.checkout_session_token}


def serve_site(site: MerchantSite) -> Callable[[], None]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path in site.extra_pages:
                self._send(200, site.extra_pages[path].encode(), "text/html; charset=utf-8")
                return
            name = {"/": "index.html"}.get(path, path.lstrip("/"))
            file = WEB / name
            if "/" in name or not file.is_file():
                self._send(404, b"not found", "text/plain")
                return
            kind = "text/html; charset=utf-8" if name.endswith(".html") else "text/javascript"
            self._send(200, file.read_bytes(), kind)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/api/create-checkout-session":
                data = site.create_session(str(body.get("checkout_mode", "onboarding")))
                self._send(200, json.dumps(data).encode(), "application/json")
            else:
                self._send(404, b"{}", "application/json")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return stop


@pytest.fixture
def make_site() -> Iterator[Callable[..., MerchantSite]]:
    stops: list[Callable[[], None]] = []

    def make(secret_key: str, api_base: str, **kw: Any) -> MerchantSite:
        site = MerchantSite(secret_key, api_base, **kw)
        stops.append(serve_site(site))
        return site

    yield make
    for stop in stops:
        stop()


@pytest.fixture(scope="module")
def localstripe() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "localstripe_launcher.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url + "/js.stripe.com/v3/", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("localstripe did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def stripe_server(tmp_path_factory: pytest.TempPathFactory, localstripe: str) -> Iterator[LiveServer]:
    checkout = CheckoutSettings(
        processor="stripe",
        stripe_secret_key="sk_test_lava_e2e",
        stripe_publishable_key="pk_test_lava_e2e",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=localstripe,
        stripe_js_url=localstripe + "/js.stripe.com/v3/",
    )
    server, stop = start_server(tmp_path_factory.mktemp("lava-stripe"), checkout=checkout)
    r = httpx.post(
        f"{localstripe}/_config/webhooks/lava",
        data={"url": server.url + "/webhooks/stripe", "secret": WEBHOOK_SECRET},
    )
    assert r.status_code == 200, r.text
    yield server
    stop()

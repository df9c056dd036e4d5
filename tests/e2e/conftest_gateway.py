"""Fixtures and helpers for the forward-gateway end-to-end tests.

Import the fixtures explicitly from a test module::

    from tests.e2e.conftest_gateway import fake_gateway, replay_gateway  # noqa: F401

Two session-scoped stacks are offered (each a real Lava server in a thread plus an upstream):

* ``fake_gateway``: OpenAI, Anthropic, Gemini and Mistral hosts mapped to one
  :func:`tests.fakes.make_fake_app`, managed provider keys set for all of them, and
  ``api.groq.com`` mapped to a closed port (an unreachable upstream).
* ``replay_gateway``: every host of the recorded sample manifest mapped to the replay upstream.

Tests isolate themselves by creating their own merchant (:meth:`GatewayStack.account`).
"""

from __future__ import annotations

import base64
import json
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes import load_manifest, make_fake_app, make_replay_app
from tests.fakes.server import RunningServer, start_in_thread
from tests.support.live import LiveServer, start_server

MANAGED_KEYS = {
    "openai": "sk-managed-openai-0001",
    "anthropic": "sk-ant-managed-0002",
    "google": "AIza-managed-google-0003",
    "mistral": "sk-managed-mistral-0004",
}
FAKE_HOSTS = ("api.openai.com", "api.anthropic.com", "generativelanguage.googleapis.com", "api.mistral.ai")
UNREACHABLE_HOST = "api.groq.com"
TIMEOUT = httpx.Timeout(30.0)


def make_token(
    secret_key: str,
    connection_secret: str | None,
    product_secret: str | None,
    provider_key: str | None = None,
) -> str:
    """A forward token exactly as the Lava SDKs build it: base64 of compact JSON."""
    data: dict[str, Any] = {
        "secret_key": secret_key,
        "connection_secret": connection_secret,
        "product_secret": product_secret,
    }
    if provider_key is not None:
        data["provider_key"] = provider_key
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Account:
    """A merchant with a product and a funded connection, on one server."""

    server: LiveServer
    secret_key: str
    merchant_id: str | None
    product_id: str
    product_secret: str
    connection_id: str
    connection_secret: str
    extra: dict[str, Any] = field(default_factory=dict)

    def token(self, provider_key: str | None = None) -> str:
        return make_token(self.secret_key, self.connection_secret, self.product_secret, provider_key)

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}

    def forward_url(self, target: str) -> str:
        return f"{self.server.url}/v1/forward?u={target}"

    def request(self, request_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.server.api_base}requests/{request_id}", headers=self.admin_headers, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        return r.json()

    def requests(self, **params: Any) -> list[dict[str, Any]]:
        """Every request record of this merchant, newest first (follows cursors)."""
        out: list[dict[str, Any]] = []
        query = {"limit": "100", **{k: str(v) for k, v in params.items()}}
        while True:
            r = httpx.get(f"{self.server.api_base}requests", headers=self.admin_headers, params=query, timeout=TIMEOUT)
            assert r.status_code == 200, r.text
            body = r.json()
            out += body["data"]
            if not body.get("has_more") or not body.get("next_cursor"):
                return out
            query["cursor"] = body["next_cursor"]

    def latest_request(self) -> dict[str, Any]:
        found = self.requests(limit=1)
        assert found, "no request record"
        return found[0]

    def assert_no_pending(self) -> list[dict[str, Any]]:
        """No record of this merchant is left ``pending`` (none lost, none stuck)."""
        records = self.requests()
        stuck = [
            (r["request_id"], r["status"], r["endpoint"]) for r in records if r["status"] not in ("completed", "error")
        ]
        assert not stuck, f"records not finished: {stuck}"
        return records


@dataclass
class GatewayStack:
    server: LiveServer
    upstream: RunningServer

    def account(self, *, live: bool = False, name: str | None = None) -> Account:
        srv = self.server
        merchant = srv.merchant(name or f"gw-{uuid.uuid4().hex[:8]}", live=live)
        key = merchant["secret_key"]
        product = srv.cli("products", "create", "--secret-key", key, "--allow-unpriced-models")
        conn = srv.cli("connections", "create", "--secret-key", key, "--credit", "50")
        return Account(
            server=srv,
            secret_key=key,
            merchant_id=merchant.get("merchant_id"),
            product_id=product["product_id"],
            product_secret=product["product_secret"],
            connection_id=conn["connection_id"],
            connection_secret=conn["connection_secret"],
            extra={"merchant": merchant, "product": product, "connection": conn},
        )

    # -- the fake upstream's controls ------------------------------------------------------

    def fake_stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.upstream.url}/_fake/stats", timeout=TIMEOUT).json()

    def fake_requests(self) -> list[dict[str, Any]]:
        return httpx.get(f"{self.upstream.url}/_fake/requests", timeout=TIMEOUT).json()["requests"]

    def upstream_hits(self) -> int:
        return int(self.fake_stats()["requests"])


def _start_stack(tmp: Path, upstream: RunningServer, upstream_map: dict[str, str], **overrides: Any) -> GatewayStack:
    server, stop = start_server(tmp, upstream_map=upstream_map, **overrides)
    stack = GatewayStack(server, upstream)
    stack._stop = stop  # type: ignore[attr-defined]
    return stack


def start_fake_stack(tmp: Path, **overrides: Any) -> tuple[GatewayStack, Any]:
    """A fake upstream + gateway with managed keys; returns (stack, stop)."""
    fake = start_in_thread(lambda: make_fake_app())
    mapping = {host: fake.url for host in FAKE_HOSTS}
    mapping[UNREACHABLE_HOST] = f"http://127.0.0.1:{closed_port()}"
    stack = _start_stack(tmp, fake, mapping, **overrides)
    for provider, key in MANAGED_KEYS.items():
        stack.server.cli("provider-keys", "set", "--provider", provider, "--key", key)

    def stop() -> None:
        stack._stop()  # type: ignore[attr-defined]
        fake.stop()

    return stack, stop


@pytest.fixture(scope="session")
def fake_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    stack, stop = start_fake_stack(tmp_path_factory.mktemp("gw-fake"))
    yield stack
    stop()


@pytest.fixture(scope="session")
def replay_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayStack]:
    replay = start_in_thread(lambda: make_replay_app(max_delay_s=0.001))
    hosts = {row["host"] for row in load_manifest()}
    stack = _start_stack(tmp_path_factory.mktemp("gw-replay"), replay, {h: replay.url for h in hosts})
    yield stack
    stack._stop()  # type: ignore[attr-defined]
    replay.stop()


@pytest.fixture
def account(fake_gateway: GatewayStack) -> Account:
    return fake_gateway.account()

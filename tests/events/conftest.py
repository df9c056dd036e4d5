"""Fixtures: a Lava server whose webhook worker may reach loopback (LAVA_WEBHOOK_ALLOWED_HOSTS)
with a short retry schedule, and a real receiver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lava_server.billing import ledger
from lava_server.events.config import WebhookSettings
from tests.events.receiver import Receiver
from tests.support.live import LiveServer, start_server

FAST = WebhookSettings(
    allowed_hosts=("127.0.0.1",),
    retry_schedule_s=(0.3, 0.3, 0.3),
    poll_interval_s=0.05,
    coalesce_s=0.5,
    timeout_s=3.0,
)


def start_hook_server(data_dir: Path, settings: WebhookSettings = FAST, **kw: Any) -> tuple[LiveServer, Any]:
    return start_server(data_dir, webhooks=settings, **kw)


@pytest.fixture
def hook_server(tmp_path: Path) -> Iterator[LiveServer]:
    server, stop = start_hook_server(tmp_path)
    yield server
    report = server.call(ledger.check(server.services.db))
    stop()
    assert report.ok, report.problems


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def api(server: LiveServer, secret_key: str) -> httpx.Client:
    return httpx.Client(base_url=server.api_base, headers={"Authorization": f"Bearer {secret_key}"}, timeout=10)


def new_merchant(server: LiveServer, live: bool = False) -> dict[str, Any]:
    return server.merchant(f"hooks-{uuid.uuid4().hex[:8]}", live=live)

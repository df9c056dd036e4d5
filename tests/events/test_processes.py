"""Real ``lava serve`` processes: delivery survives a SIGKILL between attempts, and two replicas
on one PostgreSQL database never both deliver one event in one attempt window."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lava_server.accounts.connections import create_connection
from lava_server.cli import run as cli_run
from lava_server.context import open_services
from lava_server.settings import from_env
from tests.events.receiver import Receiver, verify

LAVA = str(Path(sys.executable).parent / "lava")
HOOK_ENV = {
    "LAVA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "LAVA_WEBHOOK_RETRY_SCHEDULE": "1.5,1.5,1.5",
    "LAVA_WEBHOOK_POLL_INTERVAL": "0.05",
    "LAVA_WEBHOOK_LEASE": "5",
    "LAVA_WEBHOOK_TIMEOUT": "3",
}


class Serve:
    """One ``lava serve`` process."""

    def __init__(self, data_dir: Path, database_url: str | None = None) -> None:
        argv = [LAVA, "serve", "--port", "0", "--data-dir", str(data_dir)]
        if database_url:
            argv += ["--database-url", database_url]
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **HOOK_ENV}
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            self.url = json.loads(line)["listening"].rstrip("/")
        except (ValueError, KeyError):
            self.proc.kill()
            raise AssertionError(f"server did not announce itself: {line!r}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def _register(url: str, secret_key: str, receiver: Receiver) -> dict[str, Any]:
    r = httpx.post(
        url + "/v1/webhooks",
        json={"name": "receiver", "url": receiver.url},
        headers={"Authorization": f"Bearer {secret_key}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_delivery_after_sigkill_between_attempts(tmp_path: Path, receiver: Receiver) -> None:
    data = ["--data-dir", str(tmp_path)]
    m = cli_run(["merchants", "create", "--name", "restarts", *data])
    receiver.statuses = [500]
    first = Serve(tmp_path)
    try:
        hook = _register(first.url, str(m["secret_key"]), receiver)
        con = cli_run(["connections", "create", "--secret-key", str(m["secret_key"]), *data])
        receiver.wait_for(lambda r: len(r.received) == 1)
        first.kill()  # the retry is 1.5 s away
    finally:
        first.kill()
    time.sleep(2.0)  # the retry fell due while no server ran
    assert len(receiver.received) == 1
    second = Serve(tmp_path)
    try:
        receiver.wait_for(lambda r: len(r.acknowledged()) == 1)
        time.sleep(0.5)
    finally:
        second.stop()
    assert [r.status for r in receiver.received] == [500, 200]
    failed, acked = receiver.received
    assert failed.event["id"] == acked.event["id"]
    event = verify(acked.body, acked.headers["X-Webhook-Signature"], hook["webhook_secret"])
    assert event["event"] == "customer.created" and event["data"]["customer_id"] == con["connection_id"]
    assert cli_run(["ledger", "check", *data])["ok"]


def test_two_replicas_never_deliver_one_event_twice(
    tmp_path: Path, receiver: Receiver, postgres_database_url: str
) -> None:
    db = ["--database-url", postgres_database_url, "--data-dir", str(tmp_path)]
    cli_run(["migrate", *db])
    m = cli_run(["merchants", "create", "--name", "replicas", *db])
    receiver.delay_s = 0.2  # attempts overlap: both workers are busy at once
    replicas = [Serve(tmp_path, postgres_database_url), Serve(tmp_path, postgres_database_url)]
    events = 60
    try:
        _register(replicas[0].url, str(m["secret_key"]), receiver)

        async def burst() -> None:  # one transaction: every event becomes due at the same instant
            svc = await open_services(from_env({}, database_url=postgres_database_url, data_dir=str(tmp_path)))
            try:
                key = await svc.keys.resolve(str(m["secret_key"]))
                assert key is not None
                async with svc.db.transaction() as tx:
                    for _ in range(events):
                        await create_connection(svc, key, tx=tx)
            finally:
                await svc.close()

        asyncio.run(burst())
        receiver.wait_for(lambda r: len(r.acknowledged()) >= events, timeout=60)
        time.sleep(1.0)
    finally:
        for r in replicas:
            r.stop()
    per_event = Counter(r.event["id"] for r in receiver.received)
    assert len(per_event) == events
    assert set(per_event.values()) == {1}, [k for k, n in per_event.items() if n > 1]

    async def workers() -> list[str]:
        import asyncpg

        conn = await asyncpg.connect(postgres_database_url)
        try:
            return [r["worker"] for r in await conn.fetch("SELECT worker, attempt FROM webhook_attempts")]
        finally:
            await conn.close()

    names = asyncio.run(workers())
    assert len(names) == events
    assert len(set(names)) == 2, "both replicas took part"

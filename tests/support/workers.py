"""A real ``lava serve --workers N`` process tree for tests, with the billing helpers the money
suite's scenarios use (duck-typed like ``tests.billing.billing_fixtures.BillingEnv``)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lava_server.cli import run as cli_run
from lava_server.store import open_database
from tests.billing.billing_fixtures import Connection, set_prices_offline, token, units
from tests.fakes.providers import make_fake_app
from tests.fakes.server import RunningServer, start_in_thread

LAVA = str(Path(sys.executable).parent / "lava")


def start_lava(data_dir: Path, *args: str, database_url: str | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``lava serve --port 0 ARGS`` and return (process, base URL) once it has announced itself."""
    db = ["--database-url", database_url] if database_url else []
    proc = subprocess.Popen(
        [LAVA, "serve", "--port", "0", "--data-dir", str(data_dir), *db, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LAVA_DATA_DIR": str(data_dir)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        url = str(json.loads(line)["listening"])
    except (ValueError, KeyError):
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"server did not announce itself: {line!r}\n{err[-3000:]}") from None
    return proc, url


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        kids.extend(int(k) for k in text)
    return kids


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def cpu_ticks(pid: int) -> int:
    """utime + stime of one process, in clock ticks."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


@dataclass
class WorkersEnv:
    data_dir: Path
    proc: subprocess.Popen[str]
    url: str
    fake: RunningServer
    merchant: dict[str, Any]
    database_url: str
    _closed: bool = field(default=False)

    @property
    def server(self) -> WorkersEnv:  # the money suite reaches the URL as env.server.url
        return self

    @property
    def sk(self) -> str:
        return str(self.merchant["secret_key"])

    def cli(self, *args: str) -> dict[str, Any]:
        return cli_run([*args, "--database-url", self.database_url, "--data-dir", str(self.data_dir)])

    def product(self, *args: str) -> dict[str, Any]:
        return self.cli("products", "create", "--secret-key", self.sk, *args)

    def connection(self, credit: str | None = None) -> Connection:
        extra = ["--credit", credit] if credit is not None else []
        c = self.cli("connections", "create", "--secret-key", self.sk, *extra)
        return Connection(c["connection_id"], c["connection_secret"])

    def token(self, con: Connection, product: dict[str, Any]) -> str:
        return token(self.sk, con.secret, product["product_secret"])

    def fake_hits(self) -> int:
        return int(httpx.get(self.fake.url + "/_fake/stats", timeout=10).json()["requests"])

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            db = await open_database(self.database_url)
            try:
                return [dict(r) for r in await db.fetchall(sql, *args)]
            finally:
                await db.close()

        return asyncio.run(fetch())

    def wallet_row(self, con: Connection) -> dict[str, int]:
        (w,) = self.rows(
            "SELECT a.balance, a.held FROM ledger_accounts a JOIN connections c ON a.id = 'wallet:' || c.wallet_id"
            " WHERE c.id = $1",
            con.id,
        )
        return {"balance": int(w["balance"]), "held": int(w["held"])}

    def balance(self, con: Connection) -> int:
        r = httpx.get(f"{self.url}/v1/connections/{con.id}", headers={"Authorization": f"Bearer {self.sk}"}, timeout=10)
        assert r.status_code == 200, r.text
        return units(r.json()["wallet"]["balance"])

    def assert_ledger_ok(self) -> None:
        report = self.cli("ledger", "check")
        assert report["ok"] is True, report
        (row,) = self.rows("SELECT COUNT(*) AS n FROM ledger_holds WHERE status = 'open'")
        assert int(row["n"]) == 0, "a hold was left open"

    def workers(self) -> list[int]:
        return children(self.proc.pid)

    def stop(self) -> str:
        """SIGTERM the supervisor; returns its stderr. Asserts a clean exit."""
        if self._closed:
            return ""
        self._closed = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=30)
        finally:
            self.fake.stop()
        assert self.proc.returncode == 0, err[-3000:]
        return err

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.proc.kill()
            self.proc.wait(10)
            self.fake.stop()


def make_workers_env(
    data_dir: Path,
    workers: int,
    prices: Sequence[tuple[str, str, str, str]],
    database_url: str | None = None,
    extra_args: Sequence[str] = (),
) -> WorkersEnv:
    """Prices, a merchant and a managed key set up offline, then ``lava serve --workers N``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite:///{data_dir / 'lava.db'}"
    set_prices_offline(data_dir, prices)
    base = ["--database-url", url, "--data-dir", str(data_dir)]
    merchant = cli_run(["merchants", "create", "--name", "workers", *base])
    cli_run(["provider-keys", "set", "--provider", "openai", "--key", "sk-managed-test", *base])
    fake = start_in_thread(lambda: make_fake_app())
    try:
        proc, server_url = start_lava(
            data_dir,
            "--workers",
            str(workers),
            "--upstream",
            f"api.openai.com={fake.url}",
            *extra_args,
            database_url=url,
        )
    except BaseException:
        fake.stop()
        raise
    return WorkersEnv(data_dir, proc, server_url, fake, merchant, url)

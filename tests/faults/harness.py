"""The fault suite's moving parts: a private PostgreSQL cluster we may stop, and `lava serve` replicas.

Everything is loopback and bounded: every wait has a deadline, every process is ended by the
fixture that started it (by its own pid), and the private cluster lives in its own directory
on its own port (never the shared test server on :25432).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from lava_server.cli import run as cli_run
from tests.billing.billing_fixtures import FORWARD_PATH, token

LAVA = str(Path(sys.executable).parent / "lava")
MASTER_KEY = base64.b64encode(b"faults-suite-master-key-32-bytes").decode()
PG_OPTIONS = "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> float:
    """Poll ``check`` until true; returns the seconds it took. Fails the test after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class PrivatePostgres:
    """A throwaway cluster (same recipe as scripts/start-test-postgres.sh) that tests may stop and start."""

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.bin = bins[-1]
        self.port = free_port()
        self.dir = Path(f"/tmp/lava-faults-pg-{self.port}")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_pg(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        if os.getuid() == 0:
            shutil.chown(self.dir, "postgres")
        self._as_pg(
            str(self.bin / "initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync",
            "-E", "UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self.start()

    def start(self) -> None:
        self._as_pg(
            str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "pg.log"), "-w",
            "-o", f"{PG_OPTIONS} -p {self.port} -k {self.dir}", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        self._as_pg(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def new_database(self) -> str:
        name = f"lava_faults_{uuid.uuid4().hex[:10]}"

        async def create() -> None:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()

        import asyncio

        asyncio.run(create())
        return self.url.rsplit("/", 1)[0] + "/" + name


@dataclass
class Replica:
    """One `lava serve` process."""

    proc: subprocess.Popen[str]
    url: str
    data_dir: Path
    log: Path

    def kill9(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill9()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """N replicas sharing one database and the suite's master key; a funded merchant to call with."""

    database_url: str
    fake_url: str
    root: Path
    replicas: list[Replica] = field(default_factory=list)
    secret_key: str = ""
    prices_file: Path = Path()

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LAVA_DATABASE_URL": self.database_url,
            "LAVA_MASTER_KEY": MASTER_KEY,
            "LAVA_PRICES_FILE": str(self.prices_file),
        }

    def cli(self, *args: str) -> dict[str, Any]:
        old = {k: os.environ.get(k) for k in ("LAVA_MASTER_KEY", "LAVA_PRICES_FILE")}
        os.environ["LAVA_MASTER_KEY"], os.environ["LAVA_PRICES_FILE"] = MASTER_KEY, str(self.prices_file)
        try:
            return cli_run([*args, "--database-url", self.database_url, "--data-dir", str(self.root / "admin")])
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def start_replica(self, data_dir: Path | None = None, workers: int = 1) -> Replica:
        n = len(self.replicas)
        d = data_dir or self.root / f"replica-{n}"
        d.mkdir(parents=True, exist_ok=True)
        log = d / f"serve-{uuid.uuid4().hex[:6]}.log"
        with log.open("w") as err:
            proc = subprocess.Popen(
                [
                    LAVA,
                    "serve",
                    "--port",
                    "0",
                    "--workers",
                    str(workers),
                    "--data-dir",
                    str(d),
                    "--upstream",
                    f"api.openai.com={self.fake_url}",
                ],  # fmt: skip
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=self.env(),
            )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        try:
            url = json.loads(line)["listening"].rstrip("/")
        except (ValueError, KeyError):
            proc.kill()
            proc.wait()
            raise AssertionError(f"server did not announce itself: {line!r} {log.read_text()[-2000:]}") from None
        replica = Replica(proc, url, d, log)
        self.replicas.append(replica)
        return replica

    def stop_all(self) -> None:
        for r in self.replicas:
            r.terminate()

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.proc.poll() is None]

    # -- setup -----------------------------------------------------------------------
    def setup_merchant(self, prices: list[tuple[str, str, str, str]]) -> None:
        self.prices_file = self.root / "prices.json"
        for provider, model, inp, out in prices:
            self.cli(
                "prices", "set", "--provider", provider, "--model", model, "--input-mtok", inp, "--output-mtok", out,
                "--prices-file", str(self.prices_file),
            )  # fmt: skip
        m = self.cli("merchants", "create", "--name", f"faults-{uuid.uuid4().hex[:6]}")
        self.secret_key = str(m["secret_key"])
        self.cli("provider-keys", "set", "--provider", "openai", "--key", "sk-managed")

    def product(self, *args: str) -> dict[str, Any]:
        return self.cli("products", "create", "--secret-key", self.secret_key, *args)

    def connection(self, credit: str) -> dict[str, Any]:
        return self.cli("connections", "create", "--secret-key", self.secret_key, "--credit", credit)

    def forward_headers(self, con: dict[str, Any], product: dict[str, Any]) -> dict[str, str]:
        tok = token(self.secret_key, str(con["connection_secret"]), str(product["product_secret"]))
        return {"Authorization": f"Bearer {tok}"}

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}

    # -- the database, read directly ---------------------------------------------
    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        import asyncio

        async def q() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(self.database_url)
            try:
                return [dict(r) for r in await conn.fetch(sql, *args)]
            finally:
                await conn.close()

        return asyncio.run(q())

    def ledger_ok(self) -> None:
        report = self.cli("ledger", "check")
        assert report["ok"] is True, report

    def open_holds(self) -> int:
        return int(self.rows("SELECT COUNT(*) AS n FROM ledger_holds WHERE status = 'open'")[0]["n"])


def chat_body(
    *, stream: bool, model: str = "gpt-4o-mini", out_words: int = 20, max_tokens: int = 100
) -> dict[str, Any]:
    from tests.billing.billing_fixtures import prompt_of

    return {"model": model, "max_tokens": max_tokens, "stream": stream, "messages": prompt_of(20, out_words=out_words)}


def stream_call(url: str, headers: dict[str, str], body: dict[str, Any], timeout: float = 60) -> tuple[int, str, bytes]:
    """One streamed forward call read to the end: (status, request id, body bytes)."""
    with httpx.stream("POST", url + FORWARD_PATH, headers=headers, json=body, timeout=timeout) as r:
        data = b"".join(r.iter_raw())
        return r.status_code, r.headers.get("x-lava-request-id", ""), data


def iter_lines(path: Path) -> Iterator[str]:
    with path.open(errors="replace") as fh:
        yield from fh


__all__ = [
    "FORWARD_PATH",
    "Cluster",
    "PrivatePostgres",
    "Replica",
    "chat_body",
    "free_port",
    "stream_call",
    "wait_until",
]

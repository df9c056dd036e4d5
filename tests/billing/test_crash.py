"""A real ``lava serve`` process killed with SIGKILL mid-stream: on restart no hold stays open,
the killed requests are ``error`` and uncharged, and the next call is charged once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lava_server.cli import run as cli_run
from tests.billing.billing_fixtures import FORWARD_PATH, prompt_of, set_prices_offline, token, units
from tests.fakes.providers import make_fake_app
from tests.fakes.server import RunningServer, start_in_thread

LAVA = str(Path(sys.executable).parent / "lava")
STREAMS = 4


@pytest.fixture
def fake() -> Iterator[RunningServer]:
    f = start_in_thread(lambda: make_fake_app())
    yield f
    f.stop()


def _serve(data_dir: Path, fake_url: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [LAVA, "serve", "--port", "0", "--data-dir", str(data_dir), "--upstream", f"api.openai.com={fake_url}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "LAVA_DATA_DIR": str(data_dir)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    try:
        url = json.loads(line)["listening"]
    except (ValueError, KeyError):
        proc.kill()
        raise AssertionError(f"server did not announce itself: {line!r}") from None
    return proc, url.rstrip("/")


def _cli(data_dir: Path, *args: str) -> dict[str, object]:
    return cli_run([*args, "--data-dir", str(data_dir)])


def _rows(data_dir: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(data_dir / "lava.db", timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_sigkill_mid_stream_reconciles_on_restart(tmp_path: Path, fake: RunningServer) -> None:
    d = tmp_path / "data"
    d.mkdir()
    set_prices_offline(d, [("openai", "slow-stream", "0", "10"), ("openai", "gpt-4o-mini", "0", "10")])
    m = _cli(d, "merchants", "create", "--name", "crash")
    sk = str(m["secret_key"])
    p = _cli(d, "products", "create", "--secret-key", sk, "--rate-type", "percentage", "--tier", "0:20")
    c = _cli(d, "connections", "create", "--secret-key", sk, "--credit", "1")
    _cli(d, "provider-keys", "set", "--provider", "openai", "--key", "sk-managed")
    tok = token(sk, str(c["connection_secret"]), str(p["product_secret"]))
    fwd = {"Authorization": f"Bearer {tok}"}
    admin = {"Authorization": f"Bearer {sk}"}

    proc, url = _serve(d, fake.url)
    started = threading.Barrier(STREAMS + 1, timeout=20)
    ids: list[str] = []

    def stream() -> None:
        body = {"model": "slow-stream", "max_tokens": 100, "stream": True, "messages": prompt_of(20, out_words=100)}
        headers = {**fwd, "x-fake-chunk-delay-ms": "200"}  # 100 frames: ~20 s, far longer than the test
        try:
            with httpx.stream("POST", url + FORWARD_PATH, headers=headers, json=body, timeout=30) as r:
                assert r.status_code == 200
                ids.append(r.headers["x-lava-request-id"])
                it = r.iter_raw()
                next(it)
                started.wait()
                for _ in it:
                    pass
        except (httpx.HTTPError, threading.BrokenBarrierError):
            pass

    threads = [threading.Thread(target=stream, daemon=True) for _ in range(STREAMS)]
    try:
        for t in threads:
            t.start()
        started.wait()  # every stream is mid-flight
        pending = _rows(d, "SELECT id FROM requests WHERE status = 'pending'")
        assert len(pending) == STREAMS
        assert len(_rows(d, "SELECT request_id FROM ledger_holds WHERE status = 'open'")) == STREAMS
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for t in threads:
        t.join(timeout=10)
    assert sorted(ids) == sorted(r["id"] for r in pending)
    # still held in the database: the killed process could not release anything
    (held,) = _rows(d, "SELECT held FROM ledger_accounts WHERE kind = 'wallet'")
    assert int(held["held"]) > 0

    proc, url = _serve(d, fake.url)
    try:
        assert _rows(d, "SELECT COUNT(*) AS n FROM ledger_holds WHERE status = 'open'")[0]["n"] == 0
        statuses = {r["status"] for r in _rows(d, "SELECT status FROM ledger_holds")}
        assert statuses == {"expired"}
        for rid in ids:
            rec = httpx.get(f"{url}/v1/requests/{rid}", headers=admin).json()
            assert rec["status"] == "error", rec
            assert rec["total_wallet_cost"] == "0.0000000000"
            assert rec["total_request_cost"] == "0.0000000000"
        assert _rows(d, "SELECT id FROM ledger_transfers WHERE request_id IS NOT NULL") == []
        (wallet,) = _rows(d, "SELECT balance, held FROM ledger_accounts WHERE kind = 'wallet'")
        assert (int(wallet["balance"]), int(wallet["held"])) == (units("1"), 0)
        con = httpx.get(f"{url}/v1/connections/{c['connection_id']}", headers=admin).json()
        assert con["wallet"]["balance"] == "1.0000000000"

        # a normal call after the restart is charged exactly once
        body = {"model": "gpt-4o-mini", "max_tokens": 100, "messages": prompt_of(20, out_words=100)}
        r = httpx.post(url + FORWARD_PATH, headers=fwd, json=body, timeout=30)
        assert r.status_code == 200, r.text
        rid = r.headers["x-lava-request-id"]
        # 100 × $10/M = 0.001, fee 20 % = 0.0002, service 1.9 % of fee = 0.0000038
        assert r.headers["x-lava-request-cost"] == "0.0012038000"
        assert r.headers["x-lava-balance"] == "0.9987962000"
        rec = httpx.get(f"{url}/v1/requests/{rid}", headers=admin).json()
        assert rec["status"] == "completed" and rec["total_wallet_cost"] == "0.0012038000"
        transfers = _rows(d, "SELECT kind, amount FROM ledger_transfers WHERE request_id = ?", rid)
        assert sorted((t["kind"], int(t["amount"])) for t in transfers) == [
            ("base", units("0.001")),
            ("fee", units("0.0002")),
            ("service_charge", units("0.0000038")),
        ]
        con = httpx.get(f"{url}/v1/connections/{c['connection_id']}", headers=admin).json()
        assert con["wallet"]["balance"] == "0.9987962000"
        assert _cli(d, "ledger", "check")["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

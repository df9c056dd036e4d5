"""``lava serve --workers 2``: the money suite's key concurrency scenario (a wallet that affords
50 calls, 300 calls with 50 in flight) against two worker processes sharing one store, on SQLite
and on PostgreSQL. No overspend, every success charged once, every refusal a 402 before
upstream, ``lava ledger check`` green; both workers served calls; SIGTERM stops the tree."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.billing.billing_fixtures import FORWARD_PATH, prompt_of
from tests.billing.test_concurrency import PRICES, _assert_exactly_once, _burst, _setup
from tests.support.workers import WorkersEnv, alive, cpu_ticks, make_workers_env


def _run_scenario(env: WorkersEnv, *, stream: bool) -> None:
    workers = env.workers()
    assert len(workers) == 2, workers
    before = {pid: cpu_ticks(pid) for pid in workers}
    con, tok = _setup(env)  # type: ignore[arg-type]
    hits = env.fake_hits()
    statuses = asyncio.run(_burst(env, tok, stream=stream))  # type: ignore[arg-type]
    _assert_exactly_once(env, con, statuses, hits)  # type: ignore[arg-type]
    # the kernel spread the connections over both processes: each did real work
    assert all(cpu_ticks(pid) > before[pid] for pid in workers), before


@pytest.mark.timeout(240)
def test_two_workers_on_sqlite_never_overspend(tmp_path: Path) -> None:
    env = make_workers_env(tmp_path / "d", 2, PRICES)
    try:
        _run_scenario(env, stream=False)
        _run_scenario(env, stream=True)
        workers = env.workers()
        err = env.stop()
        assert not any(alive(pid) for pid in workers)
        assert "Traceback" not in err, err[-3000:]
    finally:
        env.close()


@pytest.mark.timeout(240)
def test_two_workers_on_postgres_never_overspend(tmp_path: Path, postgres_database_url: str) -> None:
    env = make_workers_env(tmp_path / "d", 2, PRICES, database_url=postgres_database_url)
    try:
        _run_scenario(env, stream=False)
        env.stop()
    finally:
        env.close()


@pytest.mark.timeout(120)
def test_dead_worker_is_replaced_and_supervisor_kill_takes_workers_down(tmp_path: Path) -> None:
    env = make_workers_env(tmp_path / "d", 2, PRICES)
    try:
        first = env.workers()
        os.kill(first[0], signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = env.workers()
            if len(now) == 2 and first[0] not in now:
                break
            time.sleep(0.1)
        now = env.workers()
        assert len(now) == 2 and first[0] not in now, now
        con, tok = _setup(env)  # type: ignore[arg-type]
        assert env.balance(con) > 0  # still serving
        # kill -9 of the supervisor: the kernel takes every worker down with it
        env.proc.kill()
        env.proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(p) for p in now):
            time.sleep(0.1)
        assert not any(alive(p) for p in now)
    finally:
        env.close()


@pytest.mark.timeout(120)
def test_sigterm_lets_a_stream_in_flight_finish_and_charge(tmp_path: Path) -> None:
    env = make_workers_env(tmp_path / "d", 2, PRICES)
    try:
        product = env.product("--rate-type", "fixed", "--tier", "0:0")
        con = env.connection(credit="1")
        tok = env.token(con, product)
        body = {"model": "slow-stream", "stream": True, "max_tokens": 30, "messages": prompt_of(10, out_words=30)}
        headers = {"Authorization": f"Bearer {tok}", "x-fake-chunk-delay-ms": "50"}  # ~1.5 s of chunks
        with httpx.stream("POST", env.url + FORWARD_PATH, json=body, headers=headers, timeout=30) as r:
            assert r.status_code == 200
            chunks = r.iter_text()
            first = next(chunks)
            env.proc.send_signal(signal.SIGTERM)  # mid-stream
            text = first + "".join(chunks)
        assert "[DONE]" in text
        env.proc.wait(30)
        assert env.proc.returncode == 0
        (row,) = env.rows("SELECT status, output_tokens FROM requests WHERE connection_id = $1", con.id)
        assert row["status"] == "completed" and int(row["output_tokens"]) == 30
        env.assert_ledger_ok()
    finally:
        env.close()

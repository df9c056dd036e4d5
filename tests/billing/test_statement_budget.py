"""Lever 1 of the performance issue (docs/benchmarks.md): a billed call runs few, fat statements.

The writer thread's statement execution was half the CPU of a billed call; this counts the
statements one billed, non-streamed call runs on the SQLite writer (a trace callback on the write
connection) and holds the count to a budget, so a change that brings per-call statements back
(per-transfer inserts, per-account updates, per-call account upserts) fails here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava_server.store import sqlite_writer
from tests.billing.billing_fixtures import BillingEnv, make_env, prompt_of

PRICES = [("openai", "gpt-4o", "2.50", "10.00")]

# The hold (request row, guarded hold update, hold row) and the settlement (hold close and
# release, wallet lock, tier counter, transfers in one INSERT, balances in one upsert, webhook
# subscriber read, record update), plus framing: BEGIN/COMMIT twice (no PRAGMA switches).
BUDGET = 14


class _Trace:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.on = threading.Event()

    def __call__(self, sql: str) -> None:
        if self.on.is_set():
            self.statements.append(sql)


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BillingEnv, _Trace]]:
    trace = _Trace()
    connect = sqlite_writer._connect

    def traced_connect(path: str, synchronous: str = "full") -> sqlite3.Connection:
        conn = connect(path, synchronous)
        if threading.current_thread().name == "lava-sqlite-writer":
            conn.set_trace_callback(trace)
        return conn

    mp = pytest.MonkeyPatch()
    mp.setattr(sqlite_writer, "_connect", traced_connect)
    env = make_env(tmp_path_factory.mktemp("budget"), PRICES)
    yield env, trace
    env.assert_ledger_ok()
    env.close()
    mp.undo()


def test_a_billed_call_stays_within_its_statement_budget(traced: tuple[BillingEnv, _Trace], tmp_path: Path) -> None:
    env, trace = traced
    product = env.product("--rate-type", "percentage", "--tier", "0:20")
    con = env.connection(credit="1")
    tok = env.token(con, product)
    body = {"model": "gpt-4o", "messages": prompt_of(100, out_words=50), "max_tokens": 100}
    assert env.forward(tok, body).status_code == 200  # warm: accounts created, caches filled
    before = env.balance(con)
    trace.on.set()
    r = env.forward(tok, body)
    trace.on.clear()
    assert r.status_code == 200, r.text
    assert before - env.balance(con) > 0  # it really was charged
    work = [s for s in trace.statements if not s.startswith(("PRAGMA", "BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))]
    assert len(trace.statements) <= BUDGET, "\n".join(trace.statements)
    # One INSERT for all of a call's transfers, never one per transfer.
    assert sum(s.startswith("INSERT INTO ledger_transfers") for s in work) == 1, "\n".join(work)
    assert not any(s.startswith("UPDATE ledger_accounts SET balance") for s in work), "\n".join(work)
    env.assert_ledger_ok()

"""Many concurrent calls against a wallet that can afford about 50: holds make overspending
impossible, every success is charged exactly once, every refusal is a 402 that never reached
the upstream (docs/design.md "Ledger")."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import aiohttp

from tests.billing.billing_fixtures import FORWARD_PATH, BillingEnv, Connection, make_env, prompt_of, units

CALLS = 300
IN_FLIGHT = 50
CREDIT = "0.05"
# input price 0, output $10/M, max_tokens 100 and the fake writes exactly 100 words:
# hold per call = actual cost = 0.001 USD, so exactly 50 calls fit in 0.05.
HOLD = units("0.001")
PRICES = [("openai", "gpt-4o-mini", "0", "10"), ("openai", "slow-stream", "0", "10")]


def _setup(env: BillingEnv) -> tuple[Connection, str]:
    product = env.product("--rate-type", "fixed", "--tier", "0:0")
    con = env.connection(credit=CREDIT)
    return con, env.token(con, product)


async def _burst(env: BillingEnv, tok: str, *, stream: bool, disconnect_every: int = 0) -> list[int]:
    model = "slow-stream" if stream else "gpt-4o-mini"
    body = {"model": model, "max_tokens": 100, "messages": prompt_of(20, out_words=100)}
    if stream:
        body["stream"] = True
    sem = asyncio.Semaphore(IN_FLIGHT)
    headers = {"Authorization": f"Bearer {tok}", "x-fake-chunk-delay-ms": "5"}
    statuses: list[int] = []

    async def one(i: int, session: aiohttp.ClientSession) -> None:
        async with sem:
            async with session.post(env.server.url + FORWARD_PATH, json=body, headers=headers) as r:
                statuses.append(r.status)
                if r.status != 200:
                    if r.status == 402:
                        err = (await r.json())["error"]
                        assert err["code"] == "insufficient_balance", err
                    else:
                        raise AssertionError(await r.text())
                    return
                if stream and disconnect_every and i % disconnect_every == 0:
                    await r.content.readany()  # a first chunk, then hang up mid-stream
                    r.close()
                    return
                await r.read()

    conn = aiohttp.TCPConnector(limit=IN_FLIGHT + 10, force_close=True)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=120)) as session:
        await asyncio.gather(*(one(i, session) for i in range(CALLS)))
    return statuses


def _wait_no_pending(env: BillingEnv, con: Connection, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        (row,) = env.rows("SELECT COUNT(*) AS n FROM requests WHERE connection_id = $1 AND status = 'pending'", con.id)
        if int(row["n"]) == 0:
            return
        time.sleep(0.1)
    raise AssertionError("requests left pending")


def _assert_exactly_once(env: BillingEnv, con: Connection, statuses: list[int], hits_before: int) -> None:
    _wait_no_pending(env, con)
    ok = statuses.count(200)
    refused = statuses.count(402)
    assert ok + refused == CALLS
    assert refused > 0 and ok > 0
    assert env.fake_hits() - hits_before == ok  # no refused call reached the upstream
    rows = env.rows(
        "SELECT id, status, total_wallet_cost FROM requests WHERE connection_id = $1",
        con.id,
    )
    assert len(rows) == ok  # a refused call leaves no record
    assert {r["status"] for r in rows} == {"completed"}
    wallet = env.wallet_row(con)
    assert wallet["held"] == 0
    assert wallet["balance"] >= 0
    spent = sum(int(r["total_wallet_cost"]) for r in rows)
    assert spent == units(CREDIT) - wallet["balance"] == units(CREDIT) - env.balance(con)
    assert all(int(r["total_wallet_cost"]) == HOLD for r in rows)
    assert ok == units(CREDIT) // HOLD == 50
    dupes = env.rows(
        "SELECT request_id, kind, COUNT(*) AS n FROM ledger_transfers WHERE request_id IS NOT NULL"
        " GROUP BY request_id, kind HAVING COUNT(*) > 1"
    )
    assert dupes == []
    charged = env.rows(
        "SELECT t.request_id, SUM(t.amount) AS s FROM ledger_transfers t JOIN requests q ON q.id = t.request_id"
        " WHERE q.connection_id = $1 GROUP BY t.request_id",
        con.id,
    )
    assert len(charged) == ok
    assert all(int(c["s"]) == HOLD for c in charged)
    holds = env.rows(
        "SELECT h.status, COUNT(*) AS n FROM ledger_holds h JOIN requests q ON q.id = h.request_id"
        " WHERE q.connection_id = $1 GROUP BY h.status",
        con.id,
    )
    assert {h["status"]: int(h["n"]) for h in holds} == {"settled": ok}
    env.assert_ledger_ok()


def test_concurrent_calls_never_overspend(tmp_path: Path) -> None:
    env = make_env(tmp_path / "d", PRICES)
    try:
        con, tok = _setup(env)
        hits = env.fake_hits()
        statuses = asyncio.run(_burst(env, tok, stream=False))
        _assert_exactly_once(env, con, statuses, hits)
    finally:
        env.close()


def test_concurrent_streams_with_disconnects(tmp_path: Path) -> None:
    env = make_env(tmp_path / "d", PRICES)
    try:
        con, tok = _setup(env)
        hits = env.fake_hits()
        statuses = asyncio.run(_burst(env, tok, stream=True, disconnect_every=3))
        _assert_exactly_once(env, con, statuses, hits)
        # drained streams of disconnected clients were charged their full reported usage
        rows = env.rows("SELECT output_tokens, usage_estimated FROM requests WHERE connection_id = $1", con.id)
        assert {(int(r["output_tokens"]), int(r["usage_estimated"])) for r in rows} == {(100, 0)}
    finally:
        env.close()


def test_concurrent_calls_on_postgres(tmp_path: Path, postgres_database_url: str) -> None:
    env = make_env(tmp_path / "d", PRICES, database_url=postgres_database_url)
    try:
        con, tok = _setup(env)
        hits = env.fake_hits()
        statuses = asyncio.run(_burst(env, tok, stream=False))
        _assert_exactly_once(env, con, statuses, hits)
    finally:
        env.close()

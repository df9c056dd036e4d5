"""200 concurrent calls with one spend key against a $1 daily limit, spread over two real
``lava serve`` processes on one PostgreSQL database: the key never spends past its limit, every
refusal is a 429 ``spend_limit_reached`` that never reached the upstream, and the key's counters
equal the sum of its settled records exactly.

Prices: gpt-4o-mini at $0 input, $100/M output. Each call asks ``max_tokens`` 1000 (worst case
$0.10) and the fake writes 100 tokens (actual $0.01): without the holds in flight counted, 200
concurrent calls could all pass a check that only looked at settled spend.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from lava_server.cli import run as cli_run
from tests.billing.billing_fixtures import FORWARD_PATH, prompt_of, set_prices_offline, units
from tests.fakes.providers import make_fake_app
from tests.fakes.server import start_in_thread

LAVA = str(Path(sys.executable).parent / "lava")
CALLS = 200
LIMIT = "1"
ACTUAL = units("0.01")


class Serve:
    """One ``lava serve`` process with the fake upstream mapped in."""

    def __init__(self, data_dir: Path, database_url: str, upstream: str) -> None:
        argv = [LAVA, "serve", "--port", "0", "--data-dir", str(data_dir), "--database-url", database_url]
        env = {**os.environ, "LAVA_UPSTREAM_MAP": f"api.openai.com={upstream}"}
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        try:
            self.url = json.loads(line)["listening"].rstrip("/")
        except (ValueError, KeyError):
            self.proc.kill()
            raise AssertionError(f"server did not announce itself: {line!r}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


async def _burst(urls: list[str], key: str) -> list[tuple[int, str | None]]:
    body = {"model": "gpt-4o-mini", "max_tokens": 1000, "messages": prompt_of(20, out_words=100)}
    results: list[tuple[int, str | None]] = []

    async def one(i: int, session: aiohttp.ClientSession) -> None:
        url = urls[i % len(urls)] + FORWARD_PATH
        async with session.post(url, json=body, headers={"Authorization": f"Bearer {key}"}) as r:
            payload: Any = await r.json(content_type=None)
            results.append((r.status, None if r.status == 200 else payload["error"]["code"]))

    conn = aiohttp.TCPConnector(limit=CALLS, force_close=True)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=180)) as session:
        await asyncio.gather(*(one(i, session) for i in range(CALLS)))
    return results


def test_two_replicas_never_exceed_the_daily_limit(tmp_path: Path, postgres_database_url: str) -> None:
    fake = start_in_thread(lambda: make_fake_app())
    db = ["--database-url", postgres_database_url, "--data-dir", str(tmp_path)]
    cli_run(["migrate", *db])
    set_prices_offline(tmp_path, [("openai", "gpt-4o-mini", "0", "100")])
    cli_run(["provider-keys", "set", "--provider", "openai", "--key", "sk-managed-openai-0001", *db])
    merchant = cli_run(["merchants", "create", "--name", "replicas", *db])
    secret = str(merchant["secret_key"])
    replicas = [Serve(tmp_path, postgres_database_url, fake.url) for _ in range(2)]
    try:
        admin = {"Authorization": f"Bearer {secret}"}
        r = httpx.post(
            replicas[0].url + "/v1/spend_keys",
            json={"name": "agent", "spend_limit": {"amount": LIMIT, "cycle": "daily"}},
            headers=admin,
            timeout=30,
        )
        assert r.status_code == 201, r.text
        created = r.json()
        hits_before = httpx.get(f"{fake.url}/_fake/stats", timeout=10).json()["requests"]
        results = asyncio.run(_burst([s.url for s in replicas], created["key"]))
        # Then one call at a time, alternating replicas, until the key refuses: the limit is used
        # up to within one worst case, never past it.
        for i in range(200):
            body = {"model": "gpt-4o-mini", "max_tokens": 1000, "messages": prompt_of(20, out_words=100)}
            r = httpx.post(
                replicas[i % 2].url + FORWARD_PATH,
                json=body,
                headers={"Authorization": f"Bearer {created['key']}"},
                timeout=30,
            )
            results.append((r.status_code, None if r.status_code == 200 else r.json()["error"]["code"]))
            if r.status_code != 200:
                break
        hits = httpx.get(f"{fake.url}/_fake/stats", timeout=10).json()["requests"] - hits_before
        key = httpx.get(f"{replicas[1].url}/v1/spend_keys/{created['spend_key_id']}", headers=admin, timeout=30)
        records = []
        query = {"limit": "100"}
        while True:
            page = httpx.get(f"{replicas[1].url}/v1/requests", headers=admin, params=query, timeout=30).json()
            records += page["data"]
            if not page.get("has_more"):
                break
            query["cursor"] = page["next_cursor"]
    finally:
        for s in replicas:
            s.stop()
        fake.stop()
    counts = Counter(results)
    print("spend-key burst:", dict(counts), "upstream hits", hits)
    ok = counts[(200, None)]
    refused = counts[(429, "spend_limit_reached")]
    assert ok + refused == len(results), counts
    assert ok > 0 and refused > 0, counts
    assert hits == ok  # no refused call reached the upstream
    assert len(records) == ok and all(r["status"] == "completed" for r in records)
    spent = sum(units(r["cost"]) for r in records)
    assert spent == ok * ACTUAL
    assert units(LIMIT) - units("0.1") < spent <= units(LIMIT)  # used up to one worst case, never past
    body = key.json()
    assert units(body["current_spend"]) == spent == units(body["total_spend"])
    assert body["current_requests"] == ok == body["total_requests"]
    assert cli_run(["ledger", "check", *db])["ok"]

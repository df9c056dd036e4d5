"""The fault suite's money scenarios on PostgreSQL with 4 worker processes (2 replicas × --workers 2):
overspend under 1,000 concurrent calls, and retried POST /v1/requests across replicas."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from tests.billing.billing_fixtures import units
from tests.faults.harness import FORWARD_PATH, Cluster, chat_body

CALLS = 1000
# 10 output tokens at $10/M = 0.0001, fee 20 % = 0.00002, service 1.9 % of the fee = 0.00000038.
# max_tokens 10 makes the hold equal to the charge, so the wallet affords exactly AFFORDS calls.
CALL_COST = units("0.0001203800")
AFFORDS = 100


def _fake_hits(c: Cluster) -> int:
    return int(httpx.get(c.fake_url + "/_fake/stats", timeout=10).json()["requests"])


async def _fire(urls: list[str], headers: dict[str, str]) -> list[tuple[int, str, bool]]:
    limits = httpx.Limits(max_connections=CALLS, max_keepalive_connections=0)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def one(i: int) -> tuple[int, str, bool]:
            stream = i % 2 == 1
            body = chat_body(stream=stream, out_words=10, max_tokens=10)
            async with client.stream("POST", urls[i % len(urls)] + FORWARD_PATH, headers=headers, json=body) as r:
                data = b"".join([chunk async for chunk in r.aiter_raw()])
                complete = not stream or data.rstrip().endswith(b"data: [DONE]")
                return r.status_code, r.headers.get("x-lava-request-id", ""), complete

        return await asyncio.gather(*(one(i) for i in range(CALLS)))


@pytest.mark.timeout(240)
def test_overspend_never_happens(cluster: Cluster) -> None:
    c = cluster
    product = c.product("--rate-type", "percentage", "--tier", "0:20")
    con = c.connection(format(CALL_COST * AFFORDS / 10**10, ".10f"))
    fwd = c.forward_headers(con, product)
    replicas = [c.start_replica(workers=2) for _ in range(2)]
    hits_before = _fake_hits(c)
    results = asyncio.run(_fire([r.url for r in replicas], fwd))
    upstream_calls = _fake_hits(c) - hits_before

    statuses = [s for s, _, _ in results]
    ok = [(rid, complete) for s, rid, complete in results if s == 200]
    assert set(statuses) <= {200, 402}, sorted(set(statuses))
    assert all(complete for _, complete in ok)
    assert AFFORDS * 9 // 10 <= len(ok) <= AFFORDS, len(ok)  # holds equal charges: the wallet is used up
    assert upstream_calls == len(ok), (upstream_calls, len(ok))  # every refusal was a 402 before anything went upstream
    (wallet,) = c.rows(
        "SELECT a.balance, a.held FROM ledger_accounts a JOIN connections n ON a.id = 'wallet:' || n.wallet_id"
        " WHERE n.id = $1",
        con["connection_id"],
    )
    assert int(wallet["held"]) == 0
    assert int(wallet["balance"]) >= 0  # never below the floor (0 for this product)
    assert int(wallet["balance"]) == CALL_COST * (AFFORDS - len(ok))  # each success charged once
    ids = [rid for rid, _ in ok]
    rows = c.rows(
        "SELECT r.id, r.total_wallet_cost, COUNT(t.id) AS transfers FROM requests r"
        " LEFT JOIN ledger_transfers t ON t.request_id = r.id WHERE r.id = ANY($1::text[]) GROUP BY r.id",
        ids,
    )
    assert len(rows) == len(ids)
    assert {(int(r["total_wallet_cost"]), int(r["transfers"])) for r in rows} == {(CALL_COST, 3)}
    refused = c.rows("SELECT COUNT(*) AS n FROM requests WHERE status = 'pending'")
    assert int(refused[0]["n"]) == 0
    assert c.open_holds() == 0
    c.ledger_ok()


def test_retried_manual_request_across_replicas(cluster: Cluster) -> None:
    """The same POST /v1/requests, sent concurrently to 4 worker processes, is charged once; a
    conflicting payload under the same request_id is a 409."""
    c = cluster
    product = c.product("--rate-type", "fixed", "--tier", "0:0.02:requests")
    con = c.connection("1")
    replicas = [c.start_replica(workers=2) for _ in range(2)]
    body: dict[str, Any] = {
        "request_id": f"retry_{uuid.uuid4().hex}",
        "connection_secret": con["connection_secret"],
        "product_secret": product["product_secret"],
        "input_tokens": 10,
    }

    async def send(n: int) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(
                *(client.post(replicas[i % 2].url + "/v1/requests", headers=c.admin, json=body) for i in range(n))
            )

    answers = asyncio.run(send(16))
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and codes.count(200) == 15, codes
    assert len({r.json()["request_id"] for r in answers}) == 1
    transfers = c.rows(
        "SELECT t.kind FROM ledger_transfers t JOIN requests r ON r.id = t.request_id WHERE r.external_id = $1",
        body["request_id"],
    )
    assert sorted(t["kind"] for t in transfers) == ["fee", "service_charge"]
    conflicts = asyncio.run(_conflict(replicas[0].url, replicas[1].url, c.admin, {**body, "input_tokens": 11}))
    assert [r.status_code for r in conflicts] == [409, 409]
    assert all(r.json()["error"]["code"] == "idempotency_conflict" for r in conflicts)
    (wallet,) = c.rows("SELECT balance FROM ledger_accounts WHERE kind = 'wallet'")
    assert int(wallet["balance"]) == units("1") - units("0.0203800000")
    c.ledger_ok()


async def _conflict(a: str, b: str, headers: dict[str, str], body: dict[str, Any]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        return list(
            await asyncio.gather(
                client.post(a + "/v1/requests", headers=headers, json=body),
                client.post(b + "/v1/requests", headers=headers, json=body),
            )
        )

"""Two replicas on one PostgreSQL database: a revocation on one is honoured by the other at once,
although both had the credential cached (the auth epoch, docs/current-api.md "Secret keys")."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.live import LiveServer, start_server


@pytest.fixture
def replicas(postgres_database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    a, stop_a = start_server(tmp_path, database_url=postgres_database_url, auth_cache_ttl_s=3600.0)
    b, stop_b = start_server(tmp_path, database_url=postgres_database_url, auth_cache_ttl_s=3600.0)
    yield a, b
    stop_b()
    stop_a()


def get(server: LiveServer, key: str, path: str) -> httpx.Response:
    return httpx.get(f"{server.api_base}{path}", headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_revocations_reach_the_other_replica_at_once(replicas: tuple[LiveServer, LiveServer]) -> None:
    a, b = replicas
    first = a.merchant("replicas")["secret_key"]
    second = a.cli("secret-keys", "create", "--secret-key", first, "--name", "second")
    customer = a.cli("customers", "create", "--secret-key", first, "--reference-id", "r1")
    meter = a.cli("meters", "create", "--secret-key", first, "--name", "m", "--tier", "0:1")
    token = base64.b64encode(
        json.dumps({"secret_key": first, "customer_id": "r1", "meter_slug": meter["meter_slug"]}).encode()
    ).decode()
    quote = {"url": "https://api.openai.com/v1/chat/completions", "body": {"model": "gpt-4o-mini", "messages": []}}

    def quote_on(server: LiveServer) -> httpx.Response:
        return httpx.post(
            f"{server.api_base}quote", json=quote, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    # Both replicas warm their caches with the second key and the customer token.
    for server in (a, b):
        assert get(server, second["secret_key"], "customers").status_code == 200
        assert quote_on(server).status_code == 200, quote_on(server).text

    # Revoke the key on A (backdated past the cooldown), delete the customer through A's API.
    async def backdate() -> None:
        async with a.services.db.transaction() as tx:
            await tx.execute(
                "UPDATE secret_keys SET created_at = created_at - 60000000 WHERE id = $1", second["secret_key_id"]
            )

    a.call(backdate())
    deleted = httpx.delete(
        f"{a.api_base}secret_keys/{second['secret_key_id']}", headers={"Authorization": f"Bearer {first}"}, timeout=30
    )
    assert deleted.json() == {"id": second["secret_key_id"], "deleted": True}
    gone = httpx.delete(
        f"{a.api_base}customers/{customer['customer_id']}", headers={"Authorization": f"Bearer {first}"}, timeout=30
    )
    assert gone.json() == {"success": True}

    # B never saw those requests, yet refuses both at once.
    r = get(b, second["secret_key"], "customers")
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_failed"
    q = quote_on(b)
    assert q.status_code == 403 and q.json()["error"]["code"] == "customer_inactive", q.text
    assert get(b, first, "customers").status_code == 200  # the other key is untouched

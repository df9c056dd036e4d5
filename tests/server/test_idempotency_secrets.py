"""Idempotency-Key never leaves a shown-once secret in the database (docs/decisions.md).

Secret keys, spend keys (create and rotate) and webhooks answer their secret once. With an
``Idempotency-Key`` the response is stored for a replay: the replay must return the identical
body, yet a dump of every table's text (SQLite and PostgreSQL) holds no raw secret.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lava_server.accounts.merchants import create_merchant
from lava_server.app import build_app
from lava_server.context import Services, open_services
from lava_server.events.config import WebhookSettings
from lava_server.settings import from_env

SECRET_FIELDS = ("secret_key", "key", "secret", "webhook_secret", "signing_secret")


@pytest.fixture
async def svc(database_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    settings = from_env(
        {},
        data_dir=str(tmp_path / "d"),
        database_url=database_url,
        webhooks=WebhookSettings(allowed_hosts=("127.0.0.1",)),
    )
    services = await open_services(settings)
    yield services
    await services.close()


async def all_text(svc: Services) -> str:
    """Every value of every table, as text."""
    if svc.settings.database_url.startswith("sqlite"):
        rows = await svc.db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
        tables = [str(r["name"]) for r in rows]
    else:
        rows = await svc.db.fetchall("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = [str(r["tablename"]) for r in rows]
    assert "idempotency_keys" in tables
    parts: list[str] = []
    for table in tables:
        for row in await svc.db.fetchall(f'SELECT * FROM "{table}"'):
            parts.extend(str(row[k]) for k in row.keys())  # noqa: SIM118 (a Row, not a dict)
    return "\n".join(parts)


def secrets_of(body: dict[str, Any]) -> list[str]:
    found = [str(body[k]) for k in SECRET_FIELDS if isinstance(body.get(k), str) and len(str(body[k])) >= 16]
    assert found, f"no secret field in {sorted(body)}"
    return found


async def test_replayed_secret_responses_are_identical_and_never_stored_raw(svc: Services) -> None:
    m = await create_merchant(svc, "idem-secrets", "test")
    app: web.Application = build_app(svc)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        auth = {"Authorization": f"Bearer {m.secret_key}"}

        async def twice(path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
            headers = {**auth, "Idempotency-Key": key}
            first = await client.post(path, headers=headers, json=body)
            raw_first = await first.read()
            assert first.status in (200, 201), raw_first
            again = await client.post(path, headers=headers, json=body)
            assert again.status == first.status and again.headers["Idempotent-Replayed"] == "true"
            assert await again.read() == raw_first  # byte-identical, secret included
            parsed: dict[str, Any] = await first.json()
            return parsed

        shown: list[str] = []
        shown += secrets_of(await twice("/v1/secret_keys", {"name": "ci"}, "sk-1"))
        spend = await twice("/v1/spend_keys", {"name": "agent"}, "spend-1")
        shown += secrets_of(spend)
        rotated = await twice(f"/v1/spend_keys/{spend['spend_key_id']}/rotate", {}, "rotate-1")
        shown += secrets_of(rotated)
        shown += secrets_of(await twice("/v1/webhooks", {"name": "h", "url": "http://127.0.0.1:9/hook"}, "wh-1"))
        assert len(set(shown)) == len(shown) == 4
        text = await all_text(svc)
        stored = await svc.db.fetchval("SELECT COUNT(*) FROM idempotency_keys WHERE status IS NOT NULL")
        assert int(stored) == 4
        for secret in shown:
            assert secret not in text
            assert secret[-16:] not in text  # nor its random tail (96 bits)
    finally:
        await client.close()

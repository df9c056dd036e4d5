"""Shared fixtures: a real Lava server (SQLite by default), and PostgreSQL when available.

PostgreSQL: set LAVA_TEST_POSTGRES_URL (``.ci/run`` starts a throwaway server and sets it).
Tests marked ``postgres`` fail loudly if it is missing under CI, so a gap cannot hide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava_server.billing import ledger
from tests.support.live import LiveServer, start_server

POSTGRES_URL = os.environ.get("LAVA_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def lava_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One server for the session; tests isolate themselves by creating their own merchants."""
    server, stop = start_server(tmp_path_factory.mktemp("lava-data"))
    yield server
    stop()


@pytest.fixture(autouse=True)
def ledger_stays_balanced(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that used the shared server, every ledger invariant still holds."""
    yield
    if "lava_server" in request.fixturenames:
        server: LiveServer = request.getfixturevalue("lava_server")
        # Run on the server's own loop: some tests (sync Playwright) keep a loop busy in this thread.
        report = server.call(ledger.check(server.services.db))
        assert report.ok, f"lava ledger check failed after {request.node.nodeid}: {report.problems}"


@pytest.fixture
def merchant(lava_server: LiveServer) -> dict[str, str]:
    return lava_server.merchant(f"merchant-{uuid.uuid4().hex[:8]}")


def postgres_url_or_fail() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("LAVA_TEST_POSTGRES_URL is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("PostgreSQL not configured (set LAVA_TEST_POSTGRES_URL); CI always runs these")
    return POSTGRES_URL


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import asyncio

    import asyncpg

    base = postgres_url_or_fail()
    name = f"lava_test_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(base)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    prefix, _, _ = base.rpartition("/")
    yield f"{prefix}/{name}"
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both store backends: every store test runs on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'lava.db'}"
    return str(request.getfixturevalue("postgres_database_url"))

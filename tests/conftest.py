"""Shared fixtures: a real Lava server (SQLite by default), and PostgreSQL when available.

PostgreSQL: set LAVA_TEST_POSTGRES_URL (``.ci/run`` starts a throwaway server and sets it).
Tests marked ``postgres`` fail loudly if it is missing under CI, so a gap cannot hide.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava_server.billing import ledger
from tests.support.live import LiveServer, start_server
from tests.support.standalone import OutsideReads

POSTGRES_URL = os.environ.get("LAVA_TEST_POSTGRES_URL")
REPO_ROOT = Path(__file__).resolve().parents[1]
OUTSIDE_READS = pytest.StashKey[OutsideReads]()


def pytest_configure(config: pytest.Config) -> None:
    """Install the outside-the-checkout read guard before collection (module-level reads count too)."""
    guard = OutsideReads.for_checkout(REPO_ROOT)
    sys.addaudithook(guard)
    config.stash[OUTSIDE_READS] = guard


def pytest_unconfigure(config: pytest.Config) -> None:
    guard = config.stash.get(OUTSIDE_READS, None)
    if guard is not None:
        guard.active = False


def _outside_message(paths: list[str], where: str) -> str:
    shown = "\n  ".join(paths[:10])
    return (
        f"{where} read {len(paths)} path(s) outside the repository checkout "
        f"(a fresh clone has nothing beside it; copy the data into tests/data/):\n  {shown}"
    )


@pytest.fixture(scope="session", autouse=True)
def suite_stands_alone(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the session when collection or session fixtures read outside the checkout."""
    guard = request.config.stash[OUTSIDE_READS]
    paths = guard.take()
    if paths:
        pytest.fail(_outside_message(paths, "test collection"))
    yield
    paths = guard.take()
    if paths:
        pytest.fail(_outside_message(paths, "session fixtures"))


@pytest.fixture(autouse=True)
def test_stands_alone(request: pytest.FixtureRequest, suite_stands_alone: None) -> Iterator[None]:
    """Fail the test that read a file outside the checkout (e.g. a sibling ``shared`` directory)."""
    guard = request.config.stash[OUTSIDE_READS]
    paths = guard.take()  # module/class fixtures set up for this test, or the previous teardown
    if paths:
        pytest.fail(_outside_message(paths, f"fixtures around {request.node.nodeid}"))
    yield
    paths = guard.take()
    if paths:
        pytest.fail(_outside_message(paths, request.node.nodeid))


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

"""Fixtures of the fault suite: one private PostgreSQL cluster per session, a fake upstream, replicas.

The suite needs PostgreSQL's server binaries (as CI has: .ci/run starts PostgreSQL from them).
Tests marked ``soak`` run only when selected (``-m soak``; CI does, see .ci/run).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_url_or_fail
from tests.fakes.providers import make_fake_app
from tests.fakes.server import RunningServer, start_in_thread
from tests.faults.harness import Cluster, PrivatePostgres

PRICES = [("openai", "gpt-4o-mini", "0", "10"), ("openai", "slow-stream", "0", "10")]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) soak tests unless the marker expression asks for them."""
    if "soak" in (config.option.markexpr or ""):
        return
    keep = [i for i in items if i.get_closest_marker("soak") is None]
    dropped = [i for i in items if i.get_closest_marker("soak") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def fault_fake() -> Iterator[RunningServer]:
    f = start_in_thread(lambda: make_fake_app())
    yield f
    f.stop()


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    if os.environ.get("CI") is None and not Path("/usr/lib/postgresql").is_dir():
        postgres_url_or_fail()  # explains how to get PostgreSQL
    pg = PrivatePostgres()
    pg.init()
    yield pg
    pg.destroy()


@pytest.fixture
def cluster(private_pg: PrivatePostgres, fault_fake: RunningServer, tmp_path: Path) -> Iterator[Cluster]:
    """A fresh database on the private cluster, a funded merchant; replicas are started by the test."""
    c = Cluster(private_pg.new_database(), fault_fake.url, tmp_path / f"cluster-{uuid.uuid4().hex[:6]}")
    c.root.mkdir(parents=True)
    c.setup_merchant(PRICES)
    yield c
    c.stop_all()

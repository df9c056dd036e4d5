"""Pytest fixtures for the fake upstreams. Enable with ``pytest_plugins = ["tests.fakes.fixtures"]``.

- ``fake_upstream`` → ``"http://127.0.0.1:PORT"`` of a fresh :func:`make_fake_app` (function scope;
  served from a background thread, so it works for sync and async tests alike).
- ``fake_server`` → the :class:`RunningServer` behind it (``.url``, ``.app``; ``app[STATE]`` holds
  the counters).
- ``fake_upstream_shared`` → like ``fake_upstream`` but one app per test module (for tests that
  don't look at counters; saves a server and SDK client per test).
- ``replay_upstream`` → base URL of :func:`make_replay_app` over the recorded samples (module
  scope: it is stateless apart from its stats).
- ``fake_upstream_factory`` → ``start(**make_fake_app_kwargs) -> RunningServer`` for custom
  configurations (latency, key prefix); everything started is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .providers import make_fake_app
from .replay import make_replay_app
from .server import RunningServer, start_in_thread


@pytest.fixture
def fake_upstream_factory() -> Iterator[Callable[..., RunningServer]]:
    started: list[RunningServer] = []

    def start(**kwargs: Any) -> RunningServer:
        running = start_in_thread(lambda: make_fake_app(**kwargs))
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def fake_server(fake_upstream_factory: Callable[..., RunningServer]) -> RunningServer:
    return fake_upstream_factory()


@pytest.fixture
def fake_upstream(fake_server: RunningServer) -> str:
    return fake_server.url


@pytest.fixture(scope="module")
def fake_upstream_shared() -> Iterator[str]:
    running = start_in_thread(make_fake_app)
    yield running.url
    running.stop()


@pytest.fixture(scope="module")
def replay_upstream() -> Iterator[str]:
    running = start_in_thread(make_replay_app)
    yield running.url
    running.stop()

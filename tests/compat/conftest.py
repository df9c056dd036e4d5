"""Fixtures of the @lavapayments/nodejs 11.2.0 tests: the pinned SDK, the fake-upstream gateway
stack (with ``lava ledger check`` after each test) and a driver for ``node/sdk1120.mjs``."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator

import pytest

from lava_server.billing import ledger
from tests.compat.current_support import ALIAS, SDK
from tests.compat.test_node_sdk import NODE_DIR, Driver
from tests.e2e.conftest_gateway import GatewayStack, fake_gateway  # noqa: F401


@pytest.fixture(scope="module")
def node_1120() -> str:
    """node, after checking 11.2.0 is what npm installed under the alias (fails, never skips)."""
    pins = json.loads((NODE_DIR / "package.json").read_text())["dependencies"]
    assert pins[ALIAS] == "npm:@lavapayments/nodejs@11.2.0"
    installed = json.loads((NODE_DIR / "node_modules" / ALIAS / "package.json").read_text())
    assert (installed["name"], installed["version"]) == ("@lavapayments/nodejs", "11.2.0"), installed
    out = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10, check=True)
    assert out.stdout.startswith("v")
    return "node"


@pytest.fixture
def stack(fake_gateway: GatewayStack) -> Iterator[GatewayStack]:  # noqa: F811
    yield fake_gateway
    report = fake_gateway.server.call(ledger.check(fake_gateway.server.services.db))
    assert report.ok, f"lava ledger check failed: {report.problems}"


@pytest.fixture
def drive(node_1120: str, stack: GatewayStack) -> Driver:
    return Driver(SDK, node_1120, stack.server)

"""After every scenario: the ledger checks out and funds in = the sum of successful payments."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lava_server.ids import Mode
from lava_server.store import checkout_state
from tests.support.live import LiveServer


def cli(server: LiveServer, *args: str) -> dict[str, Any]:
    """In a thread: the CLI calls asyncio.run(), and sync Playwright keeps a loop in the test's thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(server.cli, *args).result(timeout=60)


def new_merchant(server: LiveServer, name: str, live: bool = False) -> dict[str, Any]:
    return cli(server, "merchants", "create", "--name", name, *(["--live"] if live else []))


def funds_in(server: LiveServer, mode: Mode) -> int:
    balance = server.call(server.services.ledger.balance(f"external_funding:{mode}"))
    return -int(balance.balance)


def assert_ledger_consistent(server: LiveServer, mode: Mode = "test") -> None:
    report = cli(server, "ledger", "check")
    assert report["ok"] is True, report
    paid = server.call(checkout_state.sum_succeeded(server.services.db, mode))
    assert funds_in(server, mode) == paid


def wallet_transfer_count(server: LiveServer, wallet_id: str) -> int:
    value = server.call(
        server.services.db.fetchval(
            "SELECT COUNT(*) FROM ledger_transfers WHERE credit_account = $1", f"wallet:{wallet_id}"
        )
    )
    return int(value)

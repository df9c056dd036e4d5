"""Set-up shared by the sync and async end-to-end tests (real server, admin CLI)."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any, Protocol

ORIGIN = "https://shop.example"


class Server(Protocol):
    api_base: str

    def cli(self, *args: str) -> dict[str, Any]: ...


def new_merchant(server: Server) -> str:
    """A fresh merchant (test mode); returns its secret key."""
    created = server.cli("merchants", "create", "--name", f"sdk-e2e-{uuid.uuid4().hex[:8]}")
    assert created["secret_key"].startswith("aks_test_")
    return str(created["secret_key"])


def new_connections(server: Server, secret_key: str, count: int, credit: str = "10.5") -> list[dict[str, Any]]:
    """``count`` connections with credit, created in order (distinct milliseconds, so ids sort by creation)."""
    made = []
    tag = uuid.uuid4().hex[:6]
    for i in range(count):
        made.append(
            server.cli(
                "connections",
                "create",
                "--secret-key",
                secret_key,
                "--reference-id",
                f"user-{tag}-{i}",
                "--credit",
                credit,
            )
            | {"reference_id": f"user-{tag}-{i}"}
        )
        time.sleep(0.002)
    return made


def decode_checkout_token(token: str) -> dict[str, Any]:
    value = json.loads(base64.b64decode(token))
    assert isinstance(value, dict)
    return value

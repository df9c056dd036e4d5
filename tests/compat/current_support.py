"""Shared helpers for the @lavapayments/nodejs 11.2.0 compatibility tests.

The fixtures (``node_1120``, ``stack``, ``drive``) are in ``tests/compat/conftest.py``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.compat.dts_shapes import check, shape
from tests.compat.test_node_sdk import SdkVersion
from tests.support.live import LiveServer

SDK = SdkVersion("11.2.0", "lava1120", "sdk1120.mjs", None)
ALIAS = SDK.alias
OPENAI_CHAT = "https://api.openai.com/v1/chat/completions"
ZERO = "0.0000000000"
LEGACY = {"X-Lava-API-Version": "2025-04-28.v1"}
FOREIGN_CUSTOMER = "con_test_01ARZ3NDEKTSV4RRFFQ69G5FAV"


def new_merchant(server: LiveServer, profile: str = "compat") -> str:
    key: str = server.merchant(f"cur-{uuid.uuid4().hex[:8]}")["secret_key"]
    if profile != "compat":
        server.cli("merchants", "profile", "--secret-key", key, "--profile", profile)
    return key


def conforms(value: Any, type_name: str, profile: str, *, ignore: tuple[str, ...] = ()) -> None:
    """``value`` has every field of the SDK's type; under ``current`` no other field."""
    problems = [
        p for p in check(value, shape(ALIAS, type_name), exact=profile == "current") if not p.startswith(ignore)
    ]
    assert not problems, f"{type_name} ({profile}): {problems}\n{json.dumps(value, indent=1)}"


def rest(server: LiveServer, key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", **kw.pop("headers", {})}
    return httpx.request(method, f"{server.api_base}{path}", headers=headers, timeout=30, **kw)


def customer_and_meter(
    server: LiveServer, key: str, *, credit: str = "50", rate: str = "5"
) -> tuple[dict[str, Any], dict[str, Any]]:
    ref = f"ref_{uuid.uuid4().hex[:8]}"
    customer = server.cli("customers", "create", "--secret-key", key, "--reference-id", ref)
    server.cli("wallets", "credit", "--secret-key", key, "--connection-id", customer["customer_id"], "--amount", credit)
    meter = server.cli("meters", "create", "--secret-key", key, "--name", f"chat {ref}", "--tier", f"0:{rate}")
    return customer, meter


def balance(server: LiveServer, key: str, customer_id: str) -> str:
    r = rest(server, key, "GET", f"connections/{customer_id}", headers=LEGACY)
    assert r.status_code == 200, r.text
    return str(r.json()["wallet"]["balance"])

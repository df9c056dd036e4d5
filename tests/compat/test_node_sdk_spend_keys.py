"""The OFFICIAL @lavapayments/nodejs 11.2.0's 6 spend-key calls against our server
(``node/sdk1120_spend_keys.mjs``): create, list (paged), retrieve, update, rotate, revoke; then
``models.list`` with a spend key, and every call on another merchant's key (404). Each object is
checked exactly against the SDK's own ``RestSpendKey`` declaration."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.compat.current_support import ALIAS, new_merchant
from tests.compat.dts_shapes import check, shape
from tests.compat.test_node_sdk import Driver, SdkVersion, assert_api_error, ok
from tests.e2e.conftest_gateway import GatewayStack

pytestmark = pytest.mark.node

SDK = SdkVersion("11.2.0", ALIAS, "sdk1120_spend_keys.mjs", None)


@pytest.fixture
def drive(node_1120: str, stack: GatewayStack) -> Driver:
    """A driver for ``node/sdk1120_spend_keys.mjs`` (``node_1120`` and ``stack`` from conftest)."""
    return Driver(SDK, node_1120, stack.server)


def conforms(value: Any, *, created: bool = False) -> None:
    problems = check(
        {k: v for k, v in value.items() if not (created and k == "key")}, shape(ALIAS, "RestSpendKey"), exact=True
    )
    assert not problems, f"RestSpendKey: {problems}\n{json.dumps(value, indent=1)}"
    if created:
        assert isinstance(value["key"], str) and value["key"].startswith("lava_sk_")


def test_surface(drive: Driver) -> None:
    methods = drive.run("surface", "aks_test_x")["methods"]
    assert {"create", "list", "retrieve", "update", "revoke", "rotate"} <= set(methods)


def test_spend_key_calls(drive: Driver, stack: GatewayStack) -> None:
    server = stack.server
    key, other = new_merchant(server), new_merchant(server)
    foreign = server.cli("spend-keys", "create", "--secret-key", other, "--name", "theirs")
    expires = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    out = drive.run(
        "lifecycle",
        key,
        foreign_spend_key_id=foreign["spend_key_id"],
        expires_at=expires.isoformat().replace("+00:00", "Z"),
    )

    created = ok(out["created"], "spendKeys.create")
    conforms(created, created=True)
    assert created["key_preview"] == created["key"][:16] + "****"
    assert created["spend_limit"] == {"amount": "1.5000000000", "cycle": "daily"}
    assert created["request_limit"] == {"count": 100, "cycle": "monthly"}
    assert created["rate_limit"] == {"rpm": 60, "burst": 10}
    assert created["allowed_models"] == ["gpt-4o-mini"] and created["allowed_providers"] is None
    assert created["expires_at"] == expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (created["status"], created["request_shape"], created["current_spend"]) == (
        "active",
        "openai",
        "0.0000000000",
    )
    second = ok(out["second"], "spendKeys.create (defaults)")
    conforms(second, created=True)
    assert (second["spend_limit"], second["rate_limit"], second["expires_at"]) == (None, None, None)

    page1, page2 = ok(out["page1"], "spendKeys.list"), ok(out["page2"], "spendKeys.list (page 2)")
    assert [k["spend_key_id"] for k in page1["data"]] == [second["spend_key_id"]]  # newest first
    assert page1["has_more"] is True
    assert [k["spend_key_id"] for k in page2["data"]] == [created["spend_key_id"]]
    assert page2["has_more"] is False and "next_cursor" not in page2
    for item in page1["data"] + page2["data"]:
        conforms(item)
        assert "key" not in item

    retrieved = ok(out["retrieved"], "spendKeys.retrieve")
    conforms(retrieved)
    assert retrieved["key_preview"] == created["key_preview"]
    updated = ok(out["updated"], "spendKeys.update")
    conforms(updated)
    assert (updated["name"], updated["status"], updated["rate_limit"], updated["allowed_models"]) == (
        "renamed", "paused", None, None,
    )  # fmt: skip
    assert updated["spend_limit"] == created["spend_limit"]  # partial update keeps the rest

    models = ok(out["models"], "models.list with a spend key")
    assert models["object"] == "list" and models["data"]
    assert {m["owned_by"] for m in models["data"]} >= {"openai"}

    rotated = ok(out["rotated"], "spendKeys.rotate")
    conforms(rotated, created=True)
    assert rotated["key"] != created["key"] and rotated["spend_key_id"] == created["spend_key_id"]
    assert ok(out["revoked"], "spendKeys.revoke") == {"success": True}
    assert_api_error(out["after_revoke"], "retrieve after revoke", 404, "not_found")
    for call, result in out["foreign"].items():
        assert_api_error(result, f"{call} on another merchant's key", 404, "not_found")
    # the other merchant's key is untouched
    assert server.cli("spend-keys", "list", "--secret-key", other)["data"][0]["name"] == "theirs"

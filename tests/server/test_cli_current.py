"""`lava customers|meters|secret-keys …` and `lava merchants profile`: JSON on stdout, one-line errors."""

from __future__ import annotations

import httpx

from tests.support.live import LiveServer


def test_customers_meters_secret_keys_commands(lava_server: LiveServer) -> None:
    key = lava_server.merchant("cli-current")["secret_key"]
    c = lava_server.cli(
        "customers", "create", "--secret-key", key, "--reference-id", "u1", "--name", "Ada L", "--phone", "+14155550123"
    )
    assert c["created"] is True and c["contact"]["phone"] == "+14155550123" and c["contact"]["last_name"] == "L"
    assert lava_server.cli("customers", "create", "--secret-key", key, "--reference-id", "u1")["created"] is False
    assert [x["customer_id"] for x in lava_server.cli("customers", "list", "--secret-key", key)["data"]] == [
        c["customer_id"]
    ]
    assert lava_server.cli("customers", "delete", "--secret-key", key, "u1") == {"success": True}
    assert lava_server.cli("customers", "list", "--secret-key", key)["data"] == []
    assert "not_found" in lava_server.cli_error("customers", "delete", "--secret-key", key, "u1")
    assert "E.164" in lava_server.cli_error("customers", "create", "--secret-key", key, "--phone", "555")

    m = lava_server.cli(
        "meters",
        "create",
        "--secret-key",
        key,
        "--name",
        "Per call",
        "--tier-type",
        "requests",
        "--tier",
        "0:0.01",
        "--tier",
        "100:0.005",
    )
    assert m["meter_slug"] == "per-call" and [t["start"] for t in m["tiers"]] == [0, 100]
    assert "meter_slug_taken" in lava_server.cli_error(
        "meters", "create", "--secret-key", key, "--name", "x", "--meter-slug", "per-call"
    )
    assert [x["meter_id"] for x in lava_server.cli("meters", "list", "--secret-key", key)["data"]] == [m["meter_id"]]
    assert lava_server.cli("meters", "delete", "--secret-key", key, m["meter_id"]) == {
        "id": m["meter_id"],
        "deleted": True,
    }
    assert lava_server.cli("meters", "list", "--secret-key", key)["data"] == []

    k = lava_server.cli("secret-keys", "create", "--secret-key", key, "--name", "ci")
    assert k["secret_key"].startswith("aks_test_") and k["secret_key"].endswith(k["secret_key_hint"])
    listed = lava_server.cli("secret-keys", "list", "--secret-key", key)["data"]
    assert {x["name"] for x in listed} == {"", "ci"} and all("secret_key" not in x for x in listed)
    assert "secret_key_cooldown" in lava_server.cli_error(
        "secret-keys", "delete", "--secret-key", key, k["secret_key_id"]
    )
    assert "invalid secret key" in lava_server.cli_error("secret-keys", "list", "--secret-key", "aks_test_nope")


def test_merchants_profile_switches_header_less_shapes(lava_server: LiveServer) -> None:
    key = lava_server.merchant("cli-profile")["secret_key"]
    headers = {"Authorization": f"Bearer {key}"}
    start = {"start": "2025-01-01T00:00:00Z", "end": "2025-01-01T10:00:00Z"}
    compat = httpx.get(f"{lava_server.api_base}usage", params=start, headers=headers).json()["totals"]
    assert "total_fee_amount" in compat and "total_charge" in compat
    out = lava_server.cli("merchants", "profile", "--secret-key", key, "--profile", "current")
    assert out["default_profile"] == "current"
    current = httpx.get(f"{lava_server.api_base}usage", params=start, headers=headers).json()["totals"]
    assert set(current) == {"total_requests", "total_usage_tokens", "total_cost", "total_charge"}
    legacy = httpx.get(
        f"{lava_server.api_base}usage", params=start, headers={**headers, "X-Lava-API-Version": "2025-04-28.v1"}
    ).json()["totals"]
    assert "total_fee_amount" in legacy and "total_charge" not in legacy


def test_customer_commands_print_the_subscription_rest_returns(lava_server: LiveServer) -> None:
    """Every customer is on the merchant's default Free plan: the CLI shows it as GET /v1/customers does."""
    key = lava_server.merchant("cli-customer-sub")["secret_key"]
    created = lava_server.cli("customers", "create", "--secret-key", key, "--reference-id", "u1")
    rest = httpx.get(f"{lava_server.api_base}customers/u1", headers={"Authorization": f"Bearer {key}"}).json()
    assert rest["subscription"] is not None and rest["subscription"]["name"] == "Free"
    assert created["subscription"] == rest["subscription"]
    assert lava_server.cli("customers", "list", "--secret-key", key)["data"][0]["subscription"] == rest["subscription"]

"""Current-generation objects on both backends (SQLite and PostgreSQL): customers over
connections, meters over products, secret keys, forward-token resolution and the auth epoch."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from lava_server.accounts import customers, meters, secret_keys
from lava_server.accounts.merchants import create_merchant
from lava_server.auth.forward_tokens import ForwardTokenAuthenticator
from lava_server.auth.merchant_keys import KeyAuthenticator
from lava_server.context import Services, open_services
from lava_server.errors import ApiError
from lava_server.settings import from_env
from lava_server.store import customers as customer_repo
from lava_server.store import meters as meter_repo
from lava_server.store import secret_keys as key_repo
from lava_server.store.auth_epoch import read_auth_epoch
from lava_server.store.merchants import MerchantKey


async def services(database_url: str, tmp_path: Path) -> Services:
    return await open_services(from_env({}, data_dir=str(tmp_path / "data"), database_url=database_url))


def token(**fields: object) -> str:
    return base64.b64encode(json.dumps(fields).encode()).decode()


async def merchant(svc: Services, name: str = "m") -> tuple[MerchantKey, str]:
    created = await create_merchant(svc, name, "test")
    key = await svc.keys.resolve(created.secret_key)
    assert key is not None
    return key, created.secret_key


async def test_customers_meters_and_tokens(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        key, secret = await merchant(svc)
        other, _ = await merchant(svc, "other")
        cust, created = await customers.create_customer(svc, key, {"reference_id": "u1", "name": "Ada Lovelace"})
        assert created and cust.wallet.first_name == "Ada" and cust.wallet.last_name == "Lovelace"
        again, created_again = await customers.create_customer(svc, key, {"reference_id": "u1"})
        assert (again.id, created_again) == (cust.id, False)
        assert (await customer_repo.find_customer(svc.db, key.merchant_id, "test", "u1")) is not None
        assert (await customer_repo.find_customer(svc.db, other.merchant_id, "test", "u1")) is None
        updated = await customers.update_customer(svc, key, "u1", {"metadata": {"a": 1}, "email": "a@b.co"})
        assert updated.metadata == '{"a":1}' and updated.wallet.email == "a@b.co"

        meter = await meters.create_meter(
            svc,
            key,
            {
                "name": "Chat Tokens",
                "rate_type": "fixed",
                "tier_type": "tokens_1m",
                "tiers": [{"start": 0, "rate": "5"}],
            },
        )
        assert meter.meter_slug == "chat-tokens"
        twin = await meters.create_meter(
            svc,
            key,
            {
                "name": "Chat tokens",
                "rate_type": "fixed",
                "tier_type": "requests",
                "tiers": [{"start": "0", "rate": 1}],
            },
        )
        assert twin.meter_slug == "chat-tokens-2"
        with pytest.raises(ApiError) as taken:
            await meters.create_meter(
                svc,
                key,
                {
                    "name": "x",
                    "meter_slug": "chat-tokens",
                    "rate_type": "fixed",
                    "tier_type": "requests",
                    "tiers": [{"start": 0, "rate": 1}],
                },
            )
        assert taken.value.code == "meter_slug_taken"
        assert (await meter_repo.find_meter(svc.db, key.merchant_id, "test", meter.id)) is not None

        auth = ForwardTokenAuthenticator(svc.db, svc.keyring, svc.keys, ttl_s=3600)
        charged = await auth.authenticate(token(secret_key=secret, customer_id="u1", meter_slug="chat-tokens"))
        assert (charged.form, charged.connection_id, charged.wallet_id, charged.product_id) == (
            "customer",
            cust.id,
            cust.wallet_id,
            meter.id,
        )
        untracked = await auth.authenticate(
            token(secret_key=secret, customer_id=cust.id, meter_slug=meter.id, disable_billing=True)
        )
        assert (untracked.form, untracked.connection_id, untracked.wallet_id) == ("customer_untracked", cust.id, None)
        merchant_pays = await auth.authenticate(secret)  # a bare secret key
        assert (merchant_pays.form, merchant_pays.connection_id, merchant_pays.product_id) == ("merchant", None, None)

        # Deleting the meter bumps the epoch: the cached resolution is not trusted any more.
        before = await read_auth_epoch(svc.db)
        await meters.delete_meter(svc, key, meter.id)
        assert await read_auth_epoch(svc.db) == before + 1
        with pytest.raises(ApiError) as gone:
            await auth.authenticate(token(secret_key=secret, customer_id="u1", meter_slug="chat-tokens"))
        assert gone.value.code == "invalid_meter_slug"
        await customers.delete_customer(svc, key, "u1")
        with pytest.raises(ApiError) as inactive:
            await auth.authenticate(token(secret_key=secret, customer_id=cust.id, meter_slug="chat-tokens-2"))
        assert (inactive.value.status, inactive.value.code) == (403, "customer_inactive")
    finally:
        await svc.close()


async def test_secret_key_revocation_reaches_other_caches(database_url: str, tmp_path: Path) -> None:
    svc = await services(database_url, tmp_path)
    try:
        key, _ = await merchant(svc)
        record, secret = await secret_keys.create_named_key(svc, key, "second")
        replica = KeyAuthenticator(svc.db, svc.keyring, ttl_s=3600)  # another replica's cache
        assert await replica.resolve(secret) is not None
        with pytest.raises(ApiError) as cooldown:
            await secret_keys.revoke_key(svc, key, record.id)
        assert cooldown.value.code == "secret_key_cooldown"
        async with svc.db.transaction() as tx:
            await tx.execute("UPDATE secret_keys SET created_at = created_at - 60000000 WHERE id = $1", record.id)
        await secret_keys.revoke_key(svc, key, record.id)
        assert await replica.resolve(secret) is None
        assert await key_repo.count_live_keys(svc.db, key.merchant_id, "test") == 1
        only = (await key_repo.list_keys(svc.db, key.merchant_id, "test", cursor=None, limit=10))[0][0]
        async with svc.db.transaction() as tx:
            await tx.execute("UPDATE secret_keys SET created_at = created_at - 60000000 WHERE id = $1", only.id)
        with pytest.raises(ApiError) as last:
            await secret_keys.revoke_key(svc, key, only.id)
        assert last.value.code == "last_secret_key"
    finally:
        await svc.close()


async def test_customer_api_writes_lava_events(database_url: str, tmp_path: Path) -> None:
    """POST /v1/customers emits customer.created (idempotent replays emit nothing) and DELETE
    emits customer.deleted, each in the change's own transaction."""
    svc = await services(database_url, tmp_path)
    try:
        key, _ = await merchant(svc)
        await svc.webhooks.create(key, {"name": "a", "url": "https://93.184.216.34/a"})
        await customers.create_customer(svc, key, {"reference_id": "ev1"})
        await customers.create_customer(svc, key, {"reference_id": "ev1"})  # replay: no new customer
        await customers.delete_customer(svc, key, "ev1")
        rows = await svc.db.fetchall(
            "SELECT type FROM webhook_events WHERE merchant_id = $1 ORDER BY id", key.merchant_id
        )
        assert [r["type"] for r in rows] == ["customer.created", "customer.deleted"]
    finally:
        await svc.close()


async def test_event_data_is_the_api_customer(database_url: str, tmp_path: Path) -> None:
    """Webhook data and GET /v1/customers/{id} describe a customer identically (plus the balance)."""
    from lava_server.api import render_current
    from lava_server.events import payload

    svc = await services(database_url, tmp_path)
    try:
        key, _ = await merchant(svc)
        rec, _ = await customers.create_customer(
            svc, key, {"reference_id": "same", "name": "Ada L", "metadata": {"tier": "gold"}}
        )
        data = payload.customer(rec)
        assert data.pop("wallet") == {"balance": "0.0000000000"}
        assert data == render_current.customer(rec)
    finally:
        await svc.close()

"""Merchants, their secret keys and their products."""

from __future__ import annotations

from dataclasses import dataclass

from ..ids import Mode
from .base import Executor


@dataclass(frozen=True)
class MerchantKey:
    """What a valid secret key resolves to."""

    key_id: str
    merchant_id: str
    merchant_name: str
    mode: Mode
    default_profile: str = "compat"  # the profile for requests without X-Lava-API-Version


@dataclass(frozen=True)
class ProductRecord:
    id: str
    merchant_id: str
    mode: Mode
    name: str | None
    config_json: str
    created_at: int
    meter_slug: str | None = None
    deleted_at: int | None = None


async def insert_merchant(tx: Executor, merchant_id: str, name: str, created_at: int) -> None:
    await tx.execute("INSERT INTO merchants (id, name, created_at) VALUES ($1, $2, $3)", merchant_id, name, created_at)


async def insert_secret_key(
    tx: Executor,
    key_id: str,
    merchant_id: str,
    mode: Mode,
    key_hash: str,
    hint: str,
    created_at: int,
    name: str | None = None,
) -> None:
    await tx.execute(
        "INSERT INTO secret_keys (id, merchant_id, mode, key_hash, hint, created_at, name)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        key_id,
        merchant_id,
        mode,
        key_hash,
        hint,
        created_at,
        name,
    )


async def find_key(ex: Executor, key_hash: str) -> MerchantKey | None:
    row = await ex.fetchone(
        "SELECT k.id AS key_id, k.merchant_id, k.mode, m.name, m.default_profile FROM secret_keys k"
        " JOIN merchants m ON m.id = k.merchant_id WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        key_hash,
    )
    if row is None:
        return None
    return MerchantKey(row["key_id"], row["merchant_id"], row["name"], row["mode"], row["default_profile"])


async def insert_product(tx: Executor, product: ProductRecord, secret_hash: str) -> None:
    await tx.execute(
        "INSERT INTO products (id, merchant_id, mode, secret_hash, name, config, created_at, meter_slug)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        product.id,
        product.merchant_id,
        product.mode,
        secret_hash,
        product.name,
        product.config_json,
        product.created_at,
        product.meter_slug,
    )


PRODUCT_COLUMNS = "id, merchant_id, mode, name, config, created_at, meter_slug, deleted_at"


def _product(row: dict[str, object]) -> ProductRecord:
    return ProductRecord(
        str(row["id"]),
        str(row["merchant_id"]),
        row["mode"],  # type: ignore[arg-type]
        row["name"] if row["name"] is None else str(row["name"]),
        str(row["config"]),
        int(row["created_at"]),  # type: ignore[call-overload]
        None if row.get("meter_slug") is None else str(row["meter_slug"]),
        None if row.get("deleted_at") is None else int(row["deleted_at"]),  # type: ignore[call-overload]
    )


async def find_product_by_secret(ex: Executor, secret_hash: str) -> ProductRecord | None:
    row = await ex.fetchone(
        "SELECT " + PRODUCT_COLUMNS + " FROM products WHERE secret_hash = $1",
        secret_hash,
    )
    return None if row is None else _product(row)


async def get_product(ex: Executor, merchant_id: str, mode: Mode, product_id: str) -> ProductRecord | None:
    row = await ex.fetchone(
        "SELECT " + PRODUCT_COLUMNS + " FROM products WHERE id = $1 AND merchant_id = $2 AND mode = $3",
        product_id,
        merchant_id,
        mode,
    )
    return None if row is None else _product(row)

"""Create merchants, secret keys and products."""

from __future__ import annotations

from dataclasses import dataclass

from ..billing.product_config import ProductConfig
from ..clock import now_us
from ..context import Services
from ..ids import KEY, MERCHANT, PRODUCT, PRODUCT_SECRET, SECRET_KEY, Mode, new_secret
from ..store import merchants as repo
from .meters import slug_from_name, unique_slug


@dataclass(frozen=True)
class NewMerchant:
    merchant_id: str
    secret_key: str
    mode: Mode


@dataclass(frozen=True)
class NewProduct:
    product_id: str
    product_secret: str


async def create_merchant(svc: Services, name: str, mode: Mode) -> NewMerchant:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("merchant name must be 1..200 characters")
    merchant_id = svc.ids.new(MERCHANT)
    secret = new_secret(SECRET_KEY, mode)
    at = now_us()
    async with svc.db.transaction() as tx:
        await repo.insert_merchant(tx, merchant_id, name, at)
        await repo.insert_secret_key(
            tx, svc.ids.new(KEY), merchant_id, mode, svc.keyring.hash_secret(secret), secret[-4:], at
        )
    return NewMerchant(merchant_id, secret, mode)


async def create_secret_key(svc: Services, merchant_id: str, mode: Mode) -> str:
    secret = new_secret(SECRET_KEY, mode)
    async with svc.db.transaction() as tx:
        await repo.insert_secret_key(
            tx, svc.ids.new(KEY), merchant_id, mode, svc.keyring.hash_secret(secret), secret[-4:], now_us()
        )
    return secret


async def create_product(
    svc: Services, key: repo.MerchantKey, config: ProductConfig, name: str | None = None
) -> NewProduct:
    product_id = svc.ids.new(PRODUCT, key.mode)
    secret = new_secret(PRODUCT_SECRET, key.mode)
    async with svc.db.transaction() as tx:
        # A product is a meter too (docs/current-api.md "Meters"): it gets a slug from its name, else from its id.
        slug = await unique_slug(tx, key, slug_from_name(name) if name else product_id.lower())
        record = repo.ProductRecord(product_id, key.merchant_id, key.mode, name, config.to_json(), now_us(), slug)
        await repo.insert_product(tx, record, svc.keyring.hash_secret(secret))
    return NewProduct(product_id, secret)

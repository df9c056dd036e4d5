"""Secret keys as the merchant manages them (docs/current-api.md "Secret keys"): created named and shown once, revoked softly."""

from __future__ import annotations

from ..clock import now_us
from ..context import Services
from ..errors import ApiError, invalid_request
from ..ids import KEY, SECRET_KEY, new_secret
from ..store import merchants as merchants_repo
from ..store import secret_keys as repo
from ..store.merchants import MerchantKey

MAX_NAME = 255
COOLDOWN_US = 15 * 1_000_000  # a key younger than this cannot be revoked (409 secret_key_cooldown)


async def create_named_key(svc: Services, key: MerchantKey, name: object) -> tuple[repo.SecretKeyRecord, str]:
    """(record, secret): the secret is returned once and stored only as its HMAC hash."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise invalid_request(f"name must be a non-empty string of at most {MAX_NAME} characters")
    secret = new_secret(SECRET_KEY, key.mode)
    key_id = svc.ids.new(KEY)
    async with svc.db.transaction() as tx:
        await merchants_repo.insert_secret_key(
            tx,
            key_id,
            key.merchant_id,
            key.mode,
            svc.keyring.hash_secret(secret),
            secret[-4:],
            now_us(),
            name.strip(),
        )
        record = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
    assert record is not None
    return record, secret


async def revoke_key(svc: Services, key: MerchantKey, key_id: str) -> None:
    """Revoke one of the caller's keys (itself included). 404 for another merchant's or mode's key,
    400 ``last_secret_key`` for the last one, 409 ``secret_key_cooldown`` within 15 s of creation."""
    async with svc.db.transaction() as tx:
        found = await repo.get_key(tx, key.merchant_id, key.mode, key_id)
        if found is None:
            raise ApiError(404, "not_found", "secret key not found")
        if await repo.count_live_keys(tx, key.merchant_id, key.mode) <= 1:
            raise ApiError(400, "last_secret_key", f"this is the last {key.mode}-mode secret key; create another first")
        if now_us() - found.created_at < COOLDOWN_US:
            raise ApiError(409, "secret_key_cooldown", "a secret key can be revoked 15 seconds after its creation")
        await repo.revoke_key(tx, found.id, now_us())
    svc.forward_auth_changed()

"""Spend keys as gateway credentials (docs/spend-keys.md).

A spend key is ``lava_sk_`` + 43 URL-safe characters. It is looked up by its keyring HMAC on
every use (one indexed read, no cache), so a revocation, rotation, pause or expiry takes effect
at its commit on every replica. The limits are enforced later, with the hold
(``billing/spend_limits.py``); this module answers only "which key, of which merchant, and may
it be used at all".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from ..billing.spend_limits import check_standing
from ..clock import now_us
from ..errors import ApiError
from ..ids import SPEND_KEY_PREFIX, is_spend_key
from ..store import Database
from ..store import spend_keys as repo
from ..store.merchants import MerchantKey
from ..store.spend_keys import SpendKeyRecord
from .keyring import Keyring

MAX_SPEND_KEY_LENGTH = 200


def new_spend_key() -> tuple[str, str]:
    """(raw key, preview): the preview is ``lava_sk_`` + its first 8 characters + ``****``."""
    raw = SPEND_KEY_PREFIX + secrets.token_urlsafe(32)
    return raw, raw[: len(SPEND_KEY_PREFIX) + 8] + "****"


@dataclass(frozen=True)
class SpendKeyAuth:
    """An authenticated spend key: the merchant it spends for (``key_id`` is the spend key's id)."""

    key: SpendKeyRecord
    merchant: MerchantKey


def invalid_spend_key() -> ApiError:
    """401 ``invalid_spend_key``: unknown, revoked or rotated away (indistinguishable on purpose)."""
    return ApiError(401, "invalid_spend_key", "this spend key is not valid (unknown, revoked or rotated)")


class SpendKeyAuthenticator:
    """Resolves a raw spend key; raises 401 ``invalid_spend_key``/``spend_key_expired`` or 403
    ``spend_key_paused`` (checks 1–3 of docs/spend-keys.md)."""

    def __init__(self, db: Database, keyring: Keyring) -> None:
        self._db = db
        self._keyring = keyring

    async def find(self, raw: str) -> SpendKeyAuth:
        """The key and its merchant, whatever its status (``GET /v1/models`` uses this)."""
        if len(raw) > MAX_SPEND_KEY_LENGTH or not is_spend_key(raw):
            raise invalid_spend_key()
        rec = await repo.find_by_hash(self._db, self._keyring.hash_secret(raw))
        if rec is None:
            raise invalid_spend_key()
        row = await self._db.fetchone("SELECT name, default_profile FROM merchants WHERE id = $1", rec.merchant_id)
        if row is None:
            raise invalid_spend_key()
        merchant = MerchantKey(rec.id, rec.merchant_id, row["name"], rec.mode, row["default_profile"])
        return SpendKeyAuth(rec, merchant)

    async def authenticate(self, raw: str) -> SpendKeyAuth:
        """A key that may be used now: known, unexpired and active."""
        found = await self.find(raw)
        refusal = check_standing(found.key, now_us())
        if refusal is not None:
            raise refusal
        return found

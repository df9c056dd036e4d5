"""Provider keys a merchant stored (spec lava-api-current section 2.3 "Key choice"; docs/current-api.md).

A merchant may keep one upstream API key per provider and mode (``lava provider-keys set
--secret-key … --provider … --key …``), encrypted at rest with the keyring like the operator's
(the ciphertext is bound to merchant, mode and provider). A call whose token carries no
``provider_key`` uses it first: ``provider_key_type`` ``stored``, the cost recorded but never
debited (the provider bills the merchant). Otherwise the operator's managed key applies; with
neither the call is 403 ``provider_not_configured``. No cache: set and delete act at commit on
every replica (one primary-key read per call that names no key).
"""

from __future__ import annotations

import orjson

from ..auth.keyring import Keyring
from ..clock import now_us
from ..ids import Mode
from ..store import Database, Executor

MAX_KEY_CHARS = 4096


def _context(merchant_id: str, mode: Mode, provider: str) -> str:
    return orjson.dumps(["merchant_provider_key", merchant_id, mode, provider]).decode("utf-8")


async def get(db: Executor, keyring: Keyring, merchant_id: str, mode: Mode, provider: str) -> str | None:
    """The merchant's stored key for ``provider`` in ``mode``, or None."""
    row = await db.fetchone(
        "SELECT key_enc FROM merchant_provider_keys WHERE merchant_id = $1 AND mode = $2 AND provider = $3",
        merchant_id,
        mode,
        provider,
    )
    return None if row is None else keyring.decrypt(str(row["key_enc"]), _context(merchant_id, mode, provider))


async def put(db: Database, keyring: Keyring, merchant_id: str, mode: Mode, provider: str, key: str) -> None:
    """Store (or replace) the key; raises ``ValueError`` for an empty, multi-line or huge key."""
    if not key or len(key) > MAX_KEY_CHARS or any(c in key for c in "\r\n"):
        raise ValueError(f"provider key must be 1..{MAX_KEY_CHARS} characters on one line")
    enc = keyring.encrypt(key, _context(merchant_id, mode, provider))
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM merchant_provider_keys WHERE merchant_id = $1 AND mode = $2 AND provider = $3",
            merchant_id,
            mode,
            provider,
        )
        await tx.execute(
            "INSERT INTO merchant_provider_keys (merchant_id, mode, provider, key_enc, updated_at)"
            " VALUES ($1, $2, $3, $4, $5)",
            merchant_id,
            mode,
            provider,
            enc,
            now_us(),
        )


async def delete(db: Database, merchant_id: str, mode: Mode, provider: str) -> bool:
    """Remove the key; False when there was none."""
    changed = await db.execute(
        "DELETE FROM merchant_provider_keys WHERE merchant_id = $1 AND mode = $2 AND provider = $3",
        merchant_id,
        mode,
        provider,
    )
    return changed > 0


async def providers(db: Executor, merchant_id: str, mode: Mode) -> set[str]:
    """The providers the merchant stored a key for in ``mode``."""
    rows = await db.fetchall(
        "SELECT provider FROM merchant_provider_keys WHERE merchant_id = $1 AND mode = $2", merchant_id, mode
    )
    return {str(r["provider"]) for r in rows}


async def hints(db: Executor, keyring: Keyring, merchant_id: str, mode: Mode) -> list[dict[str, str]]:
    """``[{provider, mode, hint}]`` of the merchant's keys in ``mode``; the hint is the last 4 characters."""
    rows = await db.fetchall(
        "SELECT provider, key_enc FROM merchant_provider_keys WHERE merchant_id = $1 AND mode = $2 ORDER BY provider",
        merchant_id,
        mode,
    )
    out = []
    for r in rows:
        key = keyring.decrypt(str(r["key_enc"]), _context(merchant_id, mode, str(r["provider"])))
        out.append({"provider": str(r["provider"]), "mode": mode, "hint": "…" + key[-4:]})
    return out

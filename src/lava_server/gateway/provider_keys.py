"""Managed provider keys: the operator's own upstream API keys, encrypted at rest.

Set with ``lava provider-keys set --provider openai --key …``. A call whose forward token
carries no ``provider_key`` uses the managed key of the target provider for the merchant's
mode; if there is none the call is refused (never forwarded without credentials).
"""

from __future__ import annotations

from collections.abc import Mapping

from ..auth.cache import TtlCache
from ..auth.keyring import Keyring
from ..clock import now_us
from ..ids import Mode
from ..store import Database
from . import stored_keys


class ProviderKeyStore:
    def __init__(
        self,
        db: Database,
        keyring: Keyring,
        ttl_s: float = 30.0,
        fallback: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """``fallback``: keys to use when none is stored (only the demo's built-in provider)."""
        self._db = db
        self._keyring = keyring
        self._cache: TtlCache[tuple[str, str], str] = TtlCache(ttl_s, max_entries=1024)
        self._fallback = dict(fallback or {})

    async def get(self, provider: str, mode: Mode) -> str | None:
        cached = self._cache.get((provider, mode))
        if cached is not None:
            return cached or None
        row = await self._db.fetchone(
            "SELECT key_enc FROM provider_keys WHERE provider = $1 AND mode = $2", provider, mode
        )
        value = self._keyring.decrypt(row["key_enc"]) if row else self._fallback.get((provider, mode), "")
        self._cache.put((provider, mode), value)
        return value or None

    async def stored(self, merchant_id: str, mode: Mode, provider: str) -> str | None:
        """The key the merchant stored for ``provider`` (:mod:`.stored_keys`), or None."""
        return await stored_keys.get(self._db, self._keyring, merchant_id, mode, provider)

    async def set(self, provider: str, mode: Mode, key: str) -> None:
        if not key or len(key) > 4096 or any(c in key for c in "\r\n"):
            raise ValueError("provider key must be 1..4096 characters on one line")
        enc = self._keyring.encrypt(key)
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM provider_keys WHERE provider = $1 AND mode = $2", provider, mode)
            await tx.execute(
                "INSERT INTO provider_keys (provider, mode, key_enc, updated_at) VALUES ($1, $2, $3, $4)",
                provider,
                mode,
                enc,
                now_us(),
            )
        self._cache.invalidate((provider, mode))

    async def list(self) -> list[dict[str, str]]:
        rows = await self._db.fetchall("SELECT provider, mode, key_enc FROM provider_keys ORDER BY provider, mode")
        out = []
        for r in rows:
            key = self._keyring.decrypt(r["key_enc"])
            out.append({"provider": r["provider"], "mode": r["mode"], "hint": "…" + key[-4:]})
        return out

"""The authentication epoch: one counter bumped by every revocation, read by every replica's caches.

A secret key, customer or meter that is revoked bumps the counter in the revoking transaction.
Authentication caches remember the epoch they were filled under and drop everything when the
stored value differs, so a revocation committed on one replica is honoured by all of them on
their next request (one primary-key read), never after a cache TTL.
"""

from __future__ import annotations

from .base import Executor


async def bump_auth_epoch(tx: Executor) -> None:
    """Invalidate every replica's authentication caches (call inside the revoking transaction)."""
    await tx.execute("UPDATE auth_epoch SET value = value + 1 WHERE id = 1")


async def read_auth_epoch(ex: Executor) -> int:
    """The current epoch (0 before any revocation)."""
    value = await ex.fetchval("SELECT value FROM auth_epoch WHERE id = 1")
    return int(value or 0)

"""Idempotency keys of REST POSTs: claimed, finished with the response to replay, swept after expiry.

One row per ``(merchant_id, mode, idem_key)`` (migration 0007). The first request *claims* the
key (``status`` NULL, a random ``claim_token``, a lease); only the claim's owner may *complete*
it (store the response) or *release* it (delete it so a retry runs again). A claim whose lease
ran out (its owner died) may be *taken over*. Rows past ``expires_at`` are replaced on the next
claim and deleted by :func:`sweep`. Times are microseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from ..ids import Mode
from .base import Executor, Row

_PK = "merchant_id = $1 AND mode = $2 AND idem_key = $3"


@dataclass(frozen=True)
class StoredResponse:
    """A finished request's response: status, the headers worth replaying, and the body text."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: str


@dataclass(frozen=True)
class KeyRecord:
    """A key's row. ``response`` is None while its first request is still running."""

    fingerprint: str
    claim_token: str
    lease_until: int
    expires_at: int
    response: StoredResponse | None


def _record(row: Row) -> KeyRecord:
    response = None
    if row["status"] is not None:
        headers = tuple((str(k), str(v)) for k, v in orjson.loads(row["headers"] or "[]"))
        response = StoredResponse(int(row["status"]), headers, str(row["body"] or ""))
    return KeyRecord(
        fingerprint=str(row["fingerprint"]),
        claim_token=str(row["claim_token"]),
        lease_until=int(row["lease_until"]),
        expires_at=int(row["expires_at"]),
        response=response,
    )


async def claim(
    db: Executor,
    merchant_id: str,
    mode: Mode,
    key: str,
    *,
    fingerprint: str,
    token: str,
    now: int,
    lease_until: int,
    expires_at: int,
) -> bool:
    """Insert the key as running under ``token``; False when the key already exists."""
    changed = await db.execute(
        "INSERT INTO idempotency_keys (merchant_id, mode, idem_key, fingerprint, claim_token, lease_until,"
        " created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        " ON CONFLICT (merchant_id, mode, idem_key) DO NOTHING",
        merchant_id,
        mode,
        key,
        fingerprint,
        token,
        lease_until,
        now,
        expires_at,
    )
    return changed == 1


async def get(db: Executor, merchant_id: str, mode: Mode, key: str) -> KeyRecord | None:
    row = await db.fetchone(
        "SELECT fingerprint, claim_token, lease_until, expires_at, status, headers, body"
        f" FROM idempotency_keys WHERE {_PK}",
        merchant_id,
        mode,
        key,
    )
    return _record(row) if row is not None else None


async def delete_expired(db: Executor, merchant_id: str, mode: Mode, key: str, now: int) -> bool:
    """Delete this key if it has expired (so it can be claimed afresh)."""
    return (
        await db.execute(f"DELETE FROM idempotency_keys WHERE {_PK} AND expires_at <= $4", merchant_id, mode, key, now)
        == 1
    )


async def take_over(
    db: Executor, merchant_id: str, mode: Mode, key: str, *, old_token: str, token: str, now: int, lease_until: int
) -> bool:
    """Become the owner of a running claim whose lease has run out; False if someone else did."""
    changed = await db.execute(
        f"UPDATE idempotency_keys SET claim_token = $4, lease_until = $5 WHERE {_PK}"
        " AND claim_token = $6 AND status IS NULL AND lease_until < $7",
        merchant_id,
        mode,
        key,
        token,
        lease_until,
        old_token,
        now,
    )
    return changed == 1


async def complete(
    db: Executor, merchant_id: str, mode: Mode, key: str, *, token: str, response: StoredResponse, now: int
) -> bool:
    """Store the response of the claim ``token`` owns; False if it no longer owns it."""
    changed = await db.execute(
        f"UPDATE idempotency_keys SET status = $4, headers = $5, body = $6, completed_at = $7 WHERE {_PK}"
        " AND claim_token = $8 AND status IS NULL",
        merchant_id,
        mode,
        key,
        response.status,
        orjson.dumps([list(h) for h in response.headers]).decode(),
        response.body,
        now,
        token,
    )
    return changed == 1


async def release(db: Executor, merchant_id: str, mode: Mode, key: str, *, token: str) -> None:
    """Forget a running claim ``token`` owns (its request failed in a way a retry may fix)."""
    await db.execute(
        f"DELETE FROM idempotency_keys WHERE {_PK} AND claim_token = $4 AND status IS NULL",
        merchant_id,
        mode,
        key,
        token,
    )


async def sweep(db: Executor, now: int) -> int:
    """Delete every expired key; returns how many."""
    return await db.execute("DELETE FROM idempotency_keys WHERE expires_at <= $1", now)

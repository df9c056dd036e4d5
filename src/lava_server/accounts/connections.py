"""Create and delete connections (one wallet linked to one merchant)."""

from __future__ import annotations

from dataclasses import dataclass

from ..billing import subscriptions
from ..clock import now_us
from ..context import Services
from ..ids import CONNECTION, CONNECTION_SECRET, WALLET, new_secret
from ..store import Executor
from ..store import connections as repo
from ..store.merchants import MerchantKey
from ..store.outbox import Event


@dataclass(frozen=True)
class NewConnection:
    connection_id: str
    connection_secret: str
    wallet_id: str


async def create_connection(
    svc: Services,
    key: MerchantKey,
    *,
    reference_id: str | None = None,
    wallet: repo.WalletRecord | None = None,
    tx: Executor | None = None,
) -> NewConnection:
    """A new connection; with ``wallet`` given it links that existing wallet, else a new one."""
    if tx is None:
        async with svc.db.transaction() as own:
            return await create_connection(svc, key, reference_id=reference_id, wallet=wallet, tx=own)
    at = now_us()
    if wallet is None:
        wallet = repo.WalletRecord(svc.ids.new(WALLET, key.mode), key.mode)
        await repo.insert_wallet(tx, wallet, at)
    assert wallet.mode == key.mode, "test and live never mix"
    await svc.ledger.open_wallet_account(tx, wallet.id, key.mode)
    connection_id = svc.ids.new(CONNECTION, key.mode)
    secret = new_secret(CONNECTION_SECRET, key.mode)
    await repo.insert_connection(
        tx,
        connection_id=connection_id,
        merchant_id=key.merchant_id,
        mode=key.mode,
        wallet_id=wallet.id,
        secret_hash=svc.keyring.hash_secret(secret),
        secret_enc=svc.keyring.encrypt(secret),
        reference_id=reference_id,
        created_at=at,
    )
    await svc.outbox.add(tx, Event("customer.created", key.merchant_id, key.mode, connection_id))
    # Spec §4.6: every new customer starts on the merchant's default free plan.
    await subscriptions.join_default_plan(
        svc, tx, merchant_id=key.merchant_id, mode=key.mode, connection_id=connection_id, wallet_id=wallet.id
    )
    return NewConnection(connection_id, secret, wallet.id)

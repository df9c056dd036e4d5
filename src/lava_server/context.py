"""The server's shared services, built once at start-up and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from .auth.keyring import Keyring, load_master_key
from .auth.merchant_keys import KeyAuthenticator
from .billing.ledger import Ledger
from .events.endpoints import Webhooks
from .gateway.tokens import ForwardAuthenticator
from .ids import IdFactory
from .settings import Settings
from .store import Database, open_database
from .store.migrate import migrate
from .store.outbox import Outbox, OutboxPolicy


@dataclass
class Services:
    settings: Settings
    db: Database
    keyring: Keyring
    ids: IdFactory
    ledger: Ledger
    keys: KeyAuthenticator
    forward_auth: ForwardAuthenticator
    outbox: Outbox
    webhooks: Webhooks

    def forward_auth_changed(self, connection_id: str | None = None) -> None:
        """A secret or connection changed: drop cached authentication so it is re-read."""
        self.keys.forget_all()
        self.forward_auth.forget_all()

    async def close(self) -> None:
        await self.db.close()


async def open_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    keyring = Keyring(load_master_key(settings.master_key, settings.data_dir))
    db = await open_database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        if run_migrations:
            await migrate(db)
    except BaseException:
        await db.close()
        raise
    ids = IdFactory()
    keys = KeyAuthenticator(db, keyring, settings.auth_cache_ttl_s)
    hooks = settings.webhooks
    outbox = Outbox(
        ids,
        OutboxPolicy(
            max_attempts=hooks.max_attempts,
            coalesce_us=int(hooks.coalesce_s * 1_000_000),
            credits_low_units=hooks.credits_low_units,
        ),
    )
    return Services(
        settings=settings,
        db=db,
        keyring=keyring,
        ids=ids,
        ledger=Ledger(db, ids, outbox),
        keys=keys,
        forward_auth=ForwardAuthenticator(db, keyring, keys, settings.auth_cache_ttl_s),
        outbox=outbox,
        webhooks=Webhooks(db, keyring, ids, hooks),
    )

"""The server's shared services, built once at start-up and passed down explicitly."""

from __future__ import annotations

from dataclasses import dataclass

from .auth.forward_tokens import ForwardTokenAuthenticator
from .auth.keyring import Keyring, load_master_key
from .auth.merchant_keys import KeyAuthenticator
from .billing.deps import BillingDeps
from .billing.ledger import Ledger
from .billing.prices import LivePrices
from .billing.service import BillingService
from .events.endpoints import Webhooks
from .ids import IdFactory
from .settings import Settings
from .store import Database, open_database
from .store.migrate import migrate
from .store.outbox import Outbox, OutboxPolicy


@dataclass
class Services:
    """Everything built once per process; handlers and commands take what they need from it.

    ``billing`` is the one billing service (holds, settlement, manual metering); its
    ``deps`` are what reconciliation and repricing run on.
    """

    settings: Settings
    db: Database
    keyring: Keyring
    ids: IdFactory
    ledger: Ledger
    keys: KeyAuthenticator
    forward_auth: ForwardTokenAuthenticator
    outbox: Outbox
    webhooks: Webhooks
    billing: BillingService

    def forward_auth_changed(self, connection_id: str | None = None) -> None:
        """A secret or connection changed: drop cached authentication so it is re-read."""
        self.keys.forget_all()
        self.forward_auth.forget_all()

    async def close(self) -> None:
        await self.db.close()


async def open_services(settings: Settings, *, run_migrations: bool = True) -> Services:
    """Open the store (migrating it unless told not to) and build every service over it.

    The operator's price overrides (``settings.prices_file``) are read here and re-read when
    they change. Raises ``ValueError`` for a bad master key; the store's errors propagate.
    """
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
    ledger = Ledger(db, ids, outbox)
    billing_deps = BillingDeps(settings=settings, db=db, ids=ids, ledger=ledger, keyring=keyring)
    return Services(
        settings=settings,
        db=db,
        keyring=keyring,
        ids=ids,
        ledger=ledger,
        keys=keys,
        forward_auth=ForwardTokenAuthenticator(db, keyring, keys, settings.auth_cache_ttl_s),
        outbox=outbox,
        webhooks=Webhooks(db, keyring, ids, hooks),
        billing=BillingService(billing_deps, LivePrices(settings.prices_file)),
    )

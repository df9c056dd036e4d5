"""What billing needs from the running server, named one by one (built in ``context``).

Billing sits below the HTTP edge, auth and the gateway, so it never sees ``Services``: the
composition root (:func:`lava_server.context.open_services`) builds a :class:`BillingDeps` from
its parts and hands it to :class:`~lava_server.billing.service.BillingService`, reconciliation,
repricing and manual metering.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..ids import IdFactory
from ..settings import Settings
from ..store import Database
from .ledger import Ledger


class SecretHasher(Protocol):
    """Keyed hashing of a presented secret into its stored lookup hash (``auth.keyring.Keyring``)."""

    def hash_secret(self, secret: str) -> str: ...


@dataclass(frozen=True)
class BillingDeps:
    """Billing's dependencies.

    ``settings``: limits (hold sizes, hold lifetime) and the service-charge rate; ``db``: the
    store every billing transaction runs in; ``ids``: request ids; ``ledger``: the only writer
    of balances; ``keyring``: hashes connection and product secrets for manual metering.
    """

    settings: Settings
    db: Database
    ids: IdFactory
    ledger: Ledger
    keyring: SecretHasher

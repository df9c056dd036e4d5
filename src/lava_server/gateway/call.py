"""The forward gateway's long-lived parts (:class:`Gateway`) and one call in flight (:class:`Call`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import aiohttp

from ..billing.service import BillingService, Reservation
from ..settings import Settings
from ..store import Database
from .dialects import Dialect
from .provider_keys import ProviderKeyStore
from .targets import Target
from .tokens import ForwardAuthenticator


@dataclass
class Gateway:
    """Everything the forward handler shares across calls: built once at start-up."""

    settings: Settings
    auth: ForwardAuthenticator
    provider_keys: ProviderKeyStore
    billing: BillingService
    session: aiohttp.ClientSession
    drains: asyncio.Semaphore
    """Caps concurrent drains of upstreams whose client left (``max_concurrent_drains``)."""
    db: Database


@dataclass
class Call:
    """One forward call in flight: where it goes, how it is metered, and its open reservation."""

    target: Target
    dialect: Dialect | None
    body_json: dict[str, Any] | None
    res: Reservation
    strip: bool = False
    """The gateway asked for a usage-only chunk the client did not: drop it from the relay."""
    stream: bool = False
    """The client asked for a streamed response."""

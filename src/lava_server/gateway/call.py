"""The forward gateway's long-lived parts (:class:`Gateway`) and one call in flight (:class:`Call`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from ..billing.service import BillingService, Reservation
from ..settings import Settings
from ..store import Database
from .dialects import Dialect, StreamMeter
from .provider_keys import ProviderKeyStore
from .relay import Sink
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


class ResponseRewrite(Protocol):
    """How a ``/v1/rewrite`` call differs from a forward (``gateway/rewrite/handler.py``): its own
    upstream headers, and the answer rewritten into the client's format while the provider's
    dialect still meters the upstream's own bytes."""

    @property
    def stream_content_type(self) -> str:
        """The client's ``Content-Type`` for a streamed answer."""
        ...

    def upstream_headers(self, auth_header: tuple[str, str]) -> Mapping[str, str]:
        """The headers to send upstream (the client's were meant for another provider)."""
        ...

    def body(self, status: int, content_type: str, body: bytes) -> tuple[int, bytes, str]:
        """(status, body, content type) for the client, from the upstream's whole answer."""
        ...

    def sink(self, meter: StreamMeter) -> Sink:
        """A relay sink for one SSE answer: meters with ``meter``, relays the client's bytes."""
        ...


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
    rewrite: ResponseRewrite | None = None
    """Set for ``/v1/rewrite`` calls across formats."""

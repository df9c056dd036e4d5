"""The delivery worker: claims due deliveries under a lease, signs and POSTs them, records
every attempt, and schedules retries with backoff. At least once, unordered.

Every replica runs one worker. Durability comes from the store: an event exists once its
change committed (``store/outbox.py``); a delivery stays ``pending`` until an attempt succeeds
or the retries run out; a worker that dies mid-attempt leaves a lease that expires, after which
any worker sends again (the receiver deduplicates by event ``id``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
from aiohttp import web

from ..auth.keyring import Keyring
from ..clock import now_us, to_iso
from ..gateway.upstream import SafeResolver
from ..ids import IdFactory
from ..store import Database
from ..store import webhook_deliveries as deliveries
from ..store import webhook_endpoints as endpoints
from ..store.webhook_deliveries import AttemptRecord, Claimed
from . import signing
from .config import WebhookSettings
from .payload import render_data
from .safety import UnsafeTarget, check_target

log = logging.getLogger("lava.webhooks")
ATTEMPT = "wha"
USER_AGENT = "Lava-Webhooks/1"
PRUNE_EVERY_S = 3600.0
PRUNE_BATCH = 1000


@dataclass(frozen=True)
class SendResult:
    """What one HTTP attempt produced."""

    ok: bool
    status_code: int | None
    error: str | None
    excerpt: str | None


class DeliveryWorker:
    """One per process. ``run_once`` handles one batch (tests drive it directly); ``start``
    runs batches until ``stop``."""

    def __init__(
        self, db: Database, keyring: Keyring, ids: IdFactory, settings: WebhookSettings, *, name: str | None = None
    ) -> None:
        self._db = db
        self._keyring = keyring
        self._ids = ids
        self.settings = settings
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{ids.ulid()[-8:]}"
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._pruned_at = 0.0  # monotonic time of the last prune

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                resolver=SafeResolver(self.settings.allowed_hosts), limit=100, enable_cleanup_closed=True
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.settings.timeout_s),
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and attempt each; returns how many were attempted."""
        at = now_us()
        due = await self._db.fetchval(
            "SELECT 1 FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1 LIMIT 1", at
        )
        if due is None:
            return 0
        lease_us = int(self.settings.lease_s * 1_000_000)
        async with self._db.transaction() as tx:
            claimed = await deliveries.claim(
                tx, worker=self.name, now=at, lease_us=lease_us, limit=self.settings.batch_size
            )
        await asyncio.gather(*(self._attempt(c) for c in claimed))
        return len(claimed)

    async def _attempt(self, c: Claimed) -> None:
        try:
            await self._attempt_unguarded(c)
        except Exception:  # a worker never dies of one delivery; its lease expires and it is retried
            log.exception("webhook delivery of %s to %s failed unexpectedly", c.event_id, c.endpoint_id)

    async def _attempt_unguarded(self, c: Claimed) -> None:
        endpoint = await endpoints.get_endpoint_by_id(self._db, c.endpoint_id)
        if endpoint is None:
            return
        data = c.payload
        if data is None:
            async with self._db.transaction() as tx:
                data = await deliveries.freeze_payload(tx, c.event_id, await render_data(tx, c))
        started = now_us()
        body = signing.envelope(
            event_id=c.event_id,
            event_type=c.type,
            occurred_at_us=c.created_at,
            created_at_us=started,
            data=orjson.loads(data),
        )
        clock = time.monotonic()
        result = await self._send(endpoint.url, body, self._keyring.decrypt(endpoint.secret_enc), c.event_id)
        latency_ms = int((time.monotonic() - clock) * 1000)
        attempt = c.attempts + 1
        schedule = self.settings.retry_schedule_s
        next_at = started + int(schedule[attempt - 1] * 1_000_000) if attempt <= len(schedule) else None
        rec = AttemptRecord(
            id=self._ids.new(ATTEMPT, c.mode),
            event_id=c.event_id,
            endpoint_id=c.endpoint_id,
            attempt=attempt,
            worker=self.name,
            started_at=started,
            latency_ms=latency_ms,
            outcome="delivered" if result.ok else "failed",
            status_code=result.status_code,
            error=result.error,
            response_excerpt=result.excerpt,
        )
        disabled = False
        async with self._db.transaction() as tx:
            recorded = await deliveries.finish_attempt(tx, rec, next_attempt_at=next_at, max_attempts=c.max_attempts)
            if recorded and result.ok:
                await endpoints.note_success(tx, c.endpoint_id)
            elif recorded:
                disabled = await endpoints.note_failure(
                    tx, c.endpoint_id, started, int(self.settings.disable_after_s * 1_000_000)
                )
        if not recorded:
            log.warning("webhook %s to %s: lease lost before the attempt was recorded", c.event_id, c.endpoint_id)
        if disabled:
            since = endpoint.failing_since or started
            log.warning(
                "webhook endpoint %s (%s) disabled: every delivery has failed since %s",
                endpoint.id,
                endpoint.url,
                to_iso(since),
            )

    async def _send(self, url: str, body: bytes, secret: str, event_id: str) -> SendResult:
        """One bounded attempt: the URL rules (DNS included), connect, send, status and at most
        ``max_response_bytes`` of the answer, all within ``timeout_s``."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            signing.SIGNATURE_HEADER: signing.sign(body, secret),
            signing.EVENT_ID_HEADER: event_id,
        }
        try:
            async with asyncio.timeout(self.settings.timeout_s):
                await check_target(url, self.settings.allowed_hosts, require_resolution=True)
                async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as resp:
                    raw = await resp.content.read(self.settings.max_response_bytes)
                    status = resp.status
        except UnsafeTarget as exc:
            return SendResult(False, None, f"refused: {exc}", None)
        except TimeoutError:
            return SendResult(False, None, f"timed out after {self.settings.timeout_s:g} s", None)
        except Exception as exc:  # connection refused, DNS, TLS, blocked address: all a failed attempt
            return SendResult(False, None, f"{type(exc).__name__}: {exc}"[:500], None)
        excerpt = raw.decode("utf-8", "replace")[: self.settings.excerpt_chars]
        ok = 200 <= status < 300
        return SendResult(ok, status, None if ok else f"HTTP {status}", excerpt)

    async def prune(self) -> int:
        """Delete finished events older than the retention period; returns how many."""
        before = now_us() - int(self.settings.retention_s * 1_000_000)
        total = 0
        while True:
            async with self._db.transaction() as tx:
                gone = await deliveries.prune(tx, before=before, limit=PRUNE_BATCH)
            total += gone
            if gone < PRUNE_BATCH:
                return total

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                if time.monotonic() - self._pruned_at > PRUNE_EVERY_S:
                    self._pruned_at = time.monotonic()
                    await self.prune()
                done = await self.run_once()
            except Exception:
                log.exception("webhook worker batch failed")
                done = 0
            if done == 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), self.settings.poll_interval_s)
                except TimeoutError:
                    pass

    def start(self) -> None:
        """Run batches in the background until :meth:`stop`."""
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name="lava-webhook-worker")

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None


WORKER: web.AppKey[DeliveryWorker] = web.AppKey("lava_webhook_worker", DeliveryWorker)


def setup(app: web.Application, db: Database, keyring: Keyring, ids: IdFactory, settings: WebhookSettings) -> None:
    """Run a delivery worker for the application's lifetime (unless ``LAVA_WEBHOOK_WORKER=0``)."""
    if not settings.worker:
        return

    async def lifetime(app: web.Application) -> AsyncIterator[None]:
        worker = DeliveryWorker(db, keyring, ids, settings)
        app[WORKER] = worker
        worker.start()
        yield
        await worker.stop()

    app.cleanup_ctx.append(lifetime)

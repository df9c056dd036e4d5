"""``Idempotency-Key`` on every authenticated REST POST, as Stripe does it.

A POST under ``/v1/`` that carries ``Idempotency-Key`` and a valid secret key is run at most once
per (merchant, mode, key) for ``Limits.idempotency_ttl_s`` (24 hours):

- the first request claims the key with a fingerprint of the request (method, path, query and
  the body, JSON canonicalised), runs, and stores the response its handler *returns* (status,
  headers, body) when the status is below 500. A raised error (``ApiError``: validation,
  402, conflicts; or any exception) or a 5xx releases the key so a retry runs again: handlers
  raise only before anything is committed, so nothing was applied;
- a retry with the same fingerprint gets the stored response again, with
  ``Idempotent-Replayed: true``;
- the same key with a different request is 409 ``idempotency_conflict``;
- a duplicate that arrives while the first still runs waits for it (polling, at most
  ``Limits.idempotency_wait_s``) and returns its response, else 409 ``idempotency_in_progress``
  with ``Retry-After``; a claim whose owner died is taken over after ``Limits.idempotency_lease_s``.

Stored bodies are encrypted at rest (the keyring's AES-GCM, bound to merchant, mode and key):
responses such as ``POST /v1/secret_keys``, ``/v1/spend_keys`` and ``/v1/webhooks`` carry a secret
shown once, and a replay must return the same body without the database ever holding it raw.
Rows written before encryption (plain JSON, at most 24 hours old) still replay as they are.

Not covered: ``/v1/forward`` and ``/v1/rewrite`` (gateway calls; on forward the header goes to
the provider unchanged) and side-effect-free POSTs (``/v1/quote``); see docs/decisions.md. The
middleware knows no endpoint, so every POST endpoint added later is covered. A request without
the header, or whose secret key does not authenticate, passes through untouched (the handler
answers it as usual).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.typedefs import Middleware

from ..auth.keyring import Keyring
from ..clock import now_us
from ..errors import ApiError
from ..settings import Limits
from ..store import Database
from ..store import idempotency as repo
from ..store.merchants import MerchantKey
from .deps import services
from .jsonio import read_body_bytes

log = logging.getLogger("lava.api")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")
# POSTs that change nothing: a stored answer would only go stale.
SIDE_EFFECT_FREE = frozenset({"/v1/quote"})
# Response headers not worth replaying (recomputed per response).
_UNREPLAYED = frozenset({"content-length", "date", "server", "transfer-encoding", "connection", "keep-alive"})
_POLL_FIRST_S = 0.01
_POLL_MAX_S = 0.25


def covered(request: web.Request) -> bool:
    """Whether the middleware applies: an authenticated-REST POST path (not the gateway)."""
    path = request.path
    return (
        request.method == "POST"
        and path.startswith("/v1/")
        and not (path == "/v1/forward" or path.startswith(("/v1/forward/", "/v1/rewrite/")))
        and path not in SIDE_EFFECT_FREE
    )


def fingerprint(request: web.Request, body: bytes) -> str:
    """SHA-256 of method, path, query and body (a JSON body with its keys sorted)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body.strip() else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.query_string.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_SEALED_PREFIX = "v1."  # Keyring.encrypt's output; a JSON body never starts with it


def _seal(keyring: Keyring, context: str, stored: repo.StoredResponse) -> repo.StoredResponse:
    """The response with its body encrypted under ``context`` (merchant, mode and key)."""
    return repo.StoredResponse(stored.status, stored.headers, keyring.encrypt(stored.body, context))


def _unseal(keyring: Keyring, context: str, stored: repo.StoredResponse) -> repo.StoredResponse:
    """The stored response with its body decrypted (a legacy plaintext row is returned as is)."""
    if not stored.body.startswith(_SEALED_PREFIX):
        return stored
    return repo.StoredResponse(stored.status, stored.headers, keyring.decrypt(stored.body, context))


def _replay(stored: repo.StoredResponse) -> web.Response:
    response = web.Response(status=stored.status, body=stored.body.encode("utf-8"))
    for name, value in stored.headers:
        response.headers.add(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _storable(response: web.StreamResponse) -> repo.StoredResponse | None:
    if not isinstance(response, web.Response) or response.status >= 500 or not isinstance(response.body, bytes):
        return None
    try:
        text = response.body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    headers = tuple((k, v) for k, v in response.headers.items() if k.lower() not in _UNREPLAYED)
    return repo.StoredResponse(response.status, headers, text)


class _Run:
    """One covered request: claim or wait for the key, then run or replay."""

    def __init__(
        self, db: Database, keyring: Keyring, limits: Limits, merchant: MerchantKey, key: str, fingerprint: str
    ) -> None:
        self.db, self.keyring, self.limits, self.key, self.fp = db, keyring, limits, key, fingerprint
        self.merchant_id, self.mode = merchant.merchant_id, merchant.mode
        self.token = secrets.token_hex(16)
        self.context = orjson.dumps(["idempotency", self.merchant_id, self.mode, key]).decode("utf-8")

    def _times(self) -> tuple[int, int, int]:
        now = now_us()
        return now, now + int(self.limits.idempotency_lease_s * 1e6), now + int(self.limits.idempotency_ttl_s * 1e6)

    async def _claim(self) -> bool:
        now, lease_until, expires_at = self._times()
        return await repo.claim(
            self.db,
            self.merchant_id,
            self.mode,
            self.key,
            fingerprint=self.fp,
            token=self.token,
            now=now,
            lease_until=lease_until,
            expires_at=expires_at,
        )

    def _conflict(self) -> ApiError:
        return ApiError(
            409,
            "idempotency_conflict",
            f"{HEADER} {self.key!r} was already used with a different request (method, path or body); "
            "use a new key for a new request",
        )

    async def acquire(self) -> repo.StoredResponse | None:
        """Own the key (returns None) or return the response to replay; raises 409s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.limits.idempotency_wait_s
        pause = _POLL_FIRST_S
        while True:
            if await self._claim():
                return None
            found = await repo.get(self.db, self.merchant_id, self.mode, self.key)
            now, lease_until, _ = self._times()
            if found is None:
                continue  # released (or swept) in between: claim again
            if found.expires_at <= now:
                await repo.delete_expired(self.db, self.merchant_id, self.mode, self.key, now)
                continue
            if found.fingerprint != self.fp:
                raise self._conflict()
            if found.response is not None:
                return _unseal(self.keyring, self.context, found.response)
            if found.lease_until < now and await repo.take_over(
                self.db,
                self.merchant_id,
                self.mode,
                self.key,
                old_token=found.claim_token,
                token=self.token,
                now=now,
                lease_until=lease_until,
            ):
                log.warning("idempotency key taken over after its lease ran out (merchant %s)", self.merchant_id)
                return None
            if loop.time() >= deadline:
                raise ApiError(
                    409,
                    "idempotency_in_progress",
                    f"a request with {HEADER} {self.key!r} is still running; retry shortly",
                    headers={"Retry-After": "1"},
                )
            await asyncio.sleep(pause)
            pause = min(pause * 2, _POLL_MAX_S)

    async def finish(self, response: web.StreamResponse | None) -> None:
        """Store a storable response; otherwise release the key so a retry runs again."""
        stored = _storable(response) if response is not None else None
        try:
            if stored is None:
                await repo.release(self.db, self.merchant_id, self.mode, self.key, token=self.token)
            elif not await repo.complete(
                self.db,
                self.merchant_id,
                self.mode,
                self.key,
                token=self.token,
                response=_seal(self.keyring, self.context, stored),
                now=now_us(),
            ):
                log.warning("idempotency key lost its claim before completing (merchant %s)", self.merchant_id)
        except Exception:  # the response is still right; a retry waits for the lease to run out
            log.exception("could not record the idempotency key's outcome (merchant %s)", self.merchant_id)


def idempotency_middleware() -> Middleware:
    """The middleware (see the module docstring); place it inside the error middleware."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get(HEADER)
        if key is None or not covered(request) or request.match_info.http_exception is not None:
            return await handler(request)
        svc = services(request)
        try:
            merchant = await svc.keys.authenticate(request.headers.get("Authorization"))
        except ApiError:
            return await handler(request)  # the handler gives the authentication error
        if not KEY_RE.match(key):
            raise ApiError(400, "invalid_request", f"{HEADER} must be 1 to 255 printable ASCII characters")
        body = await read_body_bytes(request, svc.settings.limits.max_api_body_bytes)
        run = _Run(svc.db, svc.keyring, svc.settings.limits, merchant, key, fingerprint(request, body))
        stored = await run.acquire()
        if stored is not None:
            return _replay(stored)
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            return response
        finally:
            await asyncio.shield(run.finish(response))

    return middleware

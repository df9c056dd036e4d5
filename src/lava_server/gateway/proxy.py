"""The forward request lifecycle: target → token → plan → record → upstream → meter → settle.

Every call that passes authentication ends as a request record: ``completed`` with the
usage the provider reported (or a marked estimate), or ``error`` with nothing charged. This
module takes a call as far as the upstream's response headers; :mod:`.deliver` relays the
answer and :mod:`.settle` concludes it (the one settle-or-fail path).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from ..billing.service import Reservation
from ..errors import ApiError
from ..store.requests import merchant_has_response
from .call import Call, Gateway, ResponseRewrite
from .deliver import Unanswered, deliver_buffered, deliver_stream, error_response, read_whole
from .dialects import select_dialect
from .dialects._base import is_sse_content
from .injection import injected_fields, names_injected
from .metadata import collect_metadata
from .outcome import build_plan
from .request_fields import request_fields
from .settle import Ending, conclude
from .targets import Target, resolve_target
from .tokens import ForwardAuth, extract_token
from .upstream import UpstreamBlocked, client_response_headers, upstream_request_headers

__all__ = ["ForwardHandler", "Gateway"]

log = logging.getLogger("lava.gateway")

FORWARD_PREFIX = "/v1/forward"
MODEL_LISTING = re.compile(r"/models(?:/[^/:]+)?$")
REJECTION_STATUSES = (400, 422)  # how providers refuse a request field they do not know


def _passthrough_allowed(method: str, path: str, *, managed: bool) -> bool:
    """Unmetered calls: only reads. With the operator's (shared) key only model listings, so no
    merchant can read the provider account's stored files, responses or caches."""
    if method not in ("GET", "HEAD"):
        return False
    return not managed or bool(MODEL_LISTING.search(path))


def _raw_suffix(request: web.Request) -> str:
    """The raw (still percent-encoded) path after ``/v1/forward/``; ``""`` for ``/v1/forward[/]``."""
    raw_path = request.rel_url.raw_path
    return raw_path[len(FORWARD_PREFIX) :].lstrip("/") if raw_path.startswith(FORWARD_PREFIX) else ""


def _with_capabilities(target: Target, refused_hosts: tuple[str, ...]) -> Target:
    """Apply the operator's per-host capabilities (``LAVA_NO_STREAM_USAGE_OPTION_HOSTS``)."""
    if target.host in refused_hosts and target.provider.accepts_stream_usage_option is not False:
        return replace(target, provider=replace(target.provider, accepts_stream_usage_option=False))
    return target


@dataclass(frozen=True, slots=True)
class Authorized:
    """Who is calling (their forward credentials) and the upstream key the call will use."""

    auth: ForwardAuth
    upstream_key: str
    stored_key: bool = False
    """The key is the merchant's stored key for the provider (billed like BYOK)."""


class ForwardHandler:
    """``/v1/forward``: authenticate, open the reservation, forward, deliver, conclude."""

    def __init__(self, gateway: Gateway) -> None:
        self.gw = gateway

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        settings = self.gw.settings
        target = resolve_target(
            request.rel_url.raw_query_string,
            upstream_map=settings.upstream_map,
            extra_hosts=settings.extra_upstream_hosts,
            raw_suffix=_raw_suffix(request),
        )
        target = _with_capabilities(target, settings.no_stream_usage_option_hosts)
        who = await self.authorize(request, target)
        body = await self.read_body(request)
        body_json = request_fields(body, request.headers.get("Content-Type", ""), target.query)
        return await self.dispatch(request, target, who, body, body_json)

    async def authorize(self, request: web.Request, target: Target) -> Authorized:
        """The caller's forward credentials and the upstream key to use (``/v1/rewrite`` too)."""
        token, _carrier = extract_token(request.headers, target.key_param)
        auth = await self.gw.auth.authenticate(token)
        stored = None  # spec 2.3 "Key choice": the merchant's stored key, else the operator's
        if auth.provider_key is None:
            stored = await self.gw.provider_keys.stored(
                auth.merchant.merchant_id, auth.merchant.mode, target.provider.slug
            )
            auth = auth if stored is None else replace(auth, provider_key=stored)  # billed like BYOK
        upstream_key = auth.provider_key or await self.gw.provider_keys.get(target.provider.slug, auth.merchant.mode)
        if upstream_key is None:
            raise ApiError(
                403,
                "provider_not_configured",
                f"this gateway holds no {target.provider.slug} key; put provider_key in the forward token",
            )
        return Authorized(auth, upstream_key, stored_key=stored is not None)

    async def read_body(self, request: web.Request) -> bytes:
        try:
            async with asyncio.timeout(self.gw.settings.limits.client_body_timeout_s):
                return await request.read()
        except TimeoutError:
            raise ApiError(408, "request_timeout", "the request body did not arrive in time") from None

    async def dispatch(
        self,
        request: web.Request,
        target: Target,
        who: Authorized,
        body: bytes,
        body_json: dict[str, Any] | None,
        *,
        rewrite: ResponseRewrite | None = None,
        client_format: str | None = None,
    ) -> web.StreamResponse:
        """Meter, hold, forward and conclude one authorised call (``body`` is what goes upstream)."""
        auth, upstream_key = who.auth, who.upstream_key
        dialect = select_dialect(target.provider, request.method, target.path)
        if dialect is None and not _passthrough_allowed(request.method, target.path, managed=auth.provider_key is None):
            raise ApiError(
                400,
                "unmetered_endpoint",
                f"the gateway cannot meter {request.method} {target.path} on {target.provider.slug}; it forwards "
                "only calls it can bill (and, with the operator's key, model listings); "
                "use your own provider_key for other reads",
            )
        metadata = collect_metadata(request.raw_headers, target.metadata_param)
        plan = build_plan(target, auth, dialect, request.method, body_json, metadata)
        plan = plan if not who.stored_key else replace(plan, stored_key=True)
        if client_format is not None:
            plan = replace(plan, client_format=client_format)
        if plan.fetched_response_id is not None and auth.provider_key is None:
            await self._check_response_owner(auth, plan.fetched_response_id)
        stream = dialect.wants_stream(target.path, target.query, body_json) if dialect else False
        reservation = await self.gw.billing.open(plan)
        try:
            call = Call(target, dialect, body_json, reservation, stream=stream, rewrite=rewrite)
            return await self._forward(request, call, upstream_key, body)
        except BaseException as exc:
            if not reservation.finished:  # a bug or a cancellation: never left pending, never charged
                ending = Ending(None, failure=f"gateway failure: {type(exc).__name__}")
                await asyncio.shield(conclude(self.gw.billing, reservation, ending))
            raise

    async def _check_response_owner(self, auth: ForwardAuth, response_id: str) -> None:
        """With the operator's shared key, a stored response may only be fetched by the merchant
        whose call created it (otherwise any merchant could read any other's by id)."""
        if not await merchant_has_response(self.gw.db, auth.merchant.merchant_id, auth.merchant.mode, response_id):
            raise ApiError(404, "not_found", f"no response {response_id!r} was created by this merchant's calls")

    async def _forward(self, request: web.Request, call: Call, upstream_key: str, body: bytes) -> web.StreamResponse:
        """Send the call upstream (at most twice: see :mod:`.injection`) and deliver its answer."""
        target, dialect, res = call.target, call.dialect, call.res
        sent = body
        injected: tuple[str, ...] = ()
        if dialect is not None and call.body_json is not None and dialect.billable:
            prep = dialect.prepare(call.body_json, call.stream)
            if prep.body is not None:
                sent, injected = orjson.dumps(prep.body), injected_fields(call.body_json, prep.body)
            call.strip = prep.strip_usage_chunk
        auth_header = target.provider.auth_header(upstream_key)
        if call.rewrite is not None:
            headers: Mapping[str, str] = call.rewrite.upstream_headers(auth_header)
        else:
            headers = upstream_request_headers(request.headers, auth_header)
        async with contextlib.AsyncExitStack() as responses:
            upstream = await self._send(responses, request.method, target, sent, headers)
            if isinstance(upstream, Unanswered):
                return await self._unanswered(res, upstream)
            refusal: bytes | None = None
            if injected and upstream.status in REJECTION_STATUSES:
                limits = self.gw.settings.limits
                read = await read_whole(upstream, limits.upstream_read_timeout_s, limits.max_upstream_body_bytes)
                if isinstance(read, Unanswered):
                    return await self._unanswered(res, read)
                refusal = read
            if refusal is not None and names_injected(refusal, injected):
                log.warning(
                    "%s refused the injected %s; retrying once without it "
                    "(LAVA_NO_STREAM_USAGE_OPTION_HOSTS skips the first try)",
                    target.host,
                    ", ".join(injected),
                )
                upstream.release()
                call.strip, refusal = False, None
                upstream = await self._send(responses, request.method, target, body, headers)
                if isinstance(upstream, Unanswered):
                    return await self._unanswered(res, upstream)
            out_headers = client_response_headers(upstream.headers, res.record.id)
            ok = 200 <= upstream.status < 300 and refusal is None
            sse = is_sse_content(upstream.headers.get("Content-Type", ""))
            # A rewrite translates SSE only; anything else is translated whole.
            streamed = sse or (call.stream and call.rewrite is None)
            if ok and streamed and dialect is not None and dialect.billable:
                return await deliver_stream(self.gw, request, upstream, out_headers, call)
            return await deliver_buffered(self.gw, upstream, out_headers, call, refusal)

    async def _unanswered(self, res: Reservation, why: Unanswered) -> web.StreamResponse:
        await conclude(self.gw.billing, res, Ending(None, failure=why.reason))
        return error_response(why.error, res.record.id)

    async def _send(
        self, responses: contextlib.AsyncExitStack, method: str, target: Target, body: bytes, headers: Any
    ) -> aiohttp.ClientResponse | Unanswered:
        """The upstream's response headers (the response is closed with ``responses``), or why
        there are none (the call then fails)."""
        limits = self.gw.settings.limits
        upstream_cm = self.gw.session.request(
            method,
            target.upstream_url,
            data=body if body else None,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(
                connect=limits.upstream_connect_timeout_s,
                sock_connect=limits.upstream_connect_timeout_s,
                sock_read=limits.upstream_read_timeout_s,
            ),
        )
        try:
            async with asyncio.timeout(limits.upstream_read_timeout_s + limits.upstream_connect_timeout_s):
                upstream = await upstream_cm.__aenter__()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            err = ApiError(504, "upstream_timeout", "the provider did not respond in time")
            return Unanswered("upstream timed out before responding", err)
        except (aiohttp.ClientError, UpstreamBlocked, OSError, ValueError) as exc:
            err = ApiError(502, "upstream_unreachable", f"could not reach {target.host}: {type(exc).__name__}")
            return Unanswered(f"upstream unreachable: {type(exc).__name__}", err)
        responses.push_async_exit(upstream_cm)
        return upstream

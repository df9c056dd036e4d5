"""The forward request lifecycle: target → token → plan → record → upstream → meter → settle.

Every call that passes authentication ends as a request record: ``completed`` with the
usage the provider reported (or a marked estimate), or ``error`` with nothing charged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from ..billing.fees import UnitCounts
from ..billing.service import BillingService, Outcome, Reservation
from ..errors import ApiError
from ..money import to_wire
from ..settings import Settings
from ..store import Database
from ..store.requests import merchant_has_response
from .dialects import Dialect, select_dialect
from .metadata import collect_metadata
from .outcome import build_plan, failure_outcome, outcome_of
from .provider_keys import ProviderKeyStore
from .relay import CLIENT_GONE, relay_stream, write_to_client
from .request_fields import request_fields
from .targets import Target, resolve_target
from .tokens import ForwardAuth, ForwardAuthenticator, extract_token
from .upstream import UpstreamBlocked, client_response_headers, upstream_request_headers

log = logging.getLogger("lava.gateway")


@dataclass
class Gateway:
    settings: Settings
    auth: ForwardAuthenticator
    provider_keys: ProviderKeyStore
    billing: BillingService
    session: aiohttp.ClientSession
    drains: asyncio.Semaphore
    db: Database


@dataclass
class Call:
    """One forward call in flight."""

    target: Target
    dialect: Dialect | None
    body_json: dict[str, Any] | None
    res: Reservation
    strip: bool = False
    stream: bool = False


def _error_response(err: ApiError, request_id: str | None) -> web.Response:
    headers = {"Content-Type": "application/json", **({"x-lava-request-id": request_id} if request_id else {})}
    return web.Response(body=orjson.dumps(err.body()), status=err.status, headers=headers)


FORWARD_PREFIX = "/v1/forward"


def _abort(request: web.Request) -> None:
    """The upstream failed mid-body: cut the client connection too, without the terminating
    chunk, so the client sees a truncated response instead of a clean (but partial) end."""
    if request.transport is not None and not request.transport.is_closing():
        request.transport.abort()


MODEL_LISTING = re.compile(r"/models(?:/[^/:]+)?$")


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


class ForwardHandler:
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
        token, _carrier = extract_token(request.headers, target.key_param)
        auth = await self.gw.auth.authenticate(token)
        upstream_key = auth.provider_key or await self.gw.provider_keys.get(target.provider.slug, auth.merchant.mode)
        if upstream_key is None:
            raise ApiError(
                403,
                "provider_not_configured",
                f"this gateway holds no {target.provider.slug} key; put provider_key in the forward token",
            )
        try:
            async with asyncio.timeout(self.gw.settings.limits.client_body_timeout_s):
                body = await request.read()
        except TimeoutError:
            raise ApiError(408, "request_timeout", "the request body did not arrive in time") from None
        body_json = request_fields(body, request.headers.get("Content-Type", ""), target.query)
        dialect = select_dialect(target.provider, request.method, target.path)
        if dialect is None and not _passthrough_allowed(request.method, target.path, managed=auth.provider_key is None):
            raise ApiError(
                400,
                "unmetered_endpoint",
                f"the gateway cannot meter {request.method} {target.path} on {target.provider.slug}; it forwards "
                "only calls it can bill (and, with the operator's key, model listings); "
                "use your own provider_key for other reads",
            )
        if dialect is not None and auth.provider_key is None and request.method == "GET":
            await self._check_response_owner(auth, dialect, target.path)
        stream = dialect.wants_stream(target.path, target.query, body_json) if dialect else False
        metadata = collect_metadata(request.raw_headers, target.metadata_param)
        plan = build_plan(target, auth, dialect, request.method, body_json, metadata)
        reservation = await self.gw.billing.open(plan)
        try:
            call = Call(target, dialect, body_json, reservation, stream=stream)
            return await self._forward(request, call, upstream_key, body, stream)
        except BaseException as exc:
            if not reservation.finished:
                await asyncio.shield(self.gw.billing.fail(reservation, f"gateway failure: {type(exc).__name__}"))
            raise

    async def _check_response_owner(self, auth: ForwardAuth, dialect: Dialect, path: str) -> None:
        """With the operator's shared key, a stored response may only be fetched by the merchant
        whose call created it (otherwise any merchant could read any other's by id)."""
        if not dialect.name.startswith("openai.responses"):
            return
        response_id = path.rstrip("/").rsplit("/", 1)[-1]
        if not await merchant_has_response(self.gw.db, auth.merchant.merchant_id, auth.merchant.mode, response_id):
            raise ApiError(404, "not_found", f"no response {response_id!r} was created by this merchant's calls")

    async def _forward(
        self, request: web.Request, call: Call, upstream_key: str, body: bytes, stream: bool
    ) -> web.StreamResponse:
        limits = self.gw.settings.limits
        target, dialect, res = call.target, call.dialect, call.res
        rid = res.record.id
        if dialect is not None and call.body_json is not None and dialect.billable:
            prep = dialect.prepare(call.body_json, stream)
            if prep.body is not None:
                body = orjson.dumps(prep.body)
            call.strip = prep.strip_usage_chunk
        headers = upstream_request_headers(request.headers, target.provider.auth_header(upstream_key))
        try:
            upstream_cm = self.gw.session.request(
                request.method,
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
            async with asyncio.timeout(limits.upstream_read_timeout_s + limits.upstream_connect_timeout_s):
                upstream = await upstream_cm.__aenter__()
        except (TimeoutError, aiohttp.ServerTimeoutError):
            await self.gw.billing.fail(res, "upstream timed out before responding")
            return _error_response(ApiError(504, "upstream_timeout", "the provider did not respond in time"), rid)
        except (aiohttp.ClientError, UpstreamBlocked, OSError, ValueError) as exc:
            await self.gw.billing.fail(res, f"upstream unreachable: {type(exc).__name__}")
            return _error_response(
                ApiError(502, "upstream_unreachable", f"could not reach {target.host}: {type(exc).__name__}"), rid
            )
        try:
            ctype = upstream.headers.get("Content-Type", "")
            out_headers = client_response_headers(upstream.headers, rid)
            ok = 200 <= upstream.status < 300
            if ok and dialect is not None and dialect.billable and ctype.startswith("text/event-stream"):
                return await self._relay(request, upstream, out_headers, call)
            if ok and dialect is not None and dialect.billable and call.stream:
                return await self._relay_body(request, upstream, out_headers, ctype, call)
            return await self._buffered(upstream, out_headers, ctype, call)
        finally:
            await upstream_cm.__aexit__(None, None, None)

    async def _buffered(
        self, upstream: aiohttp.ClientResponse, out_headers: Any, ctype: str, call: Call
    ) -> web.StreamResponse:
        limits = self.gw.settings.limits
        res, dialect, provider = call.res, call.dialect, call.target.provider
        buf = bytearray()
        try:
            async with asyncio.timeout(limits.upstream_read_timeout_s):
                async for chunk in upstream.content.iter_any():
                    buf.extend(chunk)
                    if len(buf) > limits.max_upstream_body_bytes:
                        await self.gw.billing.fail(res, "upstream response too large")
                        return _error_response(
                            ApiError(502, "upstream_response_too_large", "the provider's response exceeded the limit"),
                            res.record.id,
                        )
        except TimeoutError:
            await self.gw.billing.fail(res, "upstream timed out while sending its body")
            return _error_response(
                ApiError(504, "upstream_timeout", "the provider did not finish in time"), res.record.id
            )
        except (aiohttp.ClientError, ConnectionError) as exc:
            await self.gw.billing.fail(res, f"upstream body failed: {type(exc).__name__}")
            return _error_response(
                ApiError(502, "upstream_unreachable", "the provider closed the connection mid-response"), res.record.id
            )
        body = bytes(buf)
        if dialect is None:
            await self.gw.billing.settle(res, Outcome(UnitCounts(), None, None, None))
        elif not (200 <= upstream.status < 300):
            metered = dialect.meter_body(upstream.status, ctype, body, call.body_json, provider)
            await self.gw.billing.fail(
                res, metered.error or f"upstream status {upstream.status}", failure_outcome(metered)
            )
        elif not dialect.billable:
            await self.gw.billing.settle(res, Outcome(UnitCounts(), None, res.plan.model, None))
        else:
            metered = dialect.meter_body(upstream.status, ctype, body, call.body_json, provider)
            if metered.error:
                await self.gw.billing.fail(res, metered.error, failure_outcome(metered))
            else:
                estimate = UnitCounts(input_tokens=res.plan.prompt_tokens_estimate)
                await self.gw.billing.settle(res, outcome_of(metered, estimate=estimate))
        out_headers["x-lava-request-cost"] = to_wire(res.record.total_request_cost)
        if res.balance_after is not None:
            out_headers["x-lava-balance"] = to_wire(res.balance_after)
        return web.Response(status=upstream.status, body=body, headers=out_headers)

    async def _relay_body(
        self, request: web.Request, upstream: aiohttp.ClientResponse, out_headers: Any, ctype: str, call: Call
    ) -> web.StreamResponse:
        """A streamed body that is not SSE (Gemini's JSON-array stream without ``alt=sse``):
        relayed chunk by chunk as it arrives (docs/design.md "Streaming": never buffered whole for the
        client), metered from the accumulated body at its end. After a client disconnect the
        upstream is still read to the end (its usage is in the last element), bounded by the
        drain timeout."""
        limits = self.gw.settings.limits
        res, dialect = call.res, call.dialect
        assert dialect is not None
        response = web.StreamResponse(status=upstream.status, headers=out_headers)
        client_gone = False
        try:
            async with asyncio.timeout(limits.client_write_timeout_s):
                await response.prepare(request)
        except (*CLIENT_GONE, TimeoutError):
            client_gone = True
        buf = bytearray()
        failure: str | None = None  # the upstream failed: never charged
        cut: str | None = None  # we stopped reading: charged on an estimate
        started = time.monotonic()
        gone_at: float | None = time.monotonic() if client_gone else None
        drain_slot = False
        while True:
            if gone_at is not None and not drain_slot:
                if self.gw.drains.locked():  # the drain cap is reached: stop here, estimate
                    cut = "client disconnected and the drain cap is reached"
                    break
                await self.gw.drains.acquire()
                drain_slot = True
            now = time.monotonic()
            if now - started > limits.stream_max_duration_s:
                cut = f"stream cut at the {limits.stream_max_duration_s:.0f} s limit"
                break
            if gone_at is not None and now - gone_at > limits.drain_timeout_s:
                cut = "client disconnected and the upstream did not finish within the drain timeout"
                break
            try:
                async with asyncio.timeout(limits.upstream_idle_timeout_s):
                    chunk = await upstream.content.readany()
            except TimeoutError:
                failure = f"upstream sent nothing for {limits.upstream_idle_timeout_s:.0f} s"
                break
            except (aiohttp.ClientError, ConnectionError) as exc:
                failure = f"upstream stream failed: {type(exc).__name__}"
                break
            if not chunk:
                break
            buf.extend(chunk)
            if len(buf) > limits.max_upstream_body_bytes:
                failure = "upstream response too large"
                break
            if not client_gone and not await write_to_client(response, chunk, limits.client_write_timeout_s):
                client_gone, gone_at = True, time.monotonic()
                _abort(request)
        if drain_slot:
            self.gw.drains.release()
        if failure is not None:
            await self.gw.billing.fail(res, failure)
            _abort(request)
        elif cut is not None:
            # Content was relayed, then we stopped: charge an estimate (prompt + ~4 bytes of the
            # JSON stream per token, generous on purpose) rather than nothing.
            estimate = UnitCounts(input_tokens=res.plan.prompt_tokens_estimate, output_tokens=len(buf) // 4)
            await self.gw.billing.settle(res, Outcome(estimate, None, None, None, estimated=True))
            _abort(request)
        else:
            metered = dialect.meter_body(upstream.status, ctype, bytes(buf), call.body_json, call.target.provider)
            if metered.error:
                await self.gw.billing.fail(res, metered.error, failure_outcome(metered))
            else:
                estimate = UnitCounts(input_tokens=res.plan.prompt_tokens_estimate)
                await self.gw.billing.settle(res, outcome_of(metered, estimate=estimate))
            if not client_gone:
                try:
                    async with asyncio.timeout(limits.client_write_timeout_s):
                        await response.write_eof()
                except (*CLIENT_GONE, TimeoutError):
                    _abort(request)
        return response

    async def _relay(
        self, request: web.Request, upstream: aiohttp.ClientResponse, out_headers: Any, call: Call
    ) -> web.StreamResponse:
        res, dialect = call.res, call.dialect
        assert dialect is not None
        response = web.StreamResponse(status=upstream.status, headers=out_headers)
        meter = dialect.stream_meter(call.target.provider, call.body_json, call.strip)
        try:
            async with asyncio.timeout(self.gw.settings.limits.client_write_timeout_s):
                await response.prepare(request)
        except (*CLIENT_GONE, TimeoutError):
            pass  # the client left before the first byte; relay_stream drains and meters anyway
        result = await relay_stream(
            upstream,
            response,
            meter,
            strip=call.strip,
            limits=self.gw.settings.limits,
            drains=self.gw.drains,
            on_client_gone=lambda: _abort(request),
        )
        metered = result.metered
        if result.transport_error is not None:
            await self.gw.billing.fail(res, result.transport_error, failure_outcome(metered))
            _abort(request)
        elif result.cut is not None and metered.error is None:
            # We stopped reading (limits): what was relayed is charged, from the provider's usage
            # if it came, else an estimate.
            estimate = UnitCounts(input_tokens=res.plan.prompt_tokens_estimate, output_tokens=result.events)
            await self.gw.billing.settle(res, outcome_of(metered, estimate=estimate))
            _abort(request)
        elif metered.error is not None:
            await self.gw.billing.fail(res, metered.error, failure_outcome(metered))
        else:
            estimate = UnitCounts(input_tokens=res.plan.prompt_tokens_estimate, output_tokens=result.events)
            await self.gw.billing.settle(res, outcome_of(metered, estimate=estimate))
        if not result.client_gone and result.transport_error is None and result.cut is None:
            try:
                async with asyncio.timeout(self.gw.settings.limits.client_write_timeout_s):
                    await response.write_eof()
            except (*CLIENT_GONE, TimeoutError):
                _abort(request)
        return response

"""Delivering the upstream's answer to the client: whole (buffered) or streamed, then concluded.

A buffered answer is read whole (bounded), concluded, and sent with the call's cost headers.
A streamed answer is prepared at once and relayed by :func:`~.relay.relay`; once its headers
are sent, no error can produce a second response: :func:`end_stream_with_error` writes one
final SSE ``error`` event (SSE streams only), ends the body and closes the connection.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
import orjson
from aiohttp import web
from multidict import CIMultiDict

from ..errors import ApiError
from ..money import to_wire
from .call import Call, Gateway
from .dialects._base import is_sse_content
from .relay import CLIENT_GONE, BodySink, Sink, SseSink, relay
from .settle import Ending, conclude

log = logging.getLogger("lava.gateway")

STREAM_RESPONSE: web.RequestKey[web.StreamResponse] = web.RequestKey("lava_stream_response", web.StreamResponse)
"""Set on a request once its streamed response is prepared: from then on the error middleware
may only end that stream (:func:`end_stream_with_error`), never answer anew."""


@dataclass(frozen=True, slots=True)
class Unanswered:
    """The upstream gave no usable answer: what the record says, and what the client is told."""

    reason: str
    error: ApiError


def error_response(err: ApiError, request_id: str | None) -> web.Response:
    """Our JSON error shape, with the call's ``x-lava-request-id`` when it has one."""
    headers = {"Content-Type": "application/json", **({"x-lava-request-id": request_id} if request_id else {})}
    return web.Response(body=orjson.dumps(err.body()), status=err.status, headers=headers)


def abort(request: web.Request) -> None:
    """Cut the client connection without the terminating chunk: after the upstream failed or we
    cut a stream, so the client sees a truncated response instead of a clean (but partial) end;
    and once the client is gone, so its unsent buffer is freed."""
    if request.transport is not None and not request.transport.is_closing():
        request.transport.abort()


def sse_error_event(err: ApiError) -> bytes:
    """One SSE event every dialect's SDK reads as an error: ``event: error`` (Anthropic), an
    ``error`` object in its data (the OpenAI and Gemini SDKs), and the Responses API's
    top-level ``code`` / ``message``."""
    data = {
        "type": "error",
        "code": err.code,
        "message": err.message,
        "error": {"type": "api_error", "code": err.code, "message": err.message},
    }
    return b"event: error\ndata: " + orjson.dumps(data) + b"\n\n"


async def end_stream_with_error(
    request: web.Request, response: web.StreamResponse, err: ApiError, *, timeout_s: float
) -> None:
    """End an already-prepared stream after a failure: a final error event if it is SSE, the
    terminating chunk, then the connection is closed (never reused for another request)."""
    response.force_close()
    try:
        async with asyncio.timeout(timeout_s):
            if is_sse_content(response.headers.get("Content-Type", "")):
                await response.write(sse_error_event(err))
            await response.write_eof()
    except (*CLIENT_GONE, TimeoutError, RuntimeError):
        abort(request)


async def deliver_buffered(
    gw: Gateway, upstream: aiohttp.ClientResponse, out_headers: CIMultiDict[str], call: Call, body: bytes | None
) -> web.StreamResponse:
    """Read the whole answer (unless ``body`` was read already), conclude, respond with its cost."""
    limits = gw.settings.limits
    res, dialect, provider = call.res, call.dialect, call.target.provider
    ctype = upstream.headers.get("Content-Type", "")
    if body is None:
        read = await read_whole(upstream, limits.upstream_read_timeout_s, limits.max_upstream_body_bytes)
        if isinstance(read, Unanswered):
            await conclude(gw.billing, res, Ending(None, failure=read.reason))
            return error_response(read.error, res.record.id)
        body = read
    metered = dialect.meter_body(upstream.status, ctype, body, call.body_json, provider) if dialect else None
    ending = Ending(metered, billable=dialect is None or dialect.billable, body_bytes=len(body))
    if metered is not None and not 200 <= upstream.status < 300:  # 3xx included: relayed, never charged
        ending = Ending(metered, failure=metered.error or f"upstream status {upstream.status}")
    await conclude(gw.billing, res, ending)
    out_headers["x-lava-request-cost"] = to_wire(res.record.total_request_cost)
    if res.balance_after is not None:
        out_headers["x-lava-balance"] = to_wire(res.balance_after)
    status = upstream.status
    if call.rewrite is not None:
        status, body, out_headers["Content-Type"] = call.rewrite.body(upstream.status, ctype, body)
    return web.Response(status=status, body=body, headers=out_headers)


async def read_whole(upstream: aiohttp.ClientResponse, timeout_s: float, cap: int) -> bytes | Unanswered:
    """The whole body (at most ``cap`` bytes, within ``timeout_s``), or why it cannot be had."""
    buf = bytearray()
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in upstream.content.iter_any():
                buf.extend(chunk)
                if len(buf) > cap:
                    err = ApiError(502, "upstream_response_too_large", "the provider's response exceeded the limit")
                    return Unanswered("upstream response too large", err)
    except TimeoutError:
        err = ApiError(504, "upstream_timeout", "the provider did not finish in time")
        return Unanswered("upstream timed out while sending its body", err)
    except (aiohttp.ClientError, ConnectionError) as exc:
        err = ApiError(502, "upstream_unreachable", "the provider closed the connection mid-response")
        return Unanswered(f"upstream body failed: {type(exc).__name__}", err)
    return bytes(buf)


async def deliver_stream(
    gw: Gateway, request: web.Request, upstream: aiohttp.ClientResponse, out_headers: CIMultiDict[str], call: Call
) -> web.StreamResponse:
    """Relay a streamed 2xx answer as it arrives, then conclude the call (module docstring)."""
    limits = gw.settings.limits
    res, dialect = call.res, call.dialect
    assert dialect is not None
    ctype = upstream.headers.get("Content-Type", "")
    sink: Sink
    if is_sse_content(ctype) and call.rewrite is not None:
        sink = call.rewrite.sink(dialect.stream_meter(call.target.provider, call.body_json, call.strip))
        out_headers["Content-Type"] = call.rewrite.stream_content_type
    elif is_sse_content(ctype):
        sink = SseSink(dialect.stream_meter(call.target.provider, call.body_json, call.strip), strip=call.strip)
    else:  # e.g. Gemini's JSON-array stream without alt=sse
        sink = BodySink(
            dialect,
            call.target.provider,
            call.body_json,
            status=upstream.status,
            ctype=ctype,
            cap=limits.max_upstream_body_bytes,
        )
    response = web.StreamResponse(status=upstream.status, headers=out_headers)
    request[STREAM_RESPONSE] = response
    client_gone = False
    try:
        async with asyncio.timeout(limits.client_write_timeout_s):
            await response.prepare(request)
    except (*CLIENT_GONE, TimeoutError):
        client_gone = True  # the client left before the first byte; the upstream is drained anyway
    result = await relay(
        upstream,
        response,
        sink,
        limits=limits,
        drains=gw.drains,
        client_gone=client_gone,
        on_client_gone=lambda: abort(request),
    )
    ending = Ending(
        result.metered,
        failure=result.transport_error,
        events=result.events,
        body_bytes=result.body_bytes,
    )
    try:
        await conclude(gw.billing, res, ending)
    except Exception as exc:
        err = (
            exc if isinstance(exc, ApiError) else ApiError(500, "internal_error", "internal error; it has been logged")
        )
        if not result.client_gone:
            await end_stream_with_error(request, response, err, timeout_s=limits.client_write_timeout_s)
        return response
    if result.transport_error is not None or result.cut is not None:
        abort(request)  # truncated on purpose: the client must not mistake it for a whole answer
    elif not result.client_gone:
        try:
            async with asyncio.timeout(limits.client_write_timeout_s):
                if sink.held:
                    await response.write(sink.held)
                await response.write_eof()
        except (*CLIENT_GONE, TimeoutError):
            abort(request)
    return response

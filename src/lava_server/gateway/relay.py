"""Relaying an upstream SSE stream to the client while metering it, in constant memory.

Chunks are written as they arrive; a client that stops reading for ``client_write_timeout_s``
counts as gone. Only when the gateway injected a usage request the client
did not ask for are events re-framed, so that one usage-only event can be dropped. If the
client goes away, the upstream is drained to its final usage event, bounded by a timeout
and a cap on concurrent drains.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from ..settings import Limits
from .dialects import StreamMeter
from .sse import SseParser
from .usage import Metered

log = logging.getLogger("lava.gateway")
# Any failure to write to the client means it is gone: a reset while aiohttp waits for the
# socket to drain surfaces as a bare ConnectionError("Connection lost").
CLIENT_GONE = (ConnectionError, OSError)


async def write_to_client(response: web.StreamResponse, data: bytes, timeout_s: float) -> bool:
    """Write ``data``; False if the client is gone or stopped reading for ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            await response.write(data)
    except (*CLIENT_GONE, TimeoutError):
        return False
    return True


@dataclass
class RelayResult:
    metered: Metered
    events: int
    client_gone: bool
    transport_error: str | None  # the upstream failed mid-stream (reset, idle timeout): never charged
    drained: bool  # after a disconnect, we read the upstream to its end
    cut: str | None = None  # we stopped reading (duration limit, drain limits): charged as metered/estimated


async def relay_stream(
    upstream: aiohttp.ClientResponse,
    response: web.StreamResponse,
    meter: StreamMeter,
    *,
    strip: bool,
    limits: Limits,
    drains: asyncio.Semaphore,
    on_client_gone: Callable[[], None],
) -> RelayResult:
    """``on_client_gone`` is called once the client is gone or stopped reading (it should drop the
    client's connection so its unsent buffer is freed); the upstream is then drained."""
    parser = SseParser()
    events = 0
    client_gone = False
    drained = False
    transport_error: str | None = None
    cut: str | None = None
    started = time.monotonic()
    draining_since: float | None = None
    acquired = False
    try:
        while True:
            if time.monotonic() - started > limits.stream_max_duration_s:
                cut = f"stream cut at the {limits.stream_max_duration_s:.0f} s limit"
                break
            if draining_since is not None and time.monotonic() - draining_since > limits.drain_timeout_s:
                cut = "drain timed out"
                break
            try:
                async with asyncio.timeout(limits.upstream_idle_timeout_s):
                    chunk = await upstream.content.readany()
            except TimeoutError:
                transport_error = f"upstream sent nothing for {limits.upstream_idle_timeout_s:.0f} s"
                break
            except (aiohttp.ClientError, ConnectionError) as exc:
                transport_error = f"upstream stream failed: {type(exc).__name__}"
                break
            if not chunk:
                drained = client_gone
                break
            parsed = parser.feed(chunk)
            keep = [ev for ev in parsed if meter.feed(ev)]
            events += len(parsed)
            if client_gone:
                continue
            data = chunk if not strip else b"".join(ev.raw for ev in keep)
            if data and not await write_to_client(response, data, limits.client_write_timeout_s):
                client_gone = True
                on_client_gone()
                if drains.locked():
                    log.warning("client disconnected and the drain cap is reached; estimating usage")
                    cut = "drain cap reached"
                    break
                await drains.acquire()
                acquired = True
                draining_since = time.monotonic()
        for ev in parser.flush():
            events += 1
            relay = meter.feed(ev) and strip and not client_gone and transport_error is None
            if relay and not await write_to_client(response, ev.raw, limits.client_write_timeout_s):
                client_gone = True
                on_client_gone()
    finally:
        if acquired:
            drains.release()
    return RelayResult(meter.finish(), events, client_gone, transport_error, drained, cut)

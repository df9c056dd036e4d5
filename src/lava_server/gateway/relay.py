"""Relaying a streamed upstream body to the client while metering it: the one relay loop.

Chunks are written as they arrive; a client that stops reading for ``client_write_timeout_s``
counts as gone. What a chunk means is the business of a :class:`Sink`:

* :class:`SseSink` (``text/event-stream``): parsed into events in constant memory and fed to
  the dialect's stream meter. Only when the gateway injected a usage request the client did
  not ask for are events re-framed, so that one usage-only event can be dropped.
* :class:`BodySink` (a streamed body that is not SSE, e.g. Gemini's JSON array without
  ``alt=sse``): relayed as is, its skeleton kept up to ``max_upstream_body_bytes`` and metered
  whole at the end (its usage is in the last element).

If the client goes away, the upstream is drained to its end (its final usage event), bounded by
``drain_timeout_s`` and a cap on concurrent drains (a slot released in ``finally``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from aiohttp import web

from ..settings import Limits
from .dialects import Dialect, JsonObj, StreamMeter
from .json_skeleton import JsonSkeleton
from .providers import Provider
from .sse import SseEvent, SseParser
from .usage import Metered

log = logging.getLogger("lava.gateway")
# Any failure to write to the client means it is gone: a reset while aiohttp waits for the
# socket to drain surfaces as a bare ConnectionError("Connection lost").
CLIENT_GONE = (ConnectionError, OSError)
_END_MARKER = b"[DONE]"  # OpenAI-compatible streams' last event; SDKs stop reading there


async def write_to_client(response: web.StreamResponse, data: bytes, timeout_s: float) -> bool:
    """Write ``data``; False if the client is gone or stopped reading for ``timeout_s``."""
    try:
        async with asyncio.timeout(timeout_s):
            await response.write(data)
    except (*CLIENT_GONE, TimeoutError):
        return False
    return True


class Sink(Protocol):
    """What the relay loop does with each upstream chunk."""

    events: int
    """SSE events seen (0 for a body that is not SSE): the basis of an output estimate."""
    body_bytes: int
    """Bytes of a body that is not SSE (0 for SSE): the basis of an output estimate."""

    def feed(self, chunk: bytes) -> bytes:
        """Consume one chunk; return the bytes to relay to the client now."""
        ...

    def overflow(self) -> str | None:
        """Why the body can no longer be metered (a bound was passed), or None."""
        ...

    def flush(self) -> bytes:
        """At the upstream's end: the bytes still to relay."""
        ...

    def finish(self) -> Metered:
        """What the dialect learned; called once, after :meth:`flush`."""
        ...

    @property
    def held(self) -> bytes:
        """Bytes held back until the call is concluded (relayed only if it concludes cleanly)."""
        ...


class SseSink:
    """An SSE stream, metered event by event (see the module docstring).

    An OpenAI-style end marker (``data: [DONE]``) that ends a chunk is held back and relayed by
    the caller only once the call is concluded (:attr:`held`): SDKs stop reading at it, so a
    failure after the upstream's end must reach the client *before* it (deliver.py).
    """

    def __init__(self, meter: StreamMeter, *, strip: bool) -> None:
        self._parser = SseParser()
        self._meter = meter
        self._strip = strip
        self.held = b""
        self.events = 0
        self.body_bytes = 0

    def _relayed(self, chunk: bytes | None, events: list[SseEvent]) -> bytes:
        # Every event goes through the meter; only an injected usage-only event is held back,
        # never a fragment of an oversized event.
        kept = [ev.raw for ev in events if self._meter.feed(ev) or ev.elided]
        self.events += len(events)
        out = chunk if chunk is not None and not self._strip else b"".join(kept)
        if self.held and out:  # more came after the marker: keep the order
            out, self.held = self.held + out, b""
        last = events[-1] if events else None
        if last is not None and last.data.strip() == _END_MARKER and last.raw and out.endswith(last.raw):
            out, self.held = out[: len(out) - len(last.raw)], last.raw
        return out

    def feed(self, chunk: bytes) -> bytes:
        return self._relayed(chunk, self._parser.feed(chunk))

    def overflow(self) -> str | None:
        return None  # an oversized event is streamed through (sse.py), never a failure

    def flush(self) -> bytes:
        tail = self._relayed(None, self._parser.flush())
        # Without re-framing every byte was already relayed with its chunk (or is held).
        return tail if self._strip else b""

    def finish(self) -> Metered:
        return self._meter.finish()


class BodySink:
    """A streamed body that is not SSE: relayed as it comes, metered whole at its end.

    What is kept for metering is the body's :class:`~.json_skeleton.JsonSkeleton` (strings over
    16 KiB, i.e. inline images and audio, elided), bounded by ``cap``: a large blob neither
    costs memory nor makes the body too large to meter.
    """

    def __init__(
        self, dialect: Dialect, provider: Provider, request_body: JsonObj | None, *, status: int, ctype: str, cap: int
    ) -> None:
        self._dialect, self._provider, self._request_body = dialect, provider, request_body
        self._status, self._ctype = status, ctype
        self._skeleton = JsonSkeleton(cap)
        self.events = 0
        self.body_bytes = 0

    def feed(self, chunk: bytes) -> bytes:
        self.body_bytes += len(chunk)
        self._skeleton.feed(chunk)
        return chunk

    def overflow(self) -> str | None:
        return "upstream response too large" if self._skeleton.failed else None

    def flush(self) -> bytes:
        return b""

    @property
    def held(self) -> bytes:
        return b""

    def finish(self) -> Metered:
        body = self._skeleton.value() or b""  # None: cut inside a string; metered as no usage
        return self._dialect.meter_body(self._status, self._ctype, body, self._request_body, self._provider)


@dataclass
class RelayResult:
    metered: Metered
    events: int
    body_bytes: int
    client_gone: bool
    transport_error: str | None  # the upstream failed mid-stream (reset, idle timeout, too large): never charged
    drained: bool  # after a disconnect, we read the upstream to its end
    cut: str | None = None  # we stopped reading (duration limit, drain limits): charged as metered/estimated


async def relay(
    upstream: aiohttp.ClientResponse,
    response: web.StreamResponse,
    sink: Sink,
    *,
    limits: Limits,
    drains: asyncio.Semaphore,
    client_gone: bool,
    on_client_gone: Callable[[], None],
) -> RelayResult:
    """Relay ``upstream`` into ``response`` through ``sink`` until the upstream ends or a bound is hit.

    ``client_gone`` says the client already left (``prepare`` failed). ``on_client_gone`` is
    called once the client goes or stops reading (it should drop the client's connection so its
    unsent buffer is freed); the upstream is then drained while a drain slot is free.
    """
    transport_error: str | None = None
    cut: str | None = None
    drained = False
    started = time.monotonic()
    draining_since: float | None = None
    acquired = False

    async def start_draining() -> bool:
        nonlocal acquired, draining_since
        if drains.locked():
            log.warning("client disconnected and the drain cap is reached; estimating usage")
            return False
        await drains.acquire()
        acquired, draining_since = True, time.monotonic()
        return True

    try:
        if client_gone and not await start_draining():
            cut = "client disconnected and the drain cap is reached"
        while cut is None:
            now = time.monotonic()
            if now - started > limits.stream_max_duration_s:
                cut = f"stream cut at the {limits.stream_max_duration_s:.0f} s limit"
                break
            if draining_since is not None and now - draining_since > limits.drain_timeout_s:
                cut = "client disconnected and the upstream did not finish within the drain timeout"
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
            data = sink.feed(chunk)
            transport_error = sink.overflow()
            if transport_error is not None:
                break
            if client_gone or not data:
                continue
            if not await write_to_client(response, data, limits.client_write_timeout_s):
                client_gone = True
                on_client_gone()
                if not await start_draining():
                    cut = "client disconnected and the drain cap is reached"
        tail = sink.flush()
        relay_tail = tail and not client_gone and transport_error is None
        if relay_tail and not await write_to_client(response, tail, limits.client_write_timeout_s):
            client_gone = True
            on_client_gone()
    finally:
        if acquired:
            drains.release()
    return RelayResult(sink.finish(), sink.events, sink.body_bytes, client_gone, transport_error, drained, cut)

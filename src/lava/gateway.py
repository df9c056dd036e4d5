"""``lava.gateway()``: one call through Lava's gateway, like Node 11.2.0's helper and beyond it.

Like Node: the forward token is built from ``customer_id``/``meter_slug``/``provider_key``/
``disable_billing``, the call goes to ``{base}forward?u=<url>`` (or ``{base}rewrite/{format}/<url>``
with ``format=``), caller headers are kept except ``Authorization``, and a dict or list body is
sent as JSON. Beyond Node: the answer comes back with its status, headers and the ``x-lava-*``
headers parsed (:class:`LavaHeaders`), and ``stream=True`` reads it incrementally as SSE events,
lines or bytes. A non-2xx answer raises the matching :class:`~lava.APIStatusError`. Gateway
calls are never retried: a call that reached the provider may already be billed.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Self

import httpx

from ._base import connection_error, status_error
from ._sse import ServerSentEvent, SSEDecoder
from ._tokens import json_stringify

__all__ = [
    "AsyncGatewayStream",
    "GatewayResponse",
    "GatewayStream",
    "LavaHeaders",
    "ServerSentEvent",
    "build_request",
    "encode_body",
    "send",
    "send_async",
]


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class LavaHeaders:
    """The gateway's ``x-lava-*`` response headers. Money is ``Decimal`` USD."""

    request_id: str | None
    """``x-lava-request-id``: the request record (``lava.requests.retrieve``)."""
    request_cost: Decimal | None
    """``x-lava-request-cost`` (non-streamed answers)."""
    balance: Decimal | None
    """``x-lava-balance``: the wallet's available balance after the charge (non-streamed answers)."""
    all: Mapping[str, str] = field(default_factory=dict)
    """Every ``x-lava-*`` header, lowercase names."""

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> LavaHeaders:
        every = {k.lower(): v for k, v in headers.items() if k.lower().startswith("x-lava-")}
        return cls(
            request_id=every.get("x-lava-request-id"),
            request_cost=_decimal(every.get("x-lava-request-cost")),
            balance=_decimal(every.get("x-lava-balance")),
            all=every,
        )


@dataclass(frozen=True, slots=True)
class GatewayResponse:
    """A complete (non-streamed) gateway answer."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    lava: LavaHeaders

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The provider's JSON answer (what Node's ``gateway()`` returns)."""
        return json.loads(self.content)


def encode_body(body: Any) -> tuple[bytes | None, str | None]:
    """(content, inferred content type), as Node's ``prepareGatewayBody``: dicts and lists become
    compact JSON, ``str``/``bytes`` pass through, ``None`` sends no body, anything else its ``str``."""
    if body is None:
        return None, None
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body), None
    if isinstance(body, str):
        return body.encode("utf-8"), None
    if isinstance(body, Mapping | list | tuple):
        return json_stringify(dict(body) if isinstance(body, Mapping) else list(body)).encode("utf-8"), (
            "application/json"
        )
    text = ("true" if body else "false") if isinstance(body, bool) else str(body)
    return text.encode("utf-8"), None


def build_request(
    http: httpx.Client | httpx.AsyncClient,
    method: str,
    url: str,
    token: str,
    body: Any,
    headers: Mapping[str, str] | None,
    timeout: httpx.Timeout,
) -> httpx.Request:
    """The gateway request: caller headers minus ``Authorization``, then the token, then an
    inferred ``Content-Type`` when the caller gave none."""
    content, content_type = encode_body(body)
    out = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
    out["Authorization"] = f"Bearer {token}"
    if content_type is not None and not any(k.lower() == "content-type" for k in out):
        out["Content-Type"] = content_type
    return http.build_request(method, url, headers=out, content=content, timeout=timeout)


def send(http: httpx.Client, request: httpx.Request) -> GatewayResponse:
    try:
        response = http.send(request)
    except httpx.TransportError as exc:
        raise connection_error(exc, request) from exc
    if not response.is_success:
        raise status_error(response)
    return GatewayResponse(
        response.status_code, response.headers, response.content, LavaHeaders.from_headers(response.headers)
    )


async def send_async(http: httpx.AsyncClient, request: httpx.Request) -> GatewayResponse:
    try:
        response = await http.send(request)
    except httpx.TransportError as exc:
        raise connection_error(exc, request) from exc
    if not response.is_success:
        raise status_error(response)
    return GatewayResponse(
        response.status_code, response.headers, response.content, LavaHeaders.from_headers(response.headers)
    )


class GatewayStream:
    """A streamed gateway answer; use it as a context manager (or exhaust it) to release the connection.

    ``for event in stream`` yields :class:`ServerSentEvent`; ``lines()`` the raw lines;
    ``iter_bytes()`` the raw bytes (e.g. Bedrock's binary event stream). Pick one reader.
    """

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.lava = LavaHeaders.from_headers(response.headers)

    @classmethod
    def open(cls, http: httpx.Client, request: httpx.Request) -> GatewayStream:
        try:
            response = http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
        if not response.is_success:
            try:
                response.read()
            finally:
                response.close()
            raise status_error(response)
        return cls(response)

    def iter_bytes(self) -> Iterator[bytes]:
        try:
            yield from self.response.iter_bytes()
        finally:
            self.response.close()

    def lines(self) -> Iterator[str]:
        try:
            yield from self.response.iter_lines()
        finally:
            self.response.close()

    def events(self) -> Iterator[ServerSentEvent]:
        decoder = SSEDecoder()
        for line in self.lines():
            event = decoder.feed(line)
            if event is not None:
                yield event

    def __iter__(self) -> Iterator[ServerSentEvent]:
        return self.events()

    def close(self) -> None:
        self.response.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncGatewayStream:
    """:class:`GatewayStream` for ``AsyncLava``: ``async for event in stream``, ``lines()``, ``iter_bytes()``."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.lava = LavaHeaders.from_headers(response.headers)

    @classmethod
    async def open(cls, http: httpx.AsyncClient, request: httpx.Request) -> AsyncGatewayStream:
        try:
            response = await http.send(request, stream=True)
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
        if not response.is_success:
            try:
                await response.aread()
            finally:
                await response.aclose()
            raise status_error(response)
        return cls(response)

    async def iter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self.response.aiter_bytes():
                yield chunk
        finally:
            await self.response.aclose()

    async def lines(self) -> AsyncIterator[str]:
        try:
            async for line in self.response.aiter_lines():
                yield line
        finally:
            await self.response.aclose()

    async def events(self) -> AsyncIterator[ServerSentEvent]:
        decoder = SSEDecoder()
        async for line in self.lines():
            event = decoder.feed(line)
            if event is not None:
                yield event

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        return self.events()

    async def aclose(self) -> None:
        await self.response.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

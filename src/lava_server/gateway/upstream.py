"""The upstream leg: one aiohttp client per process, SSRF-safe DNS, and header hygiene."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from multidict import CIMultiDict

from ..settings import Limits

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
# Never forwarded upstream: our credentials in any carrier, our own headers, and framing
# headers aiohttp recomputes.
DROP_REQUEST = HOP_BY_HOP | {
    "host",
    "content-length",
    "accept-encoding",
    "authorization",
    "x-api-key",
    "x-goog-api-key",
    "xi-api-key",
    "cookie",
}
DROP_RESPONSE = HOP_BY_HOP | {"content-length", "content-encoding"}
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class UpstreamBlocked(Exception):
    """DNS for an allow-listed host pointed at a private, loopback or link-local address."""


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved or ip.is_unspecified
    )


class SafeResolver(AbstractResolver):
    """Refuses to connect an un-mapped provider host to a non-public address (DNS rebinding)."""

    def __init__(self, trusted_hosts: Iterable[str]) -> None:
        self._inner = DefaultResolver()
        self._trusted = frozenset(h.lower() for h in trusted_hosts)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if host.lower() in self._trusted:
            return results
        public = [r for r in results if is_public_address(r["host"])]
        if not public:
            raise UpstreamBlocked(f"{host} resolves only to non-public addresses")
        return public

    async def close(self) -> None:
        await self._inner.close()


def make_session(limits: Limits, trusted_hosts: Iterable[str]) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=limits.max_upstream_connections,
        limit_per_host=0,
        ttl_dns_cache=60,
        resolver=SafeResolver(trusted_hosts),
        enable_cleanup_closed=True,
    )
    timeout = aiohttp.ClientTimeout(
        total=None,
        connect=limits.upstream_connect_timeout_s,
        sock_connect=limits.upstream_connect_timeout_s,
        sock_read=limits.upstream_idle_timeout_s,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        auto_decompress=True,
        skip_auto_headers=("User-Agent",),
        max_field_size=limits.max_header_bytes * 2,
        max_line_size=limits.max_header_bytes * 2,
    )


def upstream_request_headers(
    client_headers: Mapping[str, str], auth_header: tuple[str, str] | None
) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in client_headers.items():
        lower = name.lower()
        if lower in DROP_REQUEST or lower.startswith("x-lava-"):
            continue
        out.add(name, value)
    if auth_header is not None:
        out[auth_header[0]] = auth_header[1]
    return out


def client_response_headers(upstream_headers: Any, request_id: str) -> CIMultiDict[str]:
    out: CIMultiDict[str] = CIMultiDict()
    for name, value in upstream_headers.items():
        if name.lower() in DROP_RESPONSE or CONTROL_CHARS.search(name) or CONTROL_CHARS.search(value):
            continue  # hop-by-hop, or bytes no HTTP response may carry (they would break ours)
        out.add(name, value)
    out["x-lava-request-id"] = request_id
    return out

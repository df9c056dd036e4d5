"""Where webhooks may be sent: the same rules as ``/forward``'s upstreams.

A URL is refused when its host resolves to a private, loopback, link-local (or otherwise
non-public) address, at registration and again before every attempt (DNS can change); the
delivery session's resolver (``gateway.upstream.SafeResolver``) enforces it once more at
connect time. Hosts the operator lists in ``LAVA_WEBHOOK_ALLOWED_HOSTS`` are exempt and may
use http; every other URL must be https.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from ..gateway.upstream import is_public_address

MAX_URL_CHARS = 2048


class UnsafeTarget(ValueError):
    """The URL may not receive webhooks; the message says why (shown to the merchant)."""


def _parts(url: str, allowed: frozenset[str]) -> tuple[str, int, bool]:
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise UnsafeTarget(f"url must be a string of at most {MAX_URL_CHARS} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget(f"url is not a valid URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise UnsafeTarget("url must name a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("url must not carry credentials")
    scheme = parts.scheme.lower()
    exempt = host in allowed
    if scheme != "https" and not (exempt and scheme == "http"):
        raise UnsafeTarget("url must use https")
    return host, port or (443 if scheme == "https" else 80), exempt


async def check_target(url: str, allowed_hosts: Iterable[str], *, require_resolution: bool) -> None:
    """Raise :class:`UnsafeTarget` unless ``url`` may receive webhooks.

    ``require_resolution``: a host that does not resolve is refused (before a delivery) or let
    through (at registration, where DNS may not exist yet)."""
    allowed = frozenset(h.lower() for h in allowed_hosts)
    host, port, exempt = _parts(url, allowed)
    if exempt:
        return
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        addresses = {str(literal)}
    else:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            if require_resolution:
                raise UnsafeTarget(f"{host} does not resolve") from exc
            return
        addresses = {str(info[4][0]) for info in infos}
    blocked = sorted(a for a in addresses if not is_public_address(a))
    if blocked or not addresses:
        raise UnsafeTarget(f"{host} resolves to a private, loopback or link-local address")

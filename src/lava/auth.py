"""CLI login (Node SDK 11.2.0's ``Lava.exchangeAuthCode``): exchange a one-time code for API credentials.

``Lava.exchange_auth_code(code)`` mirrors Node 11.2.0's static ``Lava.exchangeAuthCode``: an
unauthenticated ``POST {base_url}auth/callback {"code"}``. Codes are single use and live 60 s;
an unknown, used or expired one raises ``BadRequestError`` (400 ``invalid_auth_code``).
"""

from __future__ import annotations

import json

import httpx

from ._base import DEFAULT_TIMEOUT, connection_error, status_error
from ._config import LIVE_BASE_URL, normalize_base_url
from ._version import __version__
from .types import AuthCredentials

__all__ = ["exchange_auth_code", "exchange_auth_code_async"]


def _request(http: httpx.Client | httpx.AsyncClient, code: str, base_url: str | None) -> httpx.Request:
    url = normalize_base_url(base_url or LIVE_BASE_URL) + "auth/callback"
    headers = {"Content-Type": "application/json", "User-Agent": f"lava-python/{__version__}"}
    content = json.dumps({"code": code}, separators=(",", ":")).encode()
    return http.build_request("POST", url, headers=headers, content=content, timeout=DEFAULT_TIMEOUT)


def _parse(response: httpx.Response) -> AuthCredentials:
    if not response.is_success:
        raise status_error(response)
    return AuthCredentials.model_validate(response.json())


def exchange_auth_code(
    code: str, *, base_url: str | None = None, http_client: httpx.Client | None = None
) -> AuthCredentials:
    """Trade a CLI login ``code`` for credentials (the new secret key is in ``secret_key``)."""
    http = http_client or httpx.Client()
    try:
        request = _request(http, code, base_url)
        try:
            return _parse(http.send(request))
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
    finally:
        if http_client is None:
            http.close()


async def exchange_auth_code_async(
    code: str, *, base_url: str | None = None, http_client: httpx.AsyncClient | None = None
) -> AuthCredentials:
    """See :func:`exchange_auth_code`."""
    http = http_client or httpx.AsyncClient()
    try:
        request = _request(http, code, base_url)
        try:
            return _parse(await http.send(request))
        except httpx.TransportError as exc:
            raise connection_error(exc, request) from exc
    finally:
        if http_client is None:
            await http.aclose()

"""HTTP transport shared by ``Lava`` and ``AsyncLava``.

The one place for headers, timeouts, retries, idempotency keys and mapping error
responses to exceptions.

Retry policy: at most ``max_retries`` extra attempts, on connection errors,
timeouts, 408, 429 and 5xx. The delay before retry ``n`` (0-based) is
``min(0.5 * 2**n, 8)`` seconds with ±25 % jitter, unless the response carries a
``Retry-After`` of at most 60 seconds, which is honoured as given. Every POST
carries an ``Idempotency-Key`` generated once per logical call and reused on
every retry of it, so a retried POST is never applied twice.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC
from decimal import Decimal
from types import TracebackType
from typing import Any, Final, Self

import httpx

from ._config import ClientConfig
from ._version import __version__
from .errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InsufficientBalanceError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    UnprocessableEntityError,
)

__all__ = ["AsyncAPIClient", "Params", "SyncAPIClient", "connection_error", "retry_delay", "status_error"]

log = logging.getLogger("lava")

Params = Mapping[str, str | int | None]
"""Query parameters; ``None`` values are left out."""

DEFAULT_TIMEOUT: Final = 60.0
DEFAULT_MAX_RETRIES: Final = 2
INITIAL_RETRY_DELAY: Final = 0.5
MAX_RETRY_DELAY: Final = 8.0
RETRY_JITTER: Final = 0.25
MAX_RETRY_AFTER: Final = 60.0
IDEMPOTENCY_KEY_PREFIX: Final = "lava-py-retry-"


# --- retry decisions ---------------------------------------------------------------


def _retry_after_seconds(headers: httpx.Headers, now: float) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp() - now


def retry_delay(
    retries_taken: int,
    response: httpx.Response | None = None,
    *,
    rand: Callable[[], float] = random.random,
    now: Callable[[], float] = time.time,
) -> float:
    """Seconds to wait before the next attempt (see the module docstring)."""
    if response is not None:
        retry_after = _retry_after_seconds(response.headers, now())
        if retry_after is not None and 0 <= retry_after <= MAX_RETRY_AFTER:
            return retry_after
    base = min(INITIAL_RETRY_DELAY * 2.0**retries_taken, MAX_RETRY_DELAY)
    jittered = base * (1 + RETRY_JITTER * (2 * rand() - 1))
    return min(jittered, MAX_RETRY_DELAY)


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _is_retryable_exception(exc: httpx.TransportError) -> bool:
    # Timeouts, network errors (refused, reset, DNS) and a peer hanging up mid-reply.
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def connection_error(exc: httpx.TransportError, request: httpx.Request) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(request=request)
    return APIConnectionError(f"Connection error: {exc!r}", request=request)


# --- error mapping -----------------------------------------------------------------


def _status_error_class(status: int) -> type[APIStatusError]:
    match status:
        case 400:
            return BadRequestError
        case 401:
            return AuthenticationError
        case 402:
            return InsufficientBalanceError
        case 403:
            return PermissionDeniedError
        case 404:
            return NotFoundError
        case 409:
            return ConflictError
        case 422:
            return UnprocessableEntityError
        case 429:
            return RateLimitError
        case _ if status >= 500:
            return InternalServerError
        case _:
            return APIStatusError


def _error_details(body: Any, fallback: str) -> tuple[str, str | None]:
    """(message, code) from ``{"error": {...}}``, ``{"error": "..."}`` or a text body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            code = error.get("code")
            return (
                message if isinstance(message, str) and message else fallback,
                code if isinstance(code, str) else None,
            )
        if isinstance(error, str) and error:
            return error, None
        message = body.get("message")
        if isinstance(message, str) and message:
            return message, None
        return (json.dumps(body) if body else fallback), None
    if isinstance(body, str) and body.strip():
        return body.strip()[:1000], None
    return fallback, None


def status_error(response: httpx.Response) -> APIStatusError:
    """The exception for a non-2xx response (the body must already be read)."""
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = response.text
    fallback = response.reason_phrase or f"HTTP {response.status_code}"
    message, code = _error_details(body, fallback)
    return _status_error_class(response.status_code)(message, response=response, body=body, code=code)


def _parse_success(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        # Decimal for non-integral numbers: money never passes through float.
        return json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise APIError(
            f"Expected a JSON response body, got {response.headers.get('content-type', 'no content type')}",
            request=response.request,
            body=response.text,
        ) from exc


# --- shared client state -----------------------------------------------------------


class _BaseClient:
    def __init__(self, config: ClientConfig, *, timeout: float | httpx.Timeout, max_retries: int) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._config = config
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.max_retries = max_retries

    def _headers(self, method: str) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._config.secret_key}",
            "Content-Type": "application/json",
            "User-Agent": f"lava-python/{__version__}",
            "Accept": "application/json",
        }
        if self._config.api_version is not None:
            headers["X-Lava-API-Version"] = self._config.api_version
        if method == "POST":
            headers["Idempotency-Key"] = f"{IDEMPOTENCY_KEY_PREFIX}{uuid.uuid4()}"
        return headers

    def _request(
        self,
        http: httpx.Client | httpx.AsyncClient,
        method: str,
        path: str,
        params: Params | None,
        body: Mapping[str, Any] | None,
        keep_null: bool,
    ) -> httpx.Request:
        query = {k: str(v) for k, v in (params or {}).items() if v is not None}
        content = None
        if body is not None:
            fields = body if keep_null else {k: v for k, v in body.items() if v is not None}
            content = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
        return http.build_request(
            method,
            self._config.base_url + path,
            params=query or None,
            headers=self._headers(method),
            content=content,
            timeout=self.timeout,
        )


# --- sync --------------------------------------------------------------------------


class SyncAPIClient(_BaseClient):
    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.Client | None,
        sleep: Callable[[float], None] | None,
    ) -> None:
        super().__init__(config, timeout=timeout, max_retries=max_retries)
        self._http = http_client if http_client is not None else httpx.Client(timeout=self.timeout)
        self._sleep = sleep if sleep is not None else time.sleep

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        keep_null: bool = False,
    ) -> Any:
        """Send one logical call (with retries) and return the parsed JSON body.

        Top-level ``None`` body values are left out unless ``keep_null`` (then they are JSON null).
        """
        request = self._request(self._http, method, path, params, body, keep_null)
        for retries_taken in range(self.max_retries + 1):
            last = retries_taken == self.max_retries
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                if last or not _is_retryable_exception(exc):
                    raise connection_error(exc, request) from exc
                delay = retry_delay(retries_taken)
                log.debug("lava: %s %s failed (%r); retrying in %.2fs", method, path, exc, delay)
                self._sleep(delay)
                continue
            if response.is_success:
                return _parse_success(response)
            if last or not _is_retryable_status(response.status_code):
                raise status_error(response)
            delay = retry_delay(retries_taken, response)
            log.debug("lava: %s %s got %d; retrying in %.2fs", method, path, response.status_code, delay)
            response.close()
            self._sleep(delay)
        raise AssertionError("unreachable: the retry loop always returns or raises")

    @property
    def http(self) -> httpx.Client:
        """The underlying ``httpx.Client`` (the gateway helper sends through it)."""
        return self._http

    def close(self) -> None:
        """Close the underlying ``httpx.Client`` (also one passed as ``http_client``)."""
        self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


# --- async -------------------------------------------------------------------------


class AsyncAPIClient(_BaseClient):
    def __init__(
        self,
        config: ClientConfig,
        *,
        timeout: float | httpx.Timeout,
        max_retries: int,
        http_client: httpx.AsyncClient | None,
        sleep: Callable[[float], Awaitable[None]] | None,
    ) -> None:
        super().__init__(config, timeout=timeout, max_retries=max_retries)
        self._http = http_client if http_client is not None else httpx.AsyncClient(timeout=self.timeout)
        self._sleep = sleep if sleep is not None else asyncio.sleep

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        keep_null: bool = False,
    ) -> Any:
        """Send one logical call (with retries) and return the parsed JSON body.

        Top-level ``None`` body values are left out unless ``keep_null`` (then they are JSON null).
        """
        request = self._request(self._http, method, path, params, body, keep_null)
        for retries_taken in range(self.max_retries + 1):
            last = retries_taken == self.max_retries
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                if last or not _is_retryable_exception(exc):
                    raise connection_error(exc, request) from exc
                delay = retry_delay(retries_taken)
                log.debug("lava: %s %s failed (%r); retrying in %.2fs", method, path, exc, delay)
                await self._sleep(delay)
                continue
            if response.is_success:
                return _parse_success(response)
            if last or not _is_retryable_status(response.status_code):
                raise status_error(response)
            delay = retry_delay(retries_taken, response)
            log.debug("lava: %s %s got %d; retrying in %.2fs", method, path, response.status_code, delay)
            await response.aclose()
            await self._sleep(delay)
        raise AssertionError("unreachable: the retry loop always returns or raises")

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying ``httpx.AsyncClient`` (the gateway helper sends through it)."""
        return self._http

    async def aclose(self) -> None:
        """Close the underlying ``httpx.AsyncClient`` (also one passed as ``http_client``)."""
        await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

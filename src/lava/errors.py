"""The SDK's exception hierarchy (modelled on openai-python).

::

    LavaError
    ├── APIError
    │   ├── APIStatusError            the server answered with a non-2xx status
    │   │   ├── BadRequestError            400
    │   │   ├── AuthenticationError        401
    │   │   ├── InsufficientBalanceError   402
    │   │   ├── PermissionDeniedError      403
    │   │   ├── NotFoundError              404
    │   │   ├── ConflictError              409
    │   │   ├── UnprocessableEntityError   422
    │   │   ├── RateLimitError             429
    │   │   └── InternalServerError        >= 500
    │   └── APIConnectionError        no response at all
    │       └── APITimeoutError
    └── WebhookVerificationError      a webhook signature did not verify
"""

from __future__ import annotations

from typing import Any

import httpx

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InsufficientBalanceError",
    "InternalServerError",
    "LavaError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "UnprocessableEntityError",
    "WebhookVerificationError",
]


class LavaError(Exception):
    """Root of every exception the SDK raises on purpose."""


class APIError(LavaError):
    """A call to the Lava API failed."""

    message: str
    request: httpx.Request | None
    body: Any

    def __init__(self, message: str, *, request: httpx.Request | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.body = body


class APIStatusError(APIError):
    """The server answered with a non-2xx status.

    ``status`` is the HTTP status, ``code`` the stable error code from the body
    (``{"error": {"message", "code", "status"}}``) when there is one, ``body`` the
    parsed JSON body (or the text when it is not JSON), and ``request_id`` the
    ``x-lava-request-id`` / ``x-request-id`` response header when present.
    """

    status: int
    code: str | None
    response: httpx.Response
    request_id: str | None

    def __init__(self, message: str, *, response: httpx.Response, body: Any, code: str | None = None) -> None:
        super().__init__(message, request=response.request, body=body)
        self.status = response.status_code
        self.code = code
        self.response = response
        self.request_id = response.headers.get("x-lava-request-id") or response.headers.get("x-request-id")

    @property
    def status_code(self) -> int:
        """Alias of ``status`` (the name httpx and openai-python use)."""
        return self.status

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"Lava API error {self.status}{code}: {self.message}"


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed validation."""


class AuthenticationError(APIStatusError):
    """401: the secret key is missing, malformed or unknown."""


class InsufficientBalanceError(APIStatusError):
    """402: the wallet cannot cover the call."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this."""


class NotFoundError(APIStatusError):
    """404: no such object for this merchant (and mode)."""


class ConflictError(APIStatusError):
    """409: the request conflicts with existing state (e.g. a reused request_id)."""


class UnprocessableEntityError(APIStatusError):
    """422: the request was well-formed but cannot be processed."""


class RateLimitError(APIStatusError):
    """429: too many requests."""


class InternalServerError(APIStatusError):
    """5xx: the server failed."""


class APIConnectionError(APIError):
    """The request never got a response (DNS, refused, reset, ...)."""

    def __init__(self, message: str = "Connection error.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(self, message: str = "Request timed out.", *, request: httpx.Request | None = None) -> None:
        super().__init__(message, request=request)


class WebhookVerificationError(LavaError):
    """A webhook's signature header is missing, malformed, wrong or too old."""

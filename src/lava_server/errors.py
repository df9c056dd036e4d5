"""The one error type the server raises for anything a client did or can see.

Every error body on the wire is ``{"error": {"message", "code", "status"}}``; the
codes are stable and listed in ``docs/errors.md``.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error that is rendered to the client as JSON with a stable code."""

    def __init__(self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None):
        super().__init__(message)
        assert 400 <= status <= 599, status
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "code": self.code, "status": self.status}}


def invalid_request(message: str) -> ApiError:
    return ApiError(400, "invalid_request", message)


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", f"{what} not found")

"""Small response shapes shared across resources."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import LavaModel, Timestamp

__all__ = ["DeleteResult", "WebhookEvent"]


class DeleteResult(LavaModel):
    """``{"success": true}``."""

    success: bool


class WebhookEvent(LavaModel):
    """A verified webhook delivery: ``{id, type, created_at, data}``."""

    id: str | None = None
    type: str
    created_at: Timestamp | None = None
    data: dict[str, Any] = Field(default_factory=dict)

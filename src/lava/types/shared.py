"""Small response shapes shared across resources."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from ._base import LavaModel, Timestamp

__all__ = ["DeleteResult", "Deleted", "WebhookEvent"]


class DeleteResult(LavaModel):
    """``{"success": true}``."""

    success: bool


class Deleted(LavaModel):
    """``{"id": ..., "deleted": true}`` (meters, plans, webhooks, secret keys)."""

    id: str
    deleted: Literal[True]


class WebhookEvent(LavaModel):
    """A verified webhook delivery.

    The current envelope is ``{"event": <type>, "data": <RestCustomer>, "id": "evt_…",
    "created_at": …}`` (docs/webhooks.md); the earlier one said ``type`` instead of ``event``. Both
    parse, and ``type`` and ``event`` always hold the event type.
    """

    id: str | None = None
    """``evt_…``, stable across retries: deduplicate on it."""
    type: str
    event: str | None = None
    created_at: Timestamp | None = None
    """When this delivery was signed (the replay tolerance is checked against it)."""
    occurred_at: Timestamp | None = None
    """When the change happened (our server's extension)."""
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _one_name_for_the_type(cls, value: Any) -> Any:
        if isinstance(value, dict):
            if "type" not in value and isinstance(value.get("event"), str):
                return {**value, "type": value["event"]}
            if "event" not in value and isinstance(value.get("type"), str):
                return {**value, "event": value["type"]}
        return value

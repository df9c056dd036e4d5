"""Shared pieces of the response models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

__all__ = ["LavaModel", "Timestamp"]


def _aware(value: datetime) -> datetime:
    # The wire always carries an offset ("...Z"); a naive value is read as UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


Timestamp = Annotated[datetime, AfterValidator(_aware)]
"""A timezone-aware ``datetime`` parsed from an ISO 8601 string."""


class LavaModel(BaseModel):
    """Base of every response model: unknown fields are kept, not rejected."""

    model_config = ConfigDict(extra="allow")

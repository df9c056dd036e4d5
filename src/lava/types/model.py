"""``GET /v1/models`` (Node SDK 11.2.0's ``RestModelList``): the OpenAI list shape."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import LavaModel

__all__ = ["Model", "ModelList"]


class Model(LavaModel):
    id: str
    """The provider's model id, or ``provider/model`` when two providers share one."""
    object: Literal["model"] = "model"
    created: int = 0
    """Unix seconds when the catalogue entry was added, else 0."""
    owned_by: str
    """The provider slug."""


class ModelList(LavaModel):
    object: Literal["list"] = "list"
    data: list[Model] = Field(default_factory=list)

"""Keyset pagination, newest first. Ids are ULID-based, so id order is creation order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from ..ids import Mode
from .base import Executor, Row

T = TypeVar("T")

EndColumn = Literal["deleted_at", "revoked_at"]
"""The timestamp column that, once set, takes a row out of its merchant's listings."""


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool

    @property
    def next_cursor(self) -> str | None:
        if not self.has_more or not self.items:
            return None
        last = self.items[-1]
        return str(last.id if hasattr(last, "id") else last)


async def fetch_page(
    ex: Executor,
    *,
    select: str,
    where: list[str],
    args: list[Any],
    cursor: str | None,
    limit: int,
    id_column: str = "id",
) -> tuple[list[Row], bool]:
    """Run ``select`` + WHERE … ORDER BY id DESC LIMIT limit+1; return (rows, has_more)."""
    assert 1 <= limit <= 100, limit
    conditions = list(where)
    params = list(args)
    if cursor is not None:
        params.append(cursor)
        conditions.append(f"{id_column} < ${len(params)}")
    params.append(limit + 1)
    sql = f"{select} WHERE {' AND '.join(conditions)} ORDER BY {id_column} DESC LIMIT ${len(params)}"
    rows = await ex.fetchall(sql, *params)
    return rows[:limit], len(rows) > limit


async def fetch_live_page(
    ex: Executor,
    *,
    select: str,
    merchant_id: str,
    mode: Mode,
    ended_by: EndColumn,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row], bool]:
    """One page of a merchant's rows in ``mode`` whose ``ended_by`` column is NULL, newest first.

    ``select`` is the ``SELECT … FROM table`` head; returns (rows, has_more) like :func:`fetch_page`.
    """
    return await fetch_page(
        ex,
        select=select,
        where=["merchant_id = $1", "mode = $2", f"{ended_by} IS NULL"],
        args=[merchant_id, mode],
        cursor=cursor,
        limit=limit,
    )

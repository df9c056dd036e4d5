"""Cursor pages: ``{data, has_more, next_cursor}``.

Iterating a page walks every item of every following page::

    for connection in lava.connections.list(limit=50):   # fetches page after page
        ...

    page = await alava.connections.list()
    async for connection in page:
        ...

``page.data`` is just this page's items.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, Final, Generic, TypeVar

from .errors import LavaError
from .types import LavaModel

__all__ = ["AsyncPage", "SyncPage"]

T = TypeVar("T", bound=LavaModel)

MAX_PAGES: Final = 100_000
"""A hard bound on auto-paging, against a server that never stops saying has_more."""


def _parse_page(raw: Any, model: type[T]) -> tuple[list[T], bool, str | None]:
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise LavaError(f"Expected a list response {{data, has_more, next_cursor}}, got {type(raw).__name__}")
    data = [model.model_validate(item) for item in raw["data"]]
    cursor = raw.get("next_cursor")
    return data, bool(raw.get("has_more", False)), cursor if isinstance(cursor, str) and cursor else None


class _BasePage(Generic[T]):
    __slots__ = ("data", "has_more", "next_cursor")

    data: list[T]
    has_more: bool
    next_cursor: str | None

    def has_next_page(self) -> bool:
        return self.has_more and self.next_cursor is not None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(data=<{len(self.data)} items>, "
            f"has_more={self.has_more}, next_cursor={self.next_cursor!r})"
        )


class SyncPage(_BasePage[T]):
    """One page of a list; ``for x in page`` / ``page.auto_paging_iter()`` walk all pages."""

    __slots__ = ("_fetch",)

    def __init__(self, raw: Any, model: type[T], fetch: Callable[[str], SyncPage[T]]) -> None:
        self.data, self.has_more, self.next_cursor = _parse_page(raw, model)
        self._fetch = fetch

    def get_next_page(self) -> SyncPage[T]:
        """Fetch the next page (same filters, ``cursor=next_cursor``)."""
        if self.next_cursor is None or not self.has_more:
            raise LavaError("No next page; check has_next_page() first")
        return self._fetch(self.next_cursor)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        page: SyncPage[T] = self
        for _ in range(MAX_PAGES):
            yield page
            if not page.has_next_page():
                return
            page = page.get_next_page()
        raise LavaError(f"Gave up auto-paging after {MAX_PAGES} pages")

    def auto_paging_iter(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.data

    def __iter__(self) -> Iterator[T]:
        return self.auto_paging_iter()


class AsyncPage(_BasePage[T]):
    """One page of a list; ``async for x in page`` / ``page.auto_paging_iter()`` walk all pages."""

    __slots__ = ("_fetch",)

    def __init__(self, raw: Any, model: type[T], fetch: Callable[[str], Awaitable[AsyncPage[T]]]) -> None:
        self.data, self.has_more, self.next_cursor = _parse_page(raw, model)
        self._fetch = fetch

    async def get_next_page(self) -> AsyncPage[T]:
        """Fetch the next page (same filters, ``cursor=next_cursor``)."""
        if self.next_cursor is None or not self.has_more:
            raise LavaError("No next page; check has_next_page() first")
        return await self._fetch(self.next_cursor)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        page: AsyncPage[T] = self
        for _ in range(MAX_PAGES):
            yield page
            if not page.has_next_page():
                return
            page = await page.get_next_page()
        raise LavaError(f"Gave up auto-paging after {MAX_PAGES} pages")

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        async for page in self.iter_pages():
            for item in page.data:
                yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self.auto_paging_iter()

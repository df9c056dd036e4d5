"""The store interface both backends implement.

SQL in this code base is written once, in the portable subset that SQLite ≥ 3.35
and PostgreSQL ≥ 13 share, with PostgreSQL-style ``$1`` placeholders. The SQLite
backend rewrites placeholders; nothing else differs. Integers for money and for
timestamps (microseconds since the Unix epoch, UTC) keep types portable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, TypeVar

Row = dict[str, Any]
T = TypeVar("T")


class Executor(Protocol):
    """Runs statements; either the database itself (autocommit) or one transaction."""

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...


class Database(Executor, Protocol):
    backend: str  # "sqlite" | "postgres"

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A unit of work: every statement inside commits or none does."""
        ...

    async def write(self, fn: Callable[[Executor], Awaitable[T]], *, durable: bool = True) -> T:
        """Run ``fn(tx)`` as one transaction and return its result.

        ``fn`` may only await ``tx``'s methods: on SQLite it runs on the writer thread, which makes
        a whole transaction one thread hop (the hot path uses this). ``durable=False`` lets the
        embedded store skip the disk flush for this commit (it reaches the disk with the next
        durable one); PostgreSQL ignores it.
        """
        ...

    async def executescript(self, sql: str) -> None: ...

    async def close(self) -> None: ...


class StoreError(Exception):
    """The database is unreachable or refused an operation for a reason that is not the client's."""


class StoreUnavailable(StoreError):
    """The database cannot be reached (refused or lost connection, shutting down, pool timeout).

    Nothing the caller asked for is known to have happened — except that a lost COMMIT may have
    applied: whatever is retried after this must be idempotent (settlement is, by its hold)."""


class UniqueViolation(StoreError):
    """An INSERT hit a unique constraint."""


class TransientConflict(StoreError):
    """The database aborted the transaction to resolve a conflict (deadlock, serialization);
    running the whole transaction again is safe and expected."""


async def aiter_rows(rows: list[Row]) -> AsyncIterator[Row]:  # pragma: no cover - convenience
    for row in rows:
        yield row

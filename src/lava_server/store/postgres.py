"""PostgreSQL backend (asyncpg pool). Same SQL as SQLite; see base.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from .base import Executor, Row, StoreError, TransientConflict, UniqueViolation

T = TypeVar("T")
WRITE_ATTEMPTS = 4


def _wrap(exc: Exception) -> StoreError:
    if isinstance(exc, asyncpg.UniqueViolationError):
        return UniqueViolation(str(exc))
    if isinstance(exc, asyncpg.DeadlockDetectedError | asyncpg.SerializationError):
        return TransientConflict(str(exc))
    return StoreError(str(exc))


class _PgExecutor:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            status: str = await self._conn.execute(sql, *args)
        except (asyncpg.PostgresError, OSError) as exc:
            raise _wrap(exc) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            return [dict(r) for r in await self._conn.fetch(sql, *args)]
        except (asyncpg.PostgresError, OSError) as exc:
            raise _wrap(exc) from exc

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            row = await self._conn.fetchrow(sql, *args)
        except (asyncpg.PostgresError, OSError) as exc:
            raise _wrap(exc) from exc
        return dict(row) if row is not None else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._conn.fetchval(sql, *args)
        except (asyncpg.PostgresError, OSError) as exc:
            raise _wrap(exc) from exc


class PostgresDatabase:
    backend = "postgres"

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._auto = _PgExecutor(pool)

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, command_timeout=30)
        return cls(pool)

    async def execute(self, sql: str, *args: Any) -> int:
        return await self._auto.execute(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return await self._auto.fetchall(sql, *args)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._auto.fetchone(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._auto.fetchval(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PgExecutor(conn)

    async def write(self, fn: Callable[[Executor], Awaitable[T]], *, durable: bool = True) -> T:
        """One transaction; re-run from the start if PostgreSQL aborts it as a deadlock victim
        (``fn`` must be safe to re-run: it recomputes everything from its inputs)."""
        for attempt in range(WRITE_ATTEMPTS):
            try:
                async with self.transaction() as tx:
                    return await fn(tx)
            except TransientConflict:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    async def executescript(self, sql: str) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(sql)

    async def close(self) -> None:
        await self._pool.close()

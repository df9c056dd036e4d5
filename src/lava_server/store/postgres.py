"""PostgreSQL backend (asyncpg pool). Same SQL as SQLite; see base.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from .base import Executor, Row, StoreError, StoreUnavailable, TransientConflict, UniqueViolation

T = TypeVar("T")
WRITE_ATTEMPTS = 4
ACQUIRE_TIMEOUT_S = 30.0  # no pooled connection for this long (every one busy or hung) is an outage (503)
# Everything asyncpg raises when the server is down, restarting or the link broke: one 503 class.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionRefusedError, ConnectionResetError, socket errors on connect
    TimeoutError,  # pool acquire / connect / command timeout
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing", released connection
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now, crash shutdown
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.InternalClientError,
)
_CAUGHT = (asyncpg.PostgresError, *UNAVAILABLE)


def _wrap(exc: BaseException) -> StoreError:
    if isinstance(exc, UNAVAILABLE):
        return StoreUnavailable(f"{type(exc).__name__}: {exc}")
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
        except _CAUGHT as exc:
            raise _wrap(exc) from exc
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            return [dict(r) for r in await self._conn.fetch(sql, *args)]
        except _CAUGHT as exc:
            raise _wrap(exc) from exc

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            row = await self._conn.fetchrow(sql, *args)
        except _CAUGHT as exc:
            raise _wrap(exc) from exc
        return dict(row) if row is not None else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._conn.fetchval(sql, *args)
        except _CAUGHT as exc:
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
        try:
            return await self._auto.execute(sql, *args)
        except StoreUnavailable:
            self._expire()
            raise

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        try:
            return await self._auto.fetchall(sql, *args)
        except StoreUnavailable:
            self._expire()
            raise

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        try:
            return await self._auto.fetchone(sql, *args)
        except StoreUnavailable:
            self._expire()
            raise

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self._auto.fetchval(sql, *args)
        except StoreUnavailable:
            self._expire()
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        """One transaction on one pooled connection. Connection failures anywhere (acquire, any
        statement, COMMIT) surface as :class:`StoreUnavailable`; the pool then drops its other
        connections so the next caller reconnects instead of finding a dead one."""
        try:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn, conn.transaction():
                yield _PgExecutor(conn)
        except StoreUnavailable:
            self._expire()
            raise
        except StoreError:
            raise
        except _CAUGHT as exc:
            wrapped = _wrap(exc)
            if isinstance(wrapped, StoreUnavailable):
                self._expire()
            raise wrapped from exc

    def _expire(self) -> None:
        # Pool.expire_connections() only bumps this generation (it is async for no other reason):
        # every connection older than it is closed and replaced on its next acquire.
        self._pool._generation += 1

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
        try:
            async with self._pool.acquire(timeout=ACQUIRE_TIMEOUT_S) as conn:
                await conn.execute(sql)
        except _CAUGHT as exc:
            raise _wrap(exc) from exc

    async def close(self) -> None:
        await self._pool.close()

"""SQLite backend: the embedded default (one file, WAL mode).

SQLite serialises writers, so this backend has exactly one writer connection,
driven by one thread, and an asyncio lock around each transaction. Reads outside a
transaction go to separate reader connections (WAL lets them run concurrently
with the writer). Nothing here blocks the event loop: every call hops to a thread.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from .base import Executor, Row, StoreError, UniqueViolation

T = TypeVar("T")
_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``$1`` → ``?1``: SQLite's numbered parameters keep the same positions."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def _wrap(exc: sqlite3.Error) -> StoreError:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return UniqueViolation(str(exc))
    return StoreError(str(exc))


class _Conn:
    """One sqlite3 connection pinned to one thread."""

    def __init__(self, path: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lava-sqlite")
        self._path = path
        self.conn: sqlite3.Connection | None = None

    async def open(self) -> None:
        self.conn = await self.run(lambda: _connect(self._path))

    async def run(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn)

    def _c(self) -> sqlite3.Connection:
        assert self.conn is not None, "connection not open"
        return self.conn

    async def execute(self, sql: str, *args: Any) -> int:
        q = translate(sql)

        def go() -> int:
            try:
                return self._c().execute(q, args).rowcount
            except sqlite3.Error as exc:
                raise _wrap(exc) from exc

        return await self.run(go)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        q = translate(sql)

        def go() -> list[Row]:
            try:
                return [dict(r) for r in self._c().execute(q, args).fetchall()]
            except sqlite3.Error as exc:
                raise _wrap(exc) from exc

        return await self.run(go)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        q = translate(sql)

        def go() -> Row | None:
            try:
                row = self._c().execute(q, args).fetchone()
            except sqlite3.Error as exc:
                raise _wrap(exc) from exc
            return dict(row) if row is not None else None

        return await self.run(go)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else next(iter(row.values()))

    async def close(self) -> None:
        if self.conn is not None:
            conn = self.conn
            await self.run(conn.close)
            self.conn = None
        self._pool.shutdown(wait=False)


class SqliteDatabase:
    backend = "sqlite"

    def __init__(self, path: str, readers: int = 2) -> None:
        self.path = path
        self._writer = _Conn(path)
        self._readers = [_Conn(path) for _ in range(readers)]
        self._next_reader = itertools.cycle(self._readers)
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, url: str) -> SqliteDatabase:
        path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = cls(path, readers=0 if path == ":memory:" else 2)
        await db._writer.open()
        for r in db._readers:
            await r.open()
        return db

    def _reader(self) -> _Conn:
        return next(self._next_reader) if self._readers else self._writer

    async def execute(self, sql: str, *args: Any) -> int:
        async with self._write_lock:
            return await self._writer.execute(sql, *args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return await self._reader().fetchall(sql, *args)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return await self._reader().fetchone(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._reader().fetchval(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await asyncio.shield(self._writer.execute("ROLLBACK"))
                raise
            else:
                await asyncio.shield(self._writer.execute("COMMIT"))

    async def executescript(self, sql: str) -> None:
        async with self._write_lock:
            await self._writer.run(lambda: self._writer._c().executescript(sql))

    async def close(self) -> None:
        await self._writer.close()
        for r in self._readers:
            await r.close()

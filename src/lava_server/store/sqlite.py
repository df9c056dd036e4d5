"""SQLite backend: the embedded default (one file, WAL mode).

SQLite serialises writers, so all writes are funnelled through **one writer thread** that owns
the only write connection (``sqlite_writer.py``) and runs jobs from a queue, group-committing the
transactions that queue up behind a busy writer. Two ways in:

- :meth:`SqliteDatabase.write` ships a whole transaction (an ``async def fn(tx)``) to the writer
  thread, where every statement runs inline: one thread hop per transaction. The hot path
  (holds and settlements) uses it.
- :meth:`SqliteDatabase.transaction` keeps the transaction body in the caller's loop and sends
  each statement to the writer thread (one hop per statement) — simpler for code that does other
  awaits in between; it is serialised with ``write`` jobs by the writer's lock.

Reads outside a transaction go to separate reader connections (WAL lets them run concurrently
with the writer). Nothing here runs SQLite on the caller's event loop.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

from .base import Executor, Row
from .sqlite_conn import SYNCHRONOUS_MODES, _connect, _Sync
from .sqlite_writer import _SessionTx, _Writer

T = TypeVar("T")


class _Reader:
    """A read-only connection pinned to one worker thread."""

    def __init__(self, path: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lava-sqlite-read")
        self._path = path
        self._sync: _Sync | None = None

    async def open(self) -> None:
        self._sync = _Sync(await self._run(lambda: _connect(self._path)))

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    async def fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Row]:
        sync = self._sync
        assert sync is not None
        return await self._run(lambda: sync.fetchall(sql, args))

    async def fetchone(self, sql: str, args: tuple[Any, ...]) -> Row | None:
        sync = self._sync
        assert sync is not None
        return await self._run(lambda: sync.fetchone(sql, args))

    async def close(self) -> None:
        if self._sync is not None:
            conn = self._sync.conn
            await self._run(conn.close)
            self._sync = None
        self._pool.shutdown(wait=False)


class SqliteDatabase:
    backend = "sqlite"

    def __init__(self, path: str, readers: int = 2, synchronous: str = "full") -> None:
        self.path = path
        self._writer = _Writer(path, synchronous)
        self._readers = [_Reader(path) for _ in range(readers)]
        self._next_reader = itertools.cycle(self._readers)

    @classmethod
    async def open(cls, url: str, *, synchronous: str = "full") -> SqliteDatabase:
        path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"LAVA_SQLITE_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_MODES)}")
        db = cls(path, readers=0 if path == ":memory:" else 2, synchronous=synchronous)
        db._writer.start()
        for r in db._readers:
            await r.open()
        return db

    async def write(self, fn: Callable[[Executor], Awaitable[T]], *, durable: bool = True) -> T:
        """Run ``fn(tx)`` as one transaction on the writer thread (one hand-off in, one out)."""
        return await self._writer.transact(fn, durable)  # type: ignore[arg-type]

    async def execute(self, sql: str, *args: Any) -> int:
        async def one(tx: Executor) -> int:
            return await tx.execute(sql, *args)

        return await self.write(one)

    async def _read(self, op: str, sql: str, args: tuple[Any, ...]) -> Any:
        if self._readers:
            reader = next(self._next_reader)
            return await getattr(reader, op)(sql, args)

        async def on_writer(tx: Executor) -> Any:
            return await getattr(tx, op)(sql, *args)

        return await self.write(on_writer)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._read("fetchall", sql, args)
        return rows

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._read("fetchone", sql, args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else next(iter(row.values()))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        tx = _SessionTx(self._writer.open_session(asyncio.get_running_loop()))
        try:
            await tx._send("begin")
            yield tx
        except BaseException:
            await asyncio.shield(tx._send("rollback"))
            raise
        else:
            await asyncio.shield(tx._send("commit"))

    async def executescript(self, sql: str) -> None:
        await self._writer.call(lambda sync: sync.conn.executescript(sql))

    async def close(self) -> None:
        self._writer.stop()
        for r in self._readers:
            await r.close()

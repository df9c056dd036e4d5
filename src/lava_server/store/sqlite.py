"""SQLite backend: the embedded default (one file, WAL mode).

SQLite serialises writers, so all writes are funnelled through **one writer thread** that owns
the only write connection and runs its own event loop. Two ways in:

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
import concurrent.futures
import itertools
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
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


CHECKPOINT_INTERVAL_S = 1.0


def _wrap(exc: sqlite3.Error) -> StoreError:
    if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
        return UniqueViolation(str(exc))
    return StoreError(str(exc))


class _Sync:
    """Statement helpers on one connection, called from the thread that owns it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, args: tuple[Any, ...]) -> int:
        try:
            return self.conn.execute(translate(sql), args).rowcount
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def fetchall(self, sql: str, args: tuple[Any, ...]) -> list[Row]:
        try:
            return [dict(r) for r in self.conn.execute(translate(sql), args).fetchall()]
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc

    def fetchone(self, sql: str, args: tuple[Any, ...]) -> Row | None:
        try:
            row = self.conn.execute(translate(sql), args).fetchone()
        except sqlite3.Error as exc:
            raise _wrap(exc) from exc
        return dict(row) if row is not None else None


class _InlineTx:
    """The executor a ``write`` job sees: statements run right here, on the writer thread."""

    def __init__(self, sync: _Sync) -> None:
        self._s = sync

    async def execute(self, sql: str, *args: Any) -> int:
        return self._s.execute(sql, args)

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        return self._s.fetchall(sql, args)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        return self._s.fetchone(sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = self._s.fetchone(sql, args)
        return None if row is None else next(iter(row.values()))


class _Writer:
    """One thread, one write connection, one event loop; jobs run one at a time."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="lava-sqlite-writer", daemon=True)
        self._lock: asyncio.Lock | None = None
        self._sync: _Sync | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._sync = _Sync(_connect(self._path))
            # Checkpoints run on a timer between transactions instead of inside the commit that
            # crosses the threshold (which made every commit pay for it while readers were active).
            self._sync.conn.execute("PRAGMA wal_autocheckpoint=0")
            self._lock = asyncio.Lock()
            self._loop.call_later(CHECKPOINT_INTERVAL_S, self._checkpoint)
        except BaseException as exc:  # reported to open()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._sync.conn.close()
            self._loop.close()

    def _checkpoint(self) -> None:
        sync = self._sync
        if sync is not None and not sync.conn.in_transaction:
            try:
                sync.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:  # a busy checkpoint is simply retried next time
                pass
        self._loop.call_later(CHECKPOINT_INTERVAL_S, self._checkpoint)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise StoreError(f"cannot open {self._path}: {self._error}") from self._error

    async def submit(self, job: Callable[[], Coroutine[Any, Any, T]]) -> T:
        future: concurrent.futures.Future[T] = asyncio.run_coroutine_threadsafe(job(), self._loop)
        # A caller that is cancelled must not abort a transaction half-way: let it finish.
        return await asyncio.shield(asyncio.wrap_future(future))

    async def transact(self, fn: Callable[[Executor], Awaitable[T]]) -> T:
        assert self._lock is not None
        assert self._sync is not None
        async with self._lock:
            self._sync.execute("BEGIN IMMEDIATE", ())
            try:
                result = await fn(_InlineTx(self._sync))
            except BaseException:
                self._sync.execute("ROLLBACK", ())
                raise
            self._sync.execute("COMMIT", ())
            return result

    async def session(self, inbox: asyncio.Queue[tuple[str, Any, concurrent.futures.Future[Any]]]) -> None:
        """Serve one caller-driven transaction: statements arrive one by one until commit/rollback."""
        assert self._lock is not None
        assert self._sync is not None
        async with self._lock:
            began = False
            while True:
                op, payload, reply = await inbox.get()
                try:
                    if op == "begin":
                        self._sync.execute("BEGIN IMMEDIATE", ())
                        began = True
                        reply.set_result(None)
                    elif op in ("commit", "rollback"):
                        if began:
                            self._sync.execute(op.upper(), ())
                        reply.set_result(None)
                        return
                    else:
                        sql, args = payload
                        reply.set_result(getattr(self._sync, op)(sql, args))
                except BaseException as exc:
                    if not reply.done():
                        reply.set_exception(exc)
                    if op in ("commit", "rollback"):
                        if began:
                            self._sync.conn.rollback()
                        return

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self._loop.call_soon_threadsafe(fn, *args)

    def run(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


class _SessionTx:
    """The executor a ``transaction()`` body sees: each statement is a round trip to the writer."""

    def __init__(self, writer: _Writer, inbox: asyncio.Queue[Any]) -> None:
        self._writer = writer
        self._inbox = inbox

    async def _send(self, op: str, payload: Any = None) -> Any:
        reply: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._writer.call_soon(self._inbox.put_nowait, (op, payload, reply))
        return await asyncio.wrap_future(reply)

    async def execute(self, sql: str, *args: Any) -> int:
        return int(await self._send("execute", (sql, args)))

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._send("fetchall", (sql, args))
        return rows

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._send("fetchone", (sql, args))
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchone(sql, *args)
        return None if row is None else next(iter(row.values()))


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

    def __init__(self, path: str, readers: int = 2) -> None:
        self.path = path
        self._writer = _Writer(path)
        self._readers = [_Reader(path) for _ in range(readers)]
        self._next_reader = itertools.cycle(self._readers)

    @classmethod
    async def open(cls, url: str) -> SqliteDatabase:
        path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = cls(path, readers=0 if path == ":memory:" else 2)
        db._writer.start()
        for r in db._readers:
            await r.open()
        return db

    async def write(self, fn: Callable[[Executor], Awaitable[T]]) -> T:
        """Run ``fn(tx)`` as one transaction on the writer thread (one hop in, one out)."""
        return await self._writer.submit(lambda: self._writer.transact(fn))

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
        async def make_inbox() -> asyncio.Queue[Any]:
            return asyncio.Queue()

        inbox = await asyncio.wrap_future(self._writer.run(make_inbox()))
        served = asyncio.wrap_future(self._writer.run(self._writer.session(inbox)))
        tx = _SessionTx(self._writer, inbox)
        try:
            await tx._send("begin")
            yield tx
        except BaseException:
            await asyncio.shield(tx._send("rollback"))
            await asyncio.shield(served)
            raise
        else:
            await asyncio.shield(tx._send("commit"))
            await asyncio.shield(served)

    async def executescript(self, sql: str) -> None:
        async def script() -> None:
            assert self._writer._sync is not None
            self._writer._sync.conn.executescript(sql)

        await self._writer.submit(script)

    async def close(self) -> None:
        self._writer.stop()
        for r in self._readers:
            await r.close()

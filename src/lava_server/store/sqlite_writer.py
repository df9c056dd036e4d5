"""The SQLite writer: one thread, one write connection, group commit.

See ``sqlite.py`` for how the embedded store uses it. Statements run here inline; results go
back to the caller's event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .base import Executor, Row, StoreError
from .sqlite_conn import _connect, _InlineTx, _Sync

T = TypeVar("T")
CHECKPOINT_INTERVAL_S = 1.0


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the caller went away; the work itself has completed
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


def _reply(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    """Hand a result back to the caller's loop; a loop that has closed meanwhile is ignored
    (it must never take the writer thread down with it)."""
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:
        pass


def _drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never really suspends (it only awaits an inline tx) to completion."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise StoreError("a write() transaction awaited something other than its tx")


SESSION_IDLE_TIMEOUT_S = 60.0


class _TxJob:
    """A ``write()`` transaction waiting for the writer: run inside a group commit."""

    __slots__ = ("durable", "fn", "future", "loop")

    def __init__(
        self, fn: Callable[[Executor], Coroutine[Any, Any, Any]], loop: asyncio.AbstractEventLoop, durable: bool
    ) -> None:
        self.fn = fn
        self.loop = loop
        self.durable = durable
        self.future: asyncio.Future[Any] = loop.create_future()


MAX_GROUP = 64  # write() transactions committed together at most


class _Writer:
    """One thread, one write connection, a queue of jobs run strictly one after another.

    ``write()`` transactions that queue up while the writer is busy are **group-committed**: one
    SQLite transaction (run without savepoints; if a job fails, the group is rolled back and run
    again with each job in its own savepoint, so a job that fails rolls back alone),
    one COMMIT, and only then are their results delivered — nobody hears "done" before the
    commit. Other jobs are plain functions. Between jobs, WAL checkpoints run on a timer.
    """

    def __init__(self, path: str, synchronous: str = "full") -> None:
        self._path = path
        self._synchronous = synchronous
        self._wal_fd: int | None = None
        self._jobs: queue.SimpleQueue[Callable[[], None] | _TxJob | None] = queue.SimpleQueue()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="lava-sqlite-writer", daemon=True)
        self.sync: _Sync | None = None

    def _main(self) -> None:
        try:
            # The connection itself runs at NORMAL (never fsyncs a commit); with ``full`` every
            # durable commit is then made durable by :meth:`_flush` (an fsync of the WAL), so a
            # non-durable hold needs no PRAGMA switch before and after it (2 statements per call).
            sync = _Sync(_connect(self._path, "normal"))
            # Checkpoints run on a timer between transactions instead of inside the commit that
            # crosses the threshold (which made every commit pay for it while readers were active).
            sync.conn.execute("PRAGMA wal_autocheckpoint=0")
        except BaseException as exc:  # reported to open()
            self._error = exc
            self._ready.set()
            return
        self.sync = sync
        self._ready.set()
        next_checkpoint = time.monotonic() + CHECKPOINT_INTERVAL_S
        while True:
            try:
                job = self._jobs.get(timeout=CHECKPOINT_INTERVAL_S)
            except queue.Empty:
                job = _idle
            if job is None:  # stop()
                break
            if isinstance(job, _TxJob):
                pending = self._group(sync, job)
                if pending is None:
                    break
                if pending is not _idle:
                    pending()  # a non-transaction job that arrived behind the group
            else:
                job()
            if time.monotonic() >= next_checkpoint:
                next_checkpoint = time.monotonic() + CHECKPOINT_INTERVAL_S
                try:
                    sync.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:  # a busy checkpoint is simply retried next time
                    pass
        sync.conn.close()

    def _group(self, sync: _Sync, first: _TxJob) -> Callable[[], None] | None:
        """Run ``first`` and every transaction queued behind it as one group commit.

        Returns the next non-transaction job taken off the queue (``_idle`` if none, ``None`` for stop).
        """
        group = [first]
        follower: Callable[[], None] | None = _idle
        while len(group) < MAX_GROUP:
            try:
                nxt = self._jobs.get_nowait()
            except queue.Empty:
                break
            if isinstance(nxt, _TxJob):
                group.append(nxt)
            else:
                follower = nxt
                break
        outcomes: list[tuple[Any, BaseException | None]] = []
        try:
            # With synchronous=full, a group that moves money is fsynced at commit; a group of
            # only non-durable jobs (holds placed before forwarding) is not, and reaches the disk
            # with the next durable commit.
            durable = any(job.durable for job in group)
            sync.execute("BEGIN IMMEDIATE", ())
            if len(group) == 1:  # alone in its transaction: no savepoint needed (the common case at c=1)
                return self._alone(sync, first, follower, durable)
            optimistic = self._optimistic(sync, group)
            if optimistic is not None:
                outcomes = optimistic
            else:  # a job failed: run the group again, each job in its own savepoint
                sync.conn.rollback()
                sync.execute("BEGIN IMMEDIATE", ())
                outcomes = []
                for job in group:
                    sync.execute("SAVEPOINT job", ())
                    try:
                        result = _drive(job.fn(_InlineTx(sync)))
                    except BaseException as exc:
                        sync.execute("ROLLBACK TO job", ())
                        sync.execute("RELEASE job", ())
                        outcomes.append((None, exc))
                    else:
                        sync.execute("RELEASE job", ())
                        outcomes.append((result, None))
            sync.execute("COMMIT", ())
            if durable:
                self._flush()
        except BaseException as exc:  # the group could not commit: nothing in it happened
            if sync.conn.in_transaction:
                sync.conn.rollback()
            outcomes = [(None, exc)] * len(group)
        for job, (result, error) in zip(group, outcomes, strict=True):
            _reply(job.loop, job.future, result, error)
        return follower

    @staticmethod
    def _optimistic(sync: _Sync, group: list[_TxJob]) -> list[tuple[Any, BaseException | None]] | None:
        """Run every job of the group without savepoints (two statements per job saved); ``None``
        as soon as one fails, and the caller rolls the whole group back and runs it again with a
        savepoint per job. Re-running a job is safe: ``Database.write`` functions recompute
        everything from their inputs (PostgreSQL re-runs them after a deadlock, too)."""
        outcomes: list[tuple[Any, BaseException | None]] = []
        for job in group:
            try:
                outcomes.append((_drive(job.fn(_InlineTx(sync))), None))
            except BaseException:
                return None
        return outcomes

    def _flush(self) -> None:
        """With ``synchronous=full``: make the commits so far durable before anyone hears of them.

        The write connection runs at NORMAL, which in WAL mode keeps the database consistent on a
        crash or power loss but syncs the WAL only at checkpoints; an ``fsync`` of the WAL file
        right after ``COMMIT`` gives a commit exactly what FULL gives it (SQLite FULL syncs the
        WAL at each commit). ``fsync`` is per file, so a descriptor kept open serves; it is
        reopened if the WAL was deleted meanwhile. Raises OSError if the disk refuses."""
        if self._synchronous != "full" or self._path == ":memory:":
            return
        fd = self._wal_fd
        if fd is not None and os.fstat(fd).st_nlink == 0:
            os.close(fd)
            fd = self._wal_fd = None
        if fd is None:
            try:
                fd = self._wal_fd = os.open(self._path + "-wal", os.O_RDONLY)
            except FileNotFoundError:  # no WAL (yet): the commit can only be in the database file
                db = os.open(self._path, os.O_RDONLY)
                try:
                    os.fsync(db)
                finally:
                    os.close(db)
                return
        os.fsync(fd)

    def _alone(
        self, sync: _Sync, job: _TxJob, follower: Callable[[], None] | None, durable: bool = True
    ) -> Callable[[], None] | None:
        """Finish a group of one job inside the transaction ``_group`` began: its failure rolls
        back the transaction, exactly as its savepoint would have."""
        try:
            result = _drive(job.fn(_InlineTx(sync)))
        except BaseException as exc:
            if sync.conn.in_transaction:
                sync.conn.rollback()
            _reply(job.loop, job.future, None, exc)
            return follower
        try:
            sync.execute("COMMIT", ())
            if durable:
                self._flush()
        except BaseException as exc:
            if sync.conn.in_transaction:
                sync.conn.rollback()
            _reply(job.loop, job.future, None, exc)
            return follower
        _reply(job.loop, job.future, result, None)
        return follower

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise StoreError(f"cannot open {self._path}: {self._error}") from self._error

    async def call(self, work: Callable[[_Sync], T]) -> T:
        """Run ``work(sync)`` on the writer thread and await its result."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        sync = self.sync
        assert sync is not None, "writer not started"

        def job() -> None:
            try:
                result = work(sync)
                self._flush()
            except BaseException as exc:
                _reply(loop, future, None, exc)
            else:
                _reply(loop, future, result, None)

        self._jobs.put(job)
        # A caller that is cancelled must not abort a transaction half-way: the job runs to the end.
        return await asyncio.shield(future)

    async def transact(self, fn: Callable[[Executor], Coroutine[Any, Any, T]], durable: bool = True) -> T:
        job = _TxJob(fn, asyncio.get_running_loop(), durable)
        self._jobs.put(job)
        # A caller that is cancelled must not abort a transaction half-way: the job runs to the end.
        result: T = await asyncio.shield(job.future)
        return result

    def open_session(self, loop: asyncio.AbstractEventLoop) -> queue.SimpleQueue[Any]:
        """Hand the writer to one caller-driven transaction until it commits or rolls back."""
        inbox: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def session() -> None:
            sync = self.sync
            assert sync is not None
            began = False
            expired = False
            while True:
                try:
                    op, payload, future = inbox.get(timeout=SESSION_IDLE_TIMEOUT_S)
                except queue.Empty:  # the caller went quiet mid-transaction: never hold the writer forever
                    if began and not expired:
                        sync.conn.rollback()
                    if expired:
                        return
                    expired = True
                    continue
                if expired:  # answer late operations instead of leaving the caller waiting
                    _reply(loop, future, None, StoreError("the transaction expired: it was idle too long"))
                    if op in ("commit", "rollback"):
                        return
                    continue
                try:
                    if op == "begin":
                        sync.execute("BEGIN IMMEDIATE", ())
                        began = True
                        result: Any = None
                    elif op in ("commit", "rollback"):
                        if began:
                            sync.execute(op.upper(), ())
                            if op == "commit":
                                self._flush()
                        result = None
                    else:
                        sql, args = payload
                        result = getattr(sync, op)(sql, args)
                except BaseException as exc:
                    if op in ("commit", "rollback") and began and sync.conn.in_transaction:
                        sync.conn.rollback()
                    _reply(loop, future, None, exc)
                    if op in ("commit", "rollback"):
                        return
                    continue
                _reply(loop, future, result, None)
                if op in ("commit", "rollback"):
                    return

        self._jobs.put(session)
        return inbox

    def stop(self) -> None:
        if self._thread.is_alive():
            self._jobs.put(None)
            self._thread.join(timeout=10)
        if self._wal_fd is not None and not self._thread.is_alive():
            os.close(self._wal_fd)
            self._wal_fd = None


def _idle() -> None:
    """Nothing to do; the loop only wakes up to run due checkpoints."""


class _SessionTx:
    """The executor a ``transaction()`` body sees: each statement is a round trip to the writer."""

    def __init__(self, inbox: queue.SimpleQueue[Any]) -> None:
        self._inbox = inbox

    async def _send(self, op: str, payload: Any = None) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inbox.put((op, payload, future))
        try:
            async with asyncio.timeout(3 * SESSION_IDLE_TIMEOUT_S):
                return await future
        except TimeoutError:
            raise StoreError("the database writer did not answer") from None

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

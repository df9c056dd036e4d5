"""``synchronous=full`` on the embedded store: every durable commit is fsynced before it is
acknowledged, a non-durable one (a hold) is not, and no ``PRAGMA synchronous`` switch runs per
transaction (the connection stays at NORMAL; the writer fsyncs the WAL itself)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from lava_server.store import Executor, sqlite_writer
from lava_server.store.sqlite import SqliteDatabase

_REAL_FSYNC = os.fsync


class _Fsyncs:
    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, fd: int) -> None:
        self.paths.append(os.readlink(f"/proc/self/fd/{fd}"))
        _REAL_FSYNC(fd)


async def _insert(tx: Executor) -> None:
    await tx.execute("INSERT INTO t (v) VALUES (1)")


@pytest.mark.parametrize("mode", ["full", "normal"])
async def test_durable_commits_are_fsynced_and_holds_are_not(tmp_path: Path, mode: str) -> None:
    db = await SqliteDatabase.open(f"sqlite:///{tmp_path / 'x.db'}", synchronous=mode)
    fsyncs = _Fsyncs()
    mp = pytest.MonkeyPatch()
    mp.setattr(sqlite_writer.os, "fsync", fsyncs)
    statements: list[str] = []
    try:
        await db.executescript("CREATE TABLE t (v INTEGER)")
        db._writer.sync.conn.set_trace_callback(statements.append)  # type: ignore[union-attr]
        fsyncs.paths.clear()
        await db.write(_insert, durable=False)
        assert fsyncs.paths == []  # a hold reaches the disk with the next durable commit
        await db.write(_insert)
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (v) VALUES (2)")
        if mode == "full":
            assert [Path(p).name for p in fsyncs.paths] == ["x.db-wal", "x.db-wal"]
        else:
            assert fsyncs.paths == []
        assert not any("synchronous" in s for s in statements), statements
        assert await db.fetchval("SELECT COUNT(*) FROM t") == 3
    finally:
        mp.undo()
        await db.close()


async def test_a_deleted_wal_is_reopened(tmp_path: Path) -> None:
    """The kept descriptor follows the WAL file: if it was unlinked, the next flush opens the new one."""
    path = tmp_path / "y.db"
    db = await SqliteDatabase.open(f"sqlite:///{path}")
    try:
        await db.executescript("CREATE TABLE t (v INTEGER)")
        await db.write(_insert)
        writer = db._writer
        old = writer._wal_fd
        assert old is not None
        os.rename(str(path) + "-wal", str(tmp_path / "moved"))
        os.unlink(tmp_path / "moved")
        os.close(os.open(str(path) + "-wal", os.O_CREAT | os.O_RDONLY))  # a new file under the name
        writer._flush()
        assert writer._wal_fd is not None
        assert os.fstat(writer._wal_fd).st_ino == os.stat(str(path) + "-wal").st_ino
    finally:
        await db.close()


async def test_a_group_without_failures_takes_no_savepoints(tmp_path: Path) -> None:
    """Group commit runs its jobs without savepoints; only a group in which a job fails is run
    again with one savepoint per job, and then the failing job rolls back alone."""
    db = await SqliteDatabase.open(f"sqlite:///{tmp_path / 'g.db'}")
    statements: list[str] = []
    try:
        await db.executescript("CREATE TABLE t (v INTEGER)")
        db._writer.sync.conn.set_trace_callback(statements.append)  # type: ignore[union-attr]

        def job(i: int, fail: bool = False):  # type: ignore[no-untyped-def]
            async def body(tx: Executor) -> int:
                await tx.execute("INSERT INTO t (v) VALUES ($1)", i)
                if fail:
                    raise RuntimeError(f"job {i} fails after writing")
                return i

            return body

        assert await asyncio.gather(*(db.write(job(i)) for i in range(20))) == list(range(20))
        assert sum(s.startswith("BEGIN") for s in statements) < 20  # some jobs were grouped
        assert not any(s.startswith("SAVEPOINT") for s in statements)
        statements.clear()
        results = await asyncio.gather(
            *(db.write(job(100 + i, fail=i == 5)) for i in range(20)), return_exceptions=True
        )
        assert [type(r) for r in results].count(RuntimeError) == 1
        assert isinstance(results[5], RuntimeError)
        rows = await db.fetchall("SELECT v FROM t WHERE v >= 100 ORDER BY v")
        assert [r["v"] for r in rows] == [100 + i for i in range(20) if i != 5]
    finally:
        await db.close()

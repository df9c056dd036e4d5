"""SQLite connections and the statement helpers the writer thread runs on them: ``$n``
placeholders translated, WAL and the synchronous mode set, errors mapped to store errors.

Used by ``sqlite_writer.py`` (the writer thread) and ``sqlite.py`` (the embedded store).
"""

from __future__ import annotations

import re
import sqlite3
from functools import lru_cache
from typing import Any

from .base import Row, StoreError, UniqueViolation

_PLACEHOLDER = re.compile(r"\$(\d+)")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """``$1`` → ``?1``: SQLite's numbered parameters keep the same positions."""
    return _PLACEHOLDER.sub(r"?\1", sql)


SYNCHRONOUS_MODES = ("full", "normal")


def _connect(path: str, synchronous: str = "full") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL (default): an acknowledged commit (a charge, a checkout credit) survives an OS crash
    # or power loss, not only a process crash; group commit amortises the extra fsync. NORMAL
    # survives process crashes only, and is faster (docs/benchmarks.md).
    assert synchronous in SYNCHRONOUS_MODES, synchronous
    conn.execute(f"PRAGMA synchronous={synchronous.upper()}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


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

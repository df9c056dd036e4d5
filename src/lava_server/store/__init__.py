"""Persistence: one Database interface, SQLite (embedded default) and PostgreSQL backends."""

from __future__ import annotations

from .base import Database, Executor, Row, StoreError, StoreUnavailable, UniqueViolation


async def open_database(url: str, *, sqlite_synchronous: str = "full") -> Database:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://…``)."""
    if url.startswith("sqlite:"):
        from .sqlite import SqliteDatabase

        return await SqliteDatabase.open(url, synchronous=sqlite_synchronous)
    if url.startswith(("postgresql:", "postgres:", "postgresql+asyncpg:")):
        from .postgres import PostgresDatabase

        return await PostgresDatabase.open(url)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://…")


__all__ = ["Database", "Executor", "Row", "StoreError", "StoreUnavailable", "UniqueViolation", "open_database"]

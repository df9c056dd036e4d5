"""Versioned schema migrations: numbered SQL files applied once, in order.

``migrations/NNNN_name.sql`` files are portable SQL. Applied versions are recorded in
``schema_migrations``. On PostgreSQL an advisory lock keeps concurrently starting
replicas from racing.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources

from .base import Database

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_ADVISORY_LOCK_ID = 0x1A7A_0001


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        m = _NAME.match(entry.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    # Numbers are handed out per change set ahead of time, so a checkout may lack some; they must
    # still be unique and are applied in order.
    assert len(set(versions)) == len(versions), f"migration numbers must be unique: {versions}"
    return found


async def migrate(db: Database) -> list[int]:
    """Apply every pending migration in one transaction; returns the versions applied now."""
    async with db.transaction() as tx:
        if db.backend == "postgres":
            await tx.execute("SELECT pg_advisory_xact_lock($1)", _ADVISORY_LOCK_ID)
        await tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        )
        done = {int(r["version"]) for r in await tx.fetchall("SELECT version FROM schema_migrations")}
        newly: list[int] = []
        for mig in available():
            if mig.version in done:
                continue
            for statement in _statements(mig.sql):
                await tx.execute(statement)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                mig.version,
                mig.name,
                time.time_ns() // 1000,
            )
            newly.append(mig.version)
        return newly


def _statements(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]

"""Ordered, recorded schema migrations for both ledger backends.

Each backend has its own directory of SQL files, `migrations/<backend>/NNNN_name.sql`,
numbered from 1 without gaps. A database records what it has in `schema_version`; opening
a store applies the missing versions in order, each in the same transaction as its
`schema_version` row, so a crash mid-migration leaves the previous version intact and
reopening simply continues. The backend holds its write lock around the whole run, so two
processes opening one database at once cannot both apply a version.

A database that records a version this code does not know was migrated by a newer
arbctl: we refuse to touch it rather than write rows an old schema reading cannot vouch for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass
from importlib import resources
from typing import Literal, Protocol

from engine.ledger.errors import LedgerError

Backend = Literal["sqlite", "postgres"]

# Portable on purpose: SQLite reads DOUBLE PRECISION as REAL.
VERSION_TABLE_DDL = """
CREATE TABLE IF NOT EXISTS schema_version (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)
"""

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(LedgerError):
    """The migration files or the database's recorded versions are inconsistent."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


class MigrationTarget(Protocol):
    """What a backend provides, inside one transaction that holds its write lock."""

    async def applied_versions(self) -> set[int]: ...

    async def apply(self, migration: Migration, applied_at: float) -> None:
        """Run the migration's SQL and insert its `schema_version` row."""


def load(backend: Backend) -> list[Migration]:
    """The backend's migrations in version order; gaps or duplicates are a packaging bug."""
    folder = resources.files("engine.ledger").joinpath("migrations", backend)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"{backend} migrations must be numbered 1..n, found {versions}")
    return found


def pending(migrations: list[Migration], applied: Collection[int]) -> list[Migration]:
    known = {m.version for m in migrations}
    unknown = sorted(set(applied) - known)
    if unknown:
        raise MigrationError(
            f"database has schema version(s) {unknown} that this arbctl does not know "
            f"(latest known: {max(known, default=0)}); it was migrated by a newer release"
        )
    return [m for m in migrations if m.version not in applied]


async def migrate(target: MigrationTarget, migrations: list[Migration]) -> int:
    """Apply what is missing, in order; returns how many migrations ran."""
    todo = pending(migrations, await target.applied_versions())
    for migration in todo:
        await target.apply(migration, time.time())
    return len(todo)

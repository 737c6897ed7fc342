"""Versioned migrations: node/store/migrations/NNNN_name.sql, applied in order, once each."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from importlib import resources

from node.store.db import Database, StorageError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every packaged migration, in order."""
    out = []
    for entry in resources.files("node.store.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            out.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(out)


async def applied_versions(db: Database) -> set[int]:
    await db.executescript(
        "CREATE TABLE IF NOT EXISTS schema_migrations"
        " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    rows = await db.fetchall("SELECT version FROM schema_migrations")
    return {row[0] for row in rows}


async def _refuse_newer(
    db: Database, done: set[int], migrations: list[tuple[int, str, str]]
) -> None:
    """StorageError if the database holds migrations this code does not know: a newer version
    wrote it, and the older code would misread it."""
    unknown = done - {version for version, _, _ in migrations}
    if unknown:
        rows = await db.fetchall("SELECT version, name FROM schema_migrations ORDER BY version")
        names = ", ".join(name for version, name in rows if version in unknown)
        raise StorageError(
            f"{db.path}: the database was migrated by a newer version of Hearth ({names});"
            " run that version, or restore a backup"
        )


async def pending(db: Database) -> tuple[list[str], bool]:
    """The names of the packaged migrations the database lacks, and whether it has none of
    them (a database no pod has run on), read without writing anything: a command must not
    change the schema under a pod still running the code that came before it. StorageError as
    `migrate` for a database of a newer version."""
    table = await db.fetchval(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    )
    done = (
        {row[0] for row in await db.fetchall("SELECT version FROM schema_migrations")}
        if table
        else set()
    )
    migrations = available()
    await _refuse_newer(db, done, migrations)
    return [name for version, name, _ in migrations if version not in done], not done


async def migrate(db: Database, starting: Callable[[str], None] | None = None) -> list[str]:
    """Apply what is missing; returns the names applied. Each migration is its own transaction.

    A database that holds migrations this code does not know was written by a newer version:
    StorageError, before anything is changed. `starting` is told each migration's name before
    it runs: one can take minutes on a large database.
    """
    done = await applied_versions(db)
    migrations = available()
    await _refuse_newer(db, done, migrations)
    ran = []
    for version, name, sql in migrations:
        if version in done:
            continue
        if starting is not None:
            starting(name)
        try:
            await db.executescript(
                "BEGIN IMMEDIATE;\n"
                + sql
                + f"\nINSERT INTO schema_migrations VALUES ({version}, '{name}',"
                " strftime('%Y-%m-%dT%H:%M:%fZ','now'));\nCOMMIT;"
            )
        except sqlite3.Error:
            # Another process (serve starting while a command runs) applied it since we looked:
            # its transaction is rolled back and the migration is done all the same.
            if version in await applied_versions(db):
                continue
            raise
        ran.append(name)
    return ran

"""Migrations applied by two processes at once (serve starting while a command runs), and
what a migration makes of data stored before it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from node.store.db import Database
from node.store.migrate import applied_versions, available, migrate


async def test_two_connections_migrating_at_once_both_succeed(tmp_path: Path) -> None:
    first = await Database(tmp_path / "pod.db").open()
    second = await Database(tmp_path / "pod.db").open()
    try:
        # Both read the applied versions before either applies anything.
        ran = await asyncio.gather(migrate(first), migrate(second))
        assert sorted(ran[0] + ran[1]) == sorted(name for _, name, _ in available())
        assert await applied_versions(second) == {v for v, _, _ in available()}
        assert await migrate(first) == []
    finally:
        await first.close()
        await second.close()


async def test_identities_stored_before_kinds_get_theirs(tmp_path: Path) -> None:
    """A remote Group stored before identities had kinds is a group; other actors and ours are
    persons; a person of the group's handle can be stored beside it afterwards."""
    db = await Database(tmp_path / "pod.db").open()
    try:
        kinds = next(v for v, name, _ in available() if name.endswith("_identity_kinds.sql"))
        await applied_versions(db)
        for version, name, sql in available():
            if version < kinds:
                await db.executescript(
                    f"{sql}\nINSERT INTO schema_migrations VALUES ({version}, '{name}', '');"
                )
        now = "2026-01-01T00:00:00Z"
        insert = (
            "INSERT INTO identities (guid, username, domain, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)"
        )
        async with db.transaction() as tx:
            for guid, username, domain, actor_type in [
                ("g1", "rust", "lemmy.example", "Group"),
                ("p1", "eve", "lemmy.example", "Person"),
                ("l1", "alice", None, None),
            ]:
                await tx.execute(insert, (guid, username, domain, now, now))
                if actor_type is not None:
                    await tx.execute(
                        "INSERT INTO remote_actors (identity_guid, uri, actor_type, inbox,"
                        " key_id, public_key_pem, fetched_at) VALUES (?, ?, ?, '', '', '', ?)",
                        (guid, f"https://{domain}/{guid}", actor_type, now),
                    )

        await migrate(db)
        rows = await db.fetchall("SELECT guid, kind FROM identities ORDER BY guid")
        assert [tuple(r) for r in rows] == [("g1", "group"), ("l1", "person"), ("p1", "person")]
        async with db.transaction() as tx:
            await tx.execute(insert, ("p2", "Rust", "lemmy.example", now, now))
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as tx:
                await tx.execute(insert, ("p3", "RUST", "lemmy.example", now, now))
    finally:
        await db.close()

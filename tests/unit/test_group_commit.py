"""Group commit: transactions of one turn share a COMMIT, each in its own SAVEPOINT."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.store import db as db_module
from node.store.db import Database, Tx

SCHEMA = """
CREATE TABLE parents (id INTEGER PRIMARY KEY);
CREATE TABLE items (
    id INTEGER PRIMARY KEY,
    parent INTEGER REFERENCES parents (id)
);
INSERT INTO parents VALUES (1);
"""


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database(tmp_path / "t.db").open()
    await database.executescript(SCHEMA)
    yield database
    await database.close()


def stored(path: Path | str) -> list[int]:
    """What a separate connection sees: only what was committed."""
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT id FROM items ORDER BY id")]
    finally:
        conn.close()


async def insert(db: Database, item: int, fail: bool = False) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO items (id, parent) VALUES (?, 1)", (item,))
        if fail:
            raise ValueError("the caller changed its mind")


async def test_each_caller_returns_once_its_write_is_committed(db: Database) -> None:
    await asyncio.gather(*(insert(db, i) for i in range(1, 21)))
    assert stored(db.path) == list(range(1, 21))


async def test_a_failed_transaction_undoes_only_itself(db: Database) -> None:
    results = await asyncio.gather(
        insert(db, 1), insert(db, 2, fail=True), insert(db, 3), return_exceptions=True
    )
    assert [type(r) for r in results] == [type(None), ValueError, type(None)]
    assert stored(db.path) == [1, 3]


async def test_a_failed_commit_reaches_every_transaction_of_its_group(db: Database) -> None:
    async def breaks_the_commit() -> None:
        async with db.transaction() as tx:
            # Checked at COMMIT, so the whole group's COMMIT fails.
            await tx.execute("PRAGMA defer_foreign_keys = ON")
            await tx.execute("INSERT INTO items (id, parent) VALUES (10, 99)")

    results = await asyncio.gather(
        insert(db, 1), breaks_the_commit(), insert(db, 2), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert stored(db.path) == []
    # The writer is usable again afterwards.
    await insert(db, 3)
    assert stored(db.path) == [3]


async def test_a_caller_cancelled_while_committing_still_has_its_write_kept(
    db: Database,
) -> None:
    first = asyncio.create_task(insert(db, 1))
    second = asyncio.create_task(insert(db, 2))
    await asyncio.sleep(0)  # both are inside the group now, waiting for the COMMIT
    await asyncio.sleep(0)
    first.cancel()
    await second
    with pytest.raises(asyncio.CancelledError):
        await first
    assert stored(db.path) == [1, 2]


async def test_closing_commits_what_was_written(tmp_path: Path) -> None:
    db = await Database(tmp_path / "t.db").open()
    await db.executescript(SCHEMA)
    task = asyncio.create_task(insert(db, 7))
    await asyncio.sleep(0)
    await db.close()
    await asyncio.gather(task, return_exceptions=True)
    assert stored(tmp_path / "t.db") == [7]


async def test_a_statement_that_loses_the_whole_transaction_is_told_to_its_group(
    db: Database,
) -> None:
    """Disk full (or an I/O error) in a statement makes SQLite roll back the whole open
    transaction, the group's other writes with it: those callers are told, the failing one
    sees its own error, and a transaction that starts afterwards commits in a new group."""
    await db.executescript("CREATE TABLE blobs (data BLOB)")
    pages = db.writer.execute("PRAGMA page_count").fetchone()[0]
    db.writer.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from here on

    async def fills_the_disk() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO blobs VALUES (?)", (b"x" * 100_000,))

    async def after() -> None:
        await asyncio.sleep(0)  # once the statement above has failed, before any COMMIT
        await insert(db, 3)

    results = await asyncio.gather(insert(db, 1), fills_the_disk(), after(), return_exceptions=True)
    assert isinstance(results[0], sqlite3.Error), results  # its write was rolled back
    assert isinstance(results[1], sqlite3.Error) and results[1].sqlite_errorname == (
        "SQLITE_FULL"
    ), results
    assert results[2] is None, results
    assert stored(db.path) == [3]
    await insert(db, 4)
    assert stored(db.path) == [3, 4]


# --- Database.apply: effects queued together run back to back and share a COMMIT ----------


async def add(db: Database, item: int, fail: bool = False) -> int:
    async def effect(tx: Tx) -> int:
        await tx.execute("INSERT INTO items (id, parent) VALUES (?, 1)", (item,))
        if fail:
            raise ValueError("the caller changed its mind")
        return item * 10

    return await db.apply(effect)


async def test_applied_effects_return_their_results_once_committed(db: Database) -> None:
    seen: list[list[int]] = []
    original = db._commit

    def commit() -> sqlite3.Error | None:
        seen.append(stored(db.path))  # what others saw just before this COMMIT
        return original()

    db._commit = commit  # type: ignore[method-assign]
    results = await asyncio.gather(*(add(db, i) for i in range(1, 21)))
    assert results == [i * 10 for i in range(1, 21)]
    assert stored(db.path) == list(range(1, 21))
    assert seen == [[]]  # the twenty shared one COMMIT


async def test_an_applied_effect_that_fails_undoes_only_itself(db: Database) -> None:
    results = await asyncio.gather(
        add(db, 1), add(db, 2, fail=True), add(db, 3), return_exceptions=True
    )
    assert results[0] == 10 and results[2] == 30
    assert isinstance(results[1], ValueError)
    assert stored(db.path) == [1, 3]


async def test_a_failed_commit_reaches_every_applied_effect_of_its_batch(db: Database) -> None:
    async def breaks_the_commit(tx: Tx) -> None:
        await tx.execute("PRAGMA defer_foreign_keys = ON")
        await tx.execute("INSERT INTO items (id, parent) VALUES (10, 99)")

    results = await asyncio.gather(
        add(db, 1), db.apply(breaks_the_commit), add(db, 2), return_exceptions=True
    )
    assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
    assert stored(db.path) == []
    assert await add(db, 3) == 30
    assert stored(db.path) == [3]


async def test_an_effect_whose_caller_is_gone_before_it_runs_is_not_run(db: Database) -> None:
    gone = asyncio.create_task(add(db, 1))
    await asyncio.sleep(0)  # queued, not run yet: the batch starts on the next turn
    gone.cancel()
    assert await add(db, 2) == 20
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert stored(db.path) == [2]


async def test_applied_effects_after_a_lost_transaction_commit_in_a_new_group(
    db: Database,
) -> None:
    await db.executescript("CREATE TABLE blobs (data BLOB)")
    pages = db.writer.execute("PRAGMA page_count").fetchone()[0]
    db.writer.execute(f"PRAGMA max_page_count = {pages}")

    async def fills_the_disk(tx: Tx) -> None:
        await tx.execute("INSERT INTO blobs VALUES (?)", (b"x" * 100_000,))

    results = await asyncio.gather(
        add(db, 1), db.apply(fills_the_disk), add(db, 3), return_exceptions=True
    )
    assert isinstance(results[0], sqlite3.Error), results  # rolled back with the group
    assert isinstance(results[1], sqlite3.Error) and results[1].sqlite_errorname == (
        "SQLITE_FULL"
    ), results
    assert results[2] == 30, results
    assert stored(db.path) == [3]


async def test_an_effect_that_carries_on_after_its_transaction_is_lost_is_told_so(
    db: Database,
) -> None:
    """An effect that catches the error of a statement that lost the whole transaction (disk
    full) and returns: its caller and the group's are told the write failed, as with a
    `transaction()` block, and the next effects commit in a new group."""
    await db.executescript("CREATE TABLE blobs (data BLOB)")
    pages = db.writer.execute("PRAGMA page_count").fetchone()[0]
    db.writer.execute(f"PRAGMA max_page_count = {pages}")

    async def carries_on(tx: Tx) -> str:
        with contextlib.suppress(sqlite3.OperationalError):
            await tx.execute("INSERT INTO blobs VALUES (?)", (b"x" * 100_000,))
        return "carried on"

    results = await asyncio.wait_for(
        asyncio.gather(add(db, 1), db.apply(carries_on), add(db, 3), return_exceptions=True), 2
    )
    assert isinstance(results[0], sqlite3.Error), results
    assert isinstance(results[1], sqlite3.Error), results
    assert results[2] == 30, results
    assert await asyncio.wait_for(add(db, 4), 2) == 40
    assert stored(db.path) == [3, 4]


async def test_apply_and_transactions_share_the_writer_in_turn(db: Database) -> None:
    results = await asyncio.gather(add(db, 1), insert(db, 2), add(db, 3), insert(db, 4))
    assert results == [10, None, 30, None]
    assert stored(db.path) == [1, 2, 3, 4]


async def test_apply_on_a_closed_database_is_refused(tmp_path: Path) -> None:
    db = await Database(tmp_path / "t.db").open()
    await db.executescript(SCHEMA)
    queued = asyncio.create_task(add(db, 5))
    await asyncio.sleep(0)
    await db.close()  # what was queued before is written first
    assert await queued == 50
    with pytest.raises(sqlite3.ProgrammingError):
        await add(db, 6)
    assert stored(tmp_path / "t.db") == [5]


async def test_the_wal_stays_bounded_under_writes_that_never_pause(db: Database) -> None:
    await db.executescript("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    page = db.writer.execute("PRAGMA page_size").fetchone()[0]
    wal = Path(f"{db.path}-wal")
    largest = 0

    async def note(tx: Tx) -> None:
        await tx.execute("INSERT INTO notes (body) VALUES (?)", ("x" * 500,))

    async def writes() -> None:
        nonlocal largest
        for _ in range(12_500):  # a page or so each: several times the bound below
            await db.apply(note)
            largest = max(largest, wal.stat().st_size)

    async def reads() -> None:
        while not done.is_set():
            await db.fetchval("SELECT max(id) FROM notes")

    done = asyncio.Event()
    reader = asyncio.create_task(reads())
    await asyncio.gather(writes(), writes())
    done.set()
    await reader
    assert await db.fetchval("SELECT count(*) FROM notes") == 25_000
    # Checkpoints copy it into the database file, and it is started over.
    assert largest < 3 * db_module.WAL_LIMIT_PAGES * page


async def test_connections_read_pages_rather_than_map_the_file(db: Database) -> None:
    # A mapped file is unmapped and mapped again by every connection after another's commit.
    assert await db.inline.fetchval("PRAGMA mmap_size") == 0
    assert db.writer.execute("PRAGMA mmap_size").fetchone()[0] == 0
    assert await db.fetchval("PRAGMA mmap_size") == 0  # the reader threads' connections

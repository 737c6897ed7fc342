"""The pod and another process on one database: the operator's command line writes to it
while the pod serves."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from node.appkeys import DB
from node.store import db as db_module
from node.store import turn as turn_module
from node.store.db import Database
from node.store.turn import TurnBoard
from tests.conftest import PodFactory


class OtherWriter:
    """Another process's write transaction, held (on a thread) until released, or for at most
    `longest` seconds."""

    def __init__(self, path: str, longest: float) -> None:
        self._path = path
        self._longest = longest
        self._holding = threading.Event()
        self._release = threading.Event()
        self.released_in_time = False
        self._thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            self._holding.set()
            self.released_in_time = self._release.wait(self._longest)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def __enter__(self) -> OtherWriter:
        self._thread.start()
        self._holding.wait()
        return self

    def release(self) -> None:
        self._release.set()

    def __exit__(self, *exc: object) -> None:
        self._release.set()
        self._thread.join()


async def test_a_write_waiting_for_another_process_holds_up_only_the_writes(
    make_pod: PodFactory,
) -> None:
    pod = await make_pod()
    alice = await pod.register("alice")
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    with OtherWriter(str(pod.app[DB].path), longest=3.0) as other:
        writing = asyncio.create_task(
            pod.call("POST", "/api/v1/posts", alice, json={"body": "later"}, expect=201)
        )
        await asyncio.sleep(0.2)  # the write waits for the other process now
        assert not writing.done()
        # Reads are answered meanwhile: the pod does not stop while it waits.
        await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        other.release()
        await writing
    assert other.released_in_time
    _, mine = await pod.call("GET", "/api/v1/identities/current/posts", alice, expect=200)
    assert [p["body"] for p in mine] == ["later", "hi"]


async def test_a_write_cancelled_while_waiting_for_another_process_leaves_no_trace(
    make_pod: PodFactory,
) -> None:
    pod = await make_pod()
    alice = await pod.register("alice")
    db = pod.app[DB]

    async def write() -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE identities SET display_name = 'never' WHERE guid = ?",
                             (alice.identity_id,))  # fmt: skip

    with OtherWriter(str(db.path), longest=3.0) as other:
        waiting = asyncio.create_task(write())
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        other.release()
    assert other.released_in_time
    # The write lock is free again, and the cancelled write left nothing.
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "after"}, expect=201)
    _, me = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}", alice, expect=200)
    assert me["displayName"] != "never"


# --- processes of one pod (server.workers) ---------------------------------------------------


@pytest.fixture
async def two_processes(
    tmp_path: Path, turns: TurnBoard
) -> AsyncIterator[tuple[Database, Database]]:
    """Two processes' databases on one file, as the processes of one pod open it."""
    path = tmp_path / "pod.db"
    first = await Database(path, turn=turns.seat(0)).open()
    await first.executescript("CREATE TABLE t (v TEXT NOT NULL)")
    second = await Database(path, turn=turns.seat(1)).open()
    yield first, second
    await first.close()
    await second.close()


class HeldOpen:
    """A write transaction on `db`, held open until `release()` (or failing, with `fail`)."""

    def __init__(self, db: Database, value: str, fail: bool = False) -> None:
        self.opened = asyncio.Event()
        self._release = asyncio.Event()
        self._fail = fail
        self.task = asyncio.create_task(self._hold(db, value))

    async def _hold(self, db: Database, value: str) -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO t (v) VALUES (?)", (value,))
            self.opened.set()
            await self._release.wait()
            if self._fail:
                raise RuntimeError("the change is refused")

    async def release(self) -> None:
        self._release.set()
        with contextlib.suppress(RuntimeError):
            await self.task


async def insert(db: Database, value: str) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO t (v) VALUES (?)", (value,))


async def values(db: Database) -> list[str]:
    return sorted(r[0] for r in await db.fetchall("SELECT v FROM t"))


async def test_processes_of_one_pod_take_turns_to_write(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    held = HeldOpen(first, "first")
    await held.opened.wait()
    waiting = asyncio.create_task(insert(second, "second"))
    ticks = 0
    for _ in range(20):  # the waiting process's loop keeps running
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 20 and not waiting.done()
    await held.release()
    await asyncio.wait_for(waiting, 2)
    assert await values(first) == ["first", "second"]


async def test_a_refused_or_cancelled_write_gives_the_turn_back(
    two_processes: tuple[Database, Database],
) -> None:
    first, second = two_processes
    # A transaction that fails: rolled back, and the other process writes at once.
    held = HeldOpen(first, "refused", fail=True)
    await held.opened.wait()
    waiting = asyncio.create_task(insert(second, "after the refusal"))
    await asyncio.sleep(0.05)
    await held.release()
    await asyncio.wait_for(waiting, 2)
    # A write cancelled while it waits for its turn: the turn it gets later is given back.
    held = HeldOpen(first, "held")
    await held.opened.wait()
    cancelled = asyncio.create_task(insert(second, "never"))
    await asyncio.sleep(0.05)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await held.release()
    await asyncio.wait_for(insert(first, "first again"), 2)
    await asyncio.wait_for(insert(second, "second again"), 2)
    assert await values(first) == ["after the refusal", "first again", "held", "second again"]


async def test_a_turn_that_never_comes_ends_like_sqlites_own_wait(
    two_processes: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_processes
    monkeypatch.setattr(db_module, "BUSY_WAIT_MS", 200)
    held = HeldOpen(first, "held")
    await held.opened.wait()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        await insert(second, "too late")
    await held.release()
    await asyncio.wait_for(insert(second, "in time"), 2)
    assert await values(first) == ["held", "in time"]


async def test_a_process_waiting_for_the_turn_has_it_as_soon_as_it_is_given_back(
    two_processes: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The waiter is woken by the holder, not by its next look (made a second here)."""
    monkeypatch.setattr(turn_module, "RETRY_SECONDS", 1.0)
    first, second = two_processes
    loop = asyncio.get_running_loop()
    for n in range(20):
        held = HeldOpen(first, f"held {n}")
        await held.opened.wait()
        waiting = asyncio.create_task(insert(second, f"waited {n}"))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await held.release()
        start = loop.time()
        await asyncio.wait_for(waiting, 2)
        assert loop.time() - start < 0.5
    assert len(await values(first)) == 40


async def test_a_process_writing_without_pause_lets_a_waiting_one_in_between(
    two_processes: tuple[Database, Database],
) -> None:
    """One process writes back to back; another's writes still go in between, each within a
    few of the first's turns, instead of after the first's run of writes is over."""
    first, second = two_processes
    stop = asyncio.Event()
    busy_writes = 0

    async def busy() -> None:
        nonlocal busy_writes
        while not stop.is_set():
            await insert(first, "busy")
            busy_writes += 1

    runner = asyncio.create_task(busy())
    await asyncio.sleep(0.05)
    for n in range(10):
        before = busy_writes
        await asyncio.wait_for(insert(second, f"between {n}"), 2)
        assert busy_writes - before <= 5, busy_writes - before
    stop.set()
    await runner
    assert (await values(first)).count("busy") == busy_writes


async def test_a_turn_left_by_a_process_that_died_is_taken_by_the_others(
    tmp_path: Path, turns: TurnBoard
) -> None:
    """A process that dies holding the turn says nothing; its flock goes with its files, and
    the waiter, which looks again now and then, takes the turn."""
    path = tmp_path / "pod.db"
    first = await Database(path, turn=turns.seat(0)).open()
    await first.executescript("CREATE TABLE t (v TEXT NOT NULL)")
    dead = os.open(f"{path}-writer", os.O_RDWR)
    try:
        fcntl.flock(dead, fcntl.LOCK_EX)  # the other process's turn
        turns.seat(1).took()
        waiting = asyncio.create_task(insert(first, "after"))
        await asyncio.sleep(0.05)
        assert not waiting.done()
    finally:
        os.close(dead)  # it dies: no datagram
    await asyncio.wait_for(waiting, 2)
    assert await values(first) == ["after"]
    await first.close()

"""SQLite access: one writer connection behind a lock, a small pool of readers (WAL snapshots).

Writes go through `Database.transaction()`, which serialises writers and commits or rolls back
as a unit. The writer runs on the event loop's own thread: its statements are short indexed
writes (tens of microseconds), so a trip to another thread per statement would cost more than
the work; so does COMMIT, shared by a group of transactions: it copies the group's pages into
the WAL (no fsync: synchronous=NORMAL). Checkpoints, which copy the WAL into the database file
and do sync it, run on a thread and connection of their own (`_Checkpoints`), never inside a
COMMIT, so the write lock is never held for a disk's sync. Reads, which can be long (searches,
counts, lists), run on reader connections in their own threads (aiosqlite) and never see a
writer's uncommitted rows. `Database.inline` is one more reader on the event loop's thread, for
the short indexed reads of the busiest requests (a token's session, a stream page and what it
shows), where the trip to a reader thread and back costs several times the query. The
processes of a pod run with `server.workers` above 1 take turns to write (node/store/turn.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

from node.store.turn import TurnSeat, WriteTurn

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")


class Queryable(Protocol):
    """What storage functions need: a Database (reads) or a Tx (reads and writes)."""

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...
    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def fetchval(self, sql: str, params: Params = ()) -> Any: ...


# How long a write waits for another process's (the operator's command line) to end.
BUSY_WAIT_MS = 5000

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    f"PRAGMA busy_timeout={BUSY_WAIT_MS}",
    # No memory map of the file: a connection drops its cache when another has written since
    # its last read, and with a map it also unmaps the file then and maps it afresh, which
    # made that first read several times dearer than reading the pages again (the inbox's
    # reads follow the other processes' commits all the time).
    "PRAGMA mmap_size=0",
    # Statement journals in memory. Each transaction of a group (`apply`, `transaction()`) is a
    # SAVEPOINT, whose journal keeps each page it changes that the group changed before (the
    # inbox's posts all change their indexes' last pages): in a temporary file, a write each.
    # Temporary tables and sorts are kept in memory too; the API's lists are read by the page.
    "PRAGMA temp_store=MEMORY",
)
# Commits between two checkpoints of the WAL into the database file.
CHECKPOINT_EVERY = 64
# A WAL this many pages long is copied into the database file, and started over, before the
# next write begins, this process writing nothing meanwhile: SQLite starts the WAL over only
# once all of it is copied and no read is using it, which a checkpoint beside a writer that
# never pauses, and readers that never do, would not see. How long it waits for such reads:
WAL_LIMIT_PAGES = 4000
CATCH_UP_WAIT_MS = 50


async def database_bytes(q: Queryable) -> int:
    """The size of the database file (its pages), without its write-ahead log."""
    return int(
        await q.fetchval("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size")
    )


class StorageError(Exception):
    """The data folder or the database cannot be used: one line for the operator."""


def make_data_dir(path: Path) -> None:
    """Make the pod's data folder (with any missing parents) and keep it to the pod's user: the
    database in it holds actor private keys, the media signing secret, password and token
    hashes. Folders above it are not changed."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        _keep_private(path)
    except OSError as exc:
        raise StorageError(f"{path}: cannot make the data folder ({exc.strerror})") from None


def _keep_private(path: Path) -> None:
    """Take group and other permissions off `path` (0700 for a folder, 0600 for a file), if
    this user owns it; another user's file is theirs to set."""
    with contextlib.suppress(FileNotFoundError):
        st = path.stat()
        if st.st_uid == os.geteuid() and st.st_mode & 0o077:
            path.chmod(0o700 if stat.S_ISDIR(st.st_mode) else 0o600)


def _private_database(path: Path) -> None:
    """Create the database file 0600 before SQLite does (its -wal and -shm take the file's mode),
    and tighten those of a database made before this rule."""
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        _keep_private(name)


def _connect_sync(path: Path | str) -> sqlite3.Connection:
    # check_same_thread off: the writer is also used by the commit thread, while the loop
    # waits for the write lock (never by both at once).
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        conn.execute(pragma)
    return conn


async def _connect(path: Path | str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = sqlite3.Row
    for pragma in _PRAGMAS:
        await conn.execute(pragma)
    return conn


class _Sync:
    """Reads on a connection of the event loop's thread (async for its callers' sake)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        return self._conn.execute(sql, params).fetchone()

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]


class InlineReader(_Sync):
    """A read-only connection on the loop's thread: each statement sees the latest commit."""

    def close(self) -> None:
        self._conn.close()


class Tx(_Sync):
    """An open write transaction on the writer connection (async for its callers' sake)."""

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        return self._conn.execute(sql, params).rowcount

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        batch = list(rows)
        if batch:
            self._conn.executemany(sql, batch)


# A commit group: each transaction's future, and what it returns once committed.
Group = list[tuple[asyncio.Future[Any], Any]]


def _settle(group: Group, error: sqlite3.Error | None) -> None:
    """Tell each transaction of a group how its COMMIT went (a cancelled caller is gone)."""
    for waiter, result in group:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)


class _Transaction:
    """`async with db.transaction() as tx`: a class rather than a generator-based context
    manager, as every write passes through it."""

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __aenter__(self) -> Tx:
        db = self._db
        await db._write_lock.acquire()
        try:
            writer = db.writer
            if db._group is None:
                await db._begin()
                db._group = []
                db._committer = asyncio.create_task(db._commit_soon())
            writer.execute("SAVEPOINT tx")
        except BaseException:
            db._write_lock.release()
            raise
        return Tx(writer)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        db = self._db
        writer = db.writer
        try:
            if exc_type is not None:
                # A statement that failed on a full disk or an I/O error may have rolled back
                # the whole transaction already: then there is no savepoint to go back to.
                if writer.in_transaction:
                    writer.execute("ROLLBACK TO tx")
                    writer.execute("RELEASE tx")
                return
            writer.execute("RELEASE tx")
            # A future per caller, not one shared: a cancelled caller cancels only its own.
            waiter = asyncio.get_running_loop().create_future()
            assert db._group is not None
            db._group.append((waiter, None))
        finally:
            if not writer.in_transaction:
                db._group_lost(exc if isinstance(exc, sqlite3.Error) else None)
            db._write_lock.release()
        await waiter


class _Checkpoints:
    """Copies the WAL into the database file now and then, on a thread and connection of its
    own. SQLite's automatic checkpoint would run inside a COMMIT, with the write lock held
    (and, with several processes, the write turn) while the disk syncs; a PASSIVE checkpoint
    here waits for no one and keeps nobody waiting."""

    def __init__(self, path: Path | str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="hearth-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._running: Future[None] | None = None
        self._commits = 0
        self._behind = False  # the last checkpoint found the WAL over WAL_LIMIT_PAGES

    def committed(self) -> None:
        """Count a COMMIT; every CHECKPOINT_EVERY, start a checkpoint unless one is running."""
        self._commits += 1
        if self._commits >= CHECKPOINT_EVERY and (self._running is None or self._running.done()):
            self._commits = 0
            self._running = self._thread.submit(self._checkpoint)

    def _checkpoint(self, mode: str = "PASSIVE") -> None:
        try:
            if self._conn is None:
                self._conn = _connect_sync(self._path)
                self._conn.execute(f"PRAGMA busy_timeout={CATCH_UP_WAIT_MS}")  # RESTART only
            _, pages, _ = self._conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
        except sqlite3.Error:
            return  # busy or failing: the next one tries again, and SQLite keeps the WAL whole
        self._behind = pages >= WAL_LIMIT_PAGES

    @property
    def behind(self) -> bool:
        return self._behind

    async def catch_up(self) -> None:
        """Copy the whole WAL and start it over, while nothing is written (the caller holds the
        write lock, and the turn). Not done (a long read): the next checkpoints tell."""
        await asyncio.wrap_future(self._thread.submit(self._checkpoint, "RESTART"))
        self._behind = False

    def close(self) -> None:
        """Wait for a running checkpoint, then checkpoint once more and close."""
        self._thread.submit(self._checkpoint).result()
        self._thread.submit(self._close).result()
        self._thread.shutdown()

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Database:
    """Made unconnected (so the app can be wired synchronously); `open()` connects."""

    def __init__(self, path: Path | str, readers: int = 2, turn: TurnSeat | None = None) -> None:
        self.path = path
        self._n_readers = readers
        # Other processes of the pod write too (`turn` is this one's seat): see node/store/turn.py.
        self._turn = WriteTurn(Path(f"{path}-writer"), turn) if turn is not None else None
        self._writer: sqlite3.Connection | None = None
        self._inline: InlineReader | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._closed = True
        # Group commit: transactions that finish in the same turn of the event loop share one
        # COMMIT (each in its own SAVEPOINT); each caller returns only once it is durable.
        # The group is the callers' futures, or None when no transaction is open.
        self._group: Group | None = None
        self._committer: asyncio.Task[None] | None = None
        self._checkpoints: _Checkpoints | None = None
        # Effects waiting for `apply`'s batch, and the task that runs them.
        self._queued: deque[tuple[Callable[[Tx], Awaitable[Any]], asyncio.Future[Any]]] = deque()
        self._applier: asyncio.Task[None] | None = None

    async def open(self) -> Database:
        """Connect; StorageError when the file cannot be opened or is not an SQLite database."""
        try:
            _private_database(Path(self.path))
            self._writer = _connect_sync(self.path)
        except (OSError, sqlite3.Error) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise StorageError(f"{self.path}: cannot open the database ({reason})") from None
        # SQLite's own wait for a lock would stop the event loop: transactions wait in `_begin`.
        self._writer.execute("PRAGMA busy_timeout=0")
        self._writer.execute("PRAGMA wal_autocheckpoint=0")  # see `_Checkpoints`
        self._checkpoints = _Checkpoints(self.path)
        if self._turn is not None:
            self._turn.open()
        inline = _connect_sync(self.path)
        inline.execute("PRAGMA query_only=ON")
        self._inline = InlineReader(inline)
        for _ in range(self._n_readers):
            conn = await _connect(self.path)
            await conn.execute("PRAGMA query_only=ON")
            self._all_readers.append(conn)
            self._readers.put_nowait(conn)
        self._closed = False
        return self

    @property
    def writer(self) -> sqlite3.Connection:
        if self._writer is None or self._closed:
            raise sqlite3.ProgrammingError("the database is closed")
        return self._writer

    @property
    def inline(self) -> InlineReader:
        """Short indexed reads on the loop's thread (see the module's docstring)."""
        if self._inline is None or self._closed:
            raise sqlite3.ProgrammingError("the database is closed")
        return self._inline

    async def close(self) -> None:
        if self._closed:
            return
        try:
            if self._applier is not None:
                await asyncio.wait([self._applier])  # what was queued is written first
            async with self._write_lock:
                self._commit_now()  # what was written is kept
                self._closed = True
                if self._writer is not None:
                    self._writer.close()
                if self._inline is not None:
                    self._inline.close()
        finally:
            self._closed = True
            if self._turn is not None:
                self._turn.close()
            if self._checkpoints is not None:
                # A checkpoint under way is waited for off the loop: it may be syncing the disk.
                await asyncio.get_running_loop().run_in_executor(None, self._checkpoints.close)
                self._checkpoints = None
            # Reader threads left open would keep the process from exiting.
            for conn in self._all_readers:
                await conn.close()
            self._all_readers.clear()
            self._readers = asyncio.Queue()

    @property
    def closed(self) -> bool:
        return self._closed

    def transaction(self) -> _Transaction:
        """A write transaction; it returns once committed (see `_Transaction`)."""
        return _Transaction(self)

    async def apply(self, effect: Callable[[Tx], Awaitable[T]]) -> T:
        """Run `effect` in a write transaction of its own (a SAVEPOINT, as in `transaction()`)
        and return its result once committed; if it raises, nothing it wrote is kept.

        Effects queued meanwhile run back to back in one task and share one COMMIT, so the
        write lock, and with several processes the write turn, is held only for their
        statements: a group of `transaction()` blocks holds it while the event loop serves
        other requests between them. For the busiest writes (the inbox), whose effect is a
        function of reads and writes that awaits nothing else.
        """
        if self._closed:
            raise sqlite3.ProgrammingError("the database is closed")
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queued.append((effect, done))
        if self._applier is None or self._applier.done():
            self._applier = asyncio.create_task(self._apply_queued())
        return await done

    async def _apply_queued(self) -> None:
        try:
            async with self._write_lock:
                while self._queued:
                    await self._apply_batch()
        except BaseException as exc:
            # Closed, locked past the wait, or this task cancelled (the pod stopping): what is
            # still queued will not run.
            error = (
                exc
                if isinstance(exc, sqlite3.Error)
                else sqlite3.OperationalError("the write was not run")
            )
            while self._queued:
                _, done = self._queued.popleft()
                if not done.done():
                    done.set_exception(error)
            if not isinstance(exc, Exception):
                raise  # its callers have their error: nobody awaits this task

    async def _apply_batch(self) -> None:
        """Run the queued effects in one group (write lock held) and commit it."""
        if self._group is None:
            await self._begin()  # the queue grows while another process has the turn
            self._group = []
        writer = self.writer
        while self._queued:
            effect, done = self._queued.popleft()
            if done.done():
                continue  # its caller was cancelled before it ran
            writer.execute("SAVEPOINT tx")
            try:
                result = await effect(Tx(writer))
                # Fails if SQLite rolled the whole group back under an effect that carried on.
                writer.execute("RELEASE tx")
            except BaseException as exc:
                if writer.in_transaction:
                    writer.execute("ROLLBACK TO tx")
                    writer.execute("RELEASE tx")
                if not done.done():
                    if isinstance(exc, Exception):
                        done.set_exception(exc)
                    else:
                        done.cancel()
                if not writer.in_transaction:
                    # SQLite rolled the whole group back (disk full, I/O error).
                    cause = exc if isinstance(exc, sqlite3.Error) else None
                    self._group_lost(cause)
                    return
                if not isinstance(exc, Exception):
                    self._commit_now()  # what ran is kept; the rest fails
                    raise
                continue
            self._group.append((done, result))
        self._commit_now()

    async def _begin(self) -> None:
        """BEGIN IMMEDIATE, after this pod's other processes (`WriteTurn`); while another
        process (the command line) writes, try again now and then, the loop serving requests
        meanwhile, for up to BUSY_WAIT_MS (then SQLITE_BUSY is raised)."""
        if self._turn is not None:
            await self._turn.take(BUSY_WAIT_MS / 1000)
        try:
            if self._checkpoints is not None and self._checkpoints.behind:
                await self._checkpoints.catch_up()
            await self._begin_immediate()
        except BaseException:
            if self._turn is not None:
                self._turn.give_back()
            raise

    async def _begin_immediate(self) -> None:
        writer = self.writer
        loop = asyncio.get_running_loop()
        give_up = loop.time() + BUSY_WAIT_MS / 1000
        pause = 0.001
        while True:
            try:
                writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                busy = exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY  # or an extended BUSY_*
                if not busy or loop.time() >= give_up:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def _commit_soon(self) -> None:
        await asyncio.sleep(0)  # whatever is ready to write this turn joins the commit
        async with self._write_lock:  # not inside a transaction's body
            self._commit_now()

    def _group_lost(self, cause: sqlite3.Error | None) -> None:
        """SQLite rolled back the open transaction itself (disk full, I/O error): the group's
        finished transactions are lost with it and their callers are told so. The next
        transaction begins a new group; without one it would run outside any transaction,
        committed at once, and be reported failed by the COMMIT that finds none."""
        group, self._group = self._group, None
        if self._turn is not None:
            self._turn.give_back()
        if group is not None:
            _settle(group, cause or sqlite3.OperationalError("the transaction was rolled back"))

    def _commit_now(self) -> None:
        """COMMIT the open group, if any, and tell everyone in it (with `apply`'s results)."""
        group, self._group = self._group, None
        if group is not None:
            _settle(group, self._commit())

    def _commit(self) -> sqlite3.Error | None:
        writer = self.writer
        try:
            writer.execute("COMMIT")
        except sqlite3.Error as exc:
            # Never raises: the group's callers are told, whatever else goes wrong.
            with contextlib.suppress(sqlite3.Error):
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
            return exc
        finally:
            if self._turn is not None and not writer.in_transaction:
                self._turn.give_back()
        if self._checkpoints is not None:
            self._checkpoints.committed()
        return None

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._closed:
            raise sqlite3.ProgrammingError("the database is closed")
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._reader() as conn:
            rows = await conn.execute_fetchall(sql, params)
        return next(iter(rows), None)  # type: ignore[arg-type]

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._reader() as conn:
            return list(await conn.execute_fetchall(sql, params))  # type: ignore[arg-type]

    async def fetchval(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def executescript(self, script: str) -> None:
        """Run DDL outside the transaction helper (migrations manage their own)."""
        async with self._write_lock:
            self._commit_now()
            writer = self.writer
            # Migrations, when the pod starts: SQLite may wait for another process here.
            writer.execute(f"PRAGMA busy_timeout={BUSY_WAIT_MS}")
            try:
                writer.executescript(script)
            except BaseException:
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                raise
            finally:
                writer.execute("PRAGMA busy_timeout=0")

"""Where stored media bytes live, behind a small protocol; a local folder is the default.

Keys are content addresses (hex SHA-256), so a put of a key that exists stores the same bytes
again and is harmless. A later S3-compatible backend implements the same six methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Protocol

from node.media.names import HASH_RE

CHUNK = 256 * 1024

# Asked, after a file is taken away, whether it is wanted after all.
Keep = Callable[[], Awaitable[bool]]


class MediaStorage(Protocol):
    async def put(self, key: str, source: Path) -> None:
        """Move the finished file at `source` in under `key` (replacing what is there)."""
        ...

    def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes of `key` from `start` up to, not including, `end` (None: to the end)."""
        ...

    async def delete(self, key: str, keep: Keep | None = None) -> None:
        """Remove `key`; a missing key is not an error. With `keep`, the bytes are first taken
        out of reach and put back if `keep()` then answers True: another process (`hearth
        media gc` beside the pod) may have stored the same bytes again meanwhile."""
        ...

    async def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """A file the key can be read from directly, when the backend is a local folder."""
        ...

    async def keys_before(self, when: float) -> list[str]:
        """The keys stored, last written before `when` (a Unix time)."""
        ...

    async def settle_aside(self, keep: Callable[[str], Awaitable[bool]], when: float) -> int:
        """Files a `delete(key, keep)` cut short (a crash) left out of reach, set aside before
        `when`: put back where `keep(key)` answers True and nothing took their place, removed
        otherwise. Returns how many were removed."""
        ...


class LocalMediaStorage:
    """Files under `root`, fanned out by the first two hex digits of their key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not HASH_RE.match(key):  # keys name files: nothing else may reach the filesystem
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key[:2] / key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    async def put(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put, self._path(key), source)

    @staticmethod
    def _put(target: Path, source: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)  # atomic: readers see the old file or the new one
        except OSError:
            shutil.move(source, target)  # another filesystem

    def stream(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        return stream_file(self._path(key), start, end)

    async def delete(self, key: str, keep: Keep | None = None) -> None:
        path = self._path(key)
        if keep is None:
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(path.unlink)
            return
        # Moved aside (atomic) before asking: a put of the same key after the move is seen by
        # `keep`, one before it is moved aside with the file and put back (same bytes). A crash
        # before the end leaves it aside, for gc to settle (`settle_aside`).
        aside = path.with_name(f"{key}.{secrets.token_hex(4)}.gone")
        try:
            await asyncio.to_thread(os.replace, path, aside)
        except FileNotFoundError:
            return
        # A rename keeps the file's old time: dated now, so a gc beside this one (another
        # process) takes it for a removal under way, not one a crash cut short.
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(os.utime, aside)
        wanted = True  # should asking fail, the file stays
        try:
            wanted = await keep()
        finally:
            if wanted:
                await asyncio.to_thread(os.replace, aside, path)
            else:
                await asyncio.to_thread(aside.unlink)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def keys_before(self, when: float) -> list[str]:
        return await asyncio.to_thread(self._keys_before, when)

    async def settle_aside(self, keep: Callable[[str], Awaitable[bool]], when: float) -> int:
        removed = 0
        for aside in await asyncio.to_thread(self._aside_before, when):
            key = aside.name.split(".", 1)[0]
            path = self._path(key)
            if await keep(key) and not await asyncio.to_thread(path.exists):
                await asyncio.to_thread(os.replace, aside, path)
            else:
                with contextlib.suppress(FileNotFoundError):
                    await asyncio.to_thread(aside.unlink)
                removed += 1
        return removed

    def _aside_before(self, when: float) -> list[Path]:
        return [Path(e.path) for e in self._entries_before(when, _is_aside)]

    def _keys_before(self, when: float) -> list[str]:
        return [e.name for e in self._entries_before(when, _is_key)]

    def _entries_before(
        self, when: float, named: Callable[[str], bool]
    ) -> Iterator[os.DirEntry[str]]:
        """The files in the fan-out folders so `named`, last written before `when` (the name is
        looked at first: only those files are stat'ed)."""
        for folder in self.root.glob("??"):
            with contextlib.suppress(FileNotFoundError, NotADirectoryError):
                for entry in os.scandir(folder):
                    with contextlib.suppress(FileNotFoundError):
                        if named(entry.name) and entry.stat().st_mtime < when:
                            yield entry


def _is_key(name: str) -> bool:
    return HASH_RE.match(name) is not None


def _is_aside(name: str) -> bool:
    """`<key>.<random>.gone`, as `delete(key, keep)` sets a file aside."""
    return name.endswith(".gone") and _is_key(name.split(".", 1)[0])


async def stream_file(path: Path, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
    """Read a local file in chunks off the event loop."""
    f = await asyncio.to_thread(path.open, "rb")
    try:
        await asyncio.to_thread(f.seek, start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = await asyncio.to_thread(f.read, CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(f.close)


class VariantCache:
    """Transformed variants on local disk, root/<hh>/<hash>/<variant key>. A cache, never the
    only copy of anything, so it stays local whatever the storage backend is.

    At most `max_bytes` in all: each file served or written is marked used, and a new one past
    the limit removes the least recently used first. The order lives in memory; on start
    (`load`) it is taken from the files' modification times, oldest first.
    """

    def __init__(self, root: Path, max_bytes: int, processes: int = 1) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._sizes: OrderedDict[Path, int] = OrderedDict()  # least recently used first
        self.total = 0  # bytes in the files above
        # With several processes of the pod rendering here, each knows only what it wrote and
        # served: after writing its share of the bytes it takes stock of the folder (its files
        # and their times, which a use sets) and keeps the whole to what leaves every process
        # room for its share. One alone knows every file.
        self._share = max_bytes // (2 * processes) if processes > 1 else None
        self._room = max_bytes - processes * self._share if self._share is not None else max_bytes
        self._written = 0  # bytes this process wrote since it last took stock

    def path(self, blob_hash: str, variant_key: str) -> Path:
        if not HASH_RE.match(blob_hash) or "/" in variant_key or variant_key.startswith("."):
            raise ValueError("not a variant name")
        return self.root / blob_hash[:2] / blob_hash / variant_key

    async def load(self, recover: bool = True) -> None:
        """Take stock of the files an earlier run left and, with `recover`, remove its
        unfinished renders (not in a process started beside others of the pod: those may be
        theirs, under way)."""
        await self._take_stock(recover)

    def _scan(self, recover: bool) -> list[tuple[Path, int]]:
        found = []
        for path in self.root.glob("*/*/*"):
            with contextlib.suppress(FileNotFoundError):
                if path.name.startswith("."):  # a temporary file: its render never finished
                    if recover:
                        path.unlink()
                    continue
                stat = path.stat()
                found.append((stat.st_mtime_ns, path, stat.st_size))
        found.sort()
        return [(path, size) for _, path, size in found]

    async def _take_stock(self, recover: bool = False) -> None:
        found = await asyncio.to_thread(self._scan, recover)
        self._sizes.clear()
        self.total = 0
        self._written = 0
        for path, size in found:
            self._remember(path, size)
        await self._evict(self._room)

    async def used(self, path: Path, size: int) -> None:
        """`path` (`size` bytes) was just served: the last to be removed."""
        if self._share is not None:
            # Its time is the order of use that the other processes read when taking stock.
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(os.utime, path)
        self._remember(path, size)
        await self._evict()

    async def written(self, path: Path, size: int) -> None:
        """`path` (`size` bytes) was just rendered: the last to be removed."""
        self._remember(path, size)
        self._written += size
        if self._share is not None and self._written > self._share:
            await self._take_stock()
        await self._evict()

    def _remember(self, path: Path, size: int) -> None:
        self.total += size - self._sizes.pop(path, 0)
        self._sizes[path] = size

    async def _evict(self, limit: int | None = None) -> None:
        limit = self.max_bytes if limit is None else limit
        victims = []
        while self.total > limit and len(self._sizes) > 1:  # the newest stays
            path, size = self._sizes.popitem(last=False)
            self.total -= size
            victims.append(path)
        if victims:
            await asyncio.to_thread(_unlink_all, victims)

    async def purge(self, blob_hash: str) -> None:
        folder = self.path(blob_hash, "x").parent

        def remove() -> list[Path]:
            try:
                paths = list(folder.iterdir())
            except FileNotFoundError:
                return []
            shutil.rmtree(folder, True)
            return paths

        for path in await asyncio.to_thread(remove):
            self.total -= self._sizes.pop(path, 0)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()

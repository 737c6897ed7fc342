"""The variant cache on disk: bounded in bytes, the least recently used files out first."""

from __future__ import annotations

import os
from pathlib import Path

from node.media.storage import VariantCache

A, B = "a" * 64, "b" * 64


async def put(cache: VariantCache, blob: str, key: str, size: int) -> Path:
    path = cache.path(blob, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    await cache.used(path, size)
    return path


def names(cache: VariantCache) -> set[str]:
    return {p.name for p in cache.root.rglob("*") if p.is_file()}


async def test_the_least_recently_used_go_first(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path, max_bytes=300)
    first = await put(cache, A, "one", 100)
    await put(cache, A, "two", 100)
    await put(cache, B, "three", 100)
    assert names(cache) == {"one", "two", "three"} and cache.total == 300
    await cache.used(first, 100)  # served again: now the most recent
    await put(cache, B, "four", 100)
    assert names(cache) == {"one", "three", "four"} and cache.total == 300
    await put(cache, A, "big", 250)
    assert names(cache) == {"big"} and cache.total == 250
    await put(cache, A, "huge", 1000)  # alone past the limit: the newest always stays
    assert names(cache) == {"huge"} and cache.total == 1000


async def test_purge_forgets_a_blobs_files(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path, max_bytes=300)
    await put(cache, A, "one", 100)
    await put(cache, B, "two", 100)
    await cache.purge(A)
    assert names(cache) == {"two"} and cache.total == 100
    await put(cache, B, "three", 200)
    assert names(cache) == {"two", "three"}  # nothing evicted for the purged file's bytes


async def test_load_takes_stock_oldest_first_and_drops_unfinished_renders(
    tmp_path: Path,
) -> None:
    cache = VariantCache(tmp_path, max_bytes=10_000)
    for age, key in enumerate(("new", "mid", "old")):
        path = await put(cache, A, key, 100)
        os.utime(path, ns=(10**18 - age * 10**9,) * 2)
    (cache.path(A, "x").parent / ".0123.tmp").write_bytes(b"x" * 50)
    again = VariantCache(tmp_path, max_bytes=250)
    await again.load()
    assert names(again) == {"new", "mid"} and again.total == 200

"""Media housekeeping: work survives a restart; `hearth media gc` removes unfinished uploads."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp

from node.appkeys import SERVICES
from node.cli import main
from node.services.media import local_media_service
from node.store import media as media_store
from node.store.db import Database
from tests.api.test_media_flow import (
    announce,
    image_bytes,
    leftovers,
    put,
    upload,
    wait_ready,
    without_pods_gc,
)
from tests.support import User


def set_status(db: Path, guid: str, status: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE media SET status = ? WHERE guid = ?", (status, guid))


def old_orphan(root: Path, seed: bytes) -> Path:
    """A stored file no blob names, written an hour ago."""
    key = hashlib.sha256(seed).hexdigest()
    path = root / key[:2] / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    os.utime(path, (time.time() - 3600, time.time() - 3600))
    return path


async def test_processing_is_redone_after_a_restart(make_pod: Any, tmp_path: Path) -> None:
    data = tmp_path / "pod"
    pod = await make_pod(data_dir=data)
    alice = await pod.register("alice")
    received = await announce(pod, alice)
    arriving = await announce(pod, alice)
    port = pod.server.port
    await pod.stop()

    # As a crash would leave them: one upload received but not processed, one half-received.
    tmp = pod.config.media_path / "tmp"
    (tmp / f"{received['media']['id']}.upload").write_bytes(image_bytes(size=(12, 34)))
    set_status(pod.config.database_path, received["media"]["id"], "processing")
    (tmp / f"{arriving['media']['id']}.part").write_bytes(b"\x89PNG\r\n")
    set_status(pod.config.database_path, arriving["media"]["id"], "uploading")

    again = await make_pod(data_dir=data, port=port)
    user = User(alice.username, alice.token, alice.account_id, alice.identity_id, alice.password)
    item = await wait_ready(again, user, received["media"]["id"])
    assert (item["status"], item["width"], item["height"]) == ("ready", 12, 34)
    await again.call("GET", f"/api/v1/media/{arriving['media']['id']}", user, expect=404)
    files = leftovers(again)
    assert [p.parts[-3] for p in files] == ["blobs"]  # the stored blob, and nothing temporary


def cli_config(pod: Any, folder: Path) -> Path:
    """A config for the command line naming the pod's data folder, `folder`/data."""
    config = folder / "config.toml"
    config.write_text(
        f'[server]\npublic_url = "{pod.url}"\n[storage]\ndata_dir = "data"\n'
        "[auth]\nargon2_time_cost = 1\nargon2_memory_kib = 64\n[media]\npending_hours = 1.0\n",
        encoding="utf-8",
    )
    return config


async def test_cli_media_gc(make_pod: Any, tmp_path: Path, capsys: Any) -> None:
    folder = tmp_path / "pod"
    pod = await make_pod(data_dir=folder / "data")
    await without_pods_gc(pod)  # the command's gc is the one under test
    alice = await pod.register("alice")
    pod.clock.advance(timedelta(hours=-2))  # announced two hours ago, never uploaded
    stale = await announce(pod, alice)
    pod.clock.advance(timedelta(hours=2))
    fresh = await announce(pod, alice)
    config = cli_config(pod, folder)
    assert await asyncio.to_thread(main, ["media", "gc", "--config", str(config)]) == 0
    assert "removed 1 unfinished uploads" in capsys.readouterr().out
    await pod.call("GET", f"/api/v1/media/{stale['media']['id']}", alice, expect=404)
    await pod.call("GET", f"/api/v1/media/{fresh['media']['id']}", alice, expect=200)


async def test_gc_removes_stored_files_no_blob_names(make_pod: Any) -> None:
    """A file is removed after the commit that drops its blob, so a crash in between leaves it;
    gc takes it away once it is old. Files with their blob, and young ones, stay."""
    pod = await make_pod()
    alice = await pod.register("alice")
    kept = await upload(pod, alice)
    await without_pods_gc(pod)
    media = pod.app[SERVICES].media
    root = media._storage.root
    [kept_file] = [p for p in root.rglob("*") if p.is_file()]
    old = time.time() - 3600
    os.utime(kept_file, (old, old))
    orphans = []
    for n, age in enumerate((3600, 0)):  # left by a crash an hour ago, and just now
        key = hashlib.sha256(f"orphan {n}".encode()).hexdigest()
        path = root / key[:2] / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age, time.time() - age))
        orphans.append(path)
    report = await media.gc()
    assert report.blobs == 1
    assert not orphans[0].exists() and orphans[1].exists() and kept_file.exists()
    await pod.call("GET", f"/api/v1/media/{kept['id']}", alice, expect=200)


async def test_gc_holds_a_file_it_may_remove_so_an_upload_of_the_same_bytes_waits(
    make_pod: Any, monkeypatch: Any
) -> None:
    """While gc looks a file up and removes it, the file is held as being unlinked: an upload
    of the same bytes that links its blob meanwhile waits for that, then stores it again."""
    pod = await make_pod()
    await without_pods_gc(pod)
    media = pod.app[SERVICES].media
    path = old_orphan(media._storage.root, b"orphan")
    held: list[bool] = []
    real = media_store.unknown_blobs

    async def looking_up(q: Any, hashes: list[str]) -> list[str]:
        held.extend(h in media._unlinking for h in hashes)
        return await real(q, hashes)

    monkeypatch.setattr(media_store, "unknown_blobs", looking_up)
    await media.gc()
    assert held == [True] and not path.exists()
    assert media._unlinking == {}  # released afterwards


async def test_gc_in_another_process_keeps_a_file_the_pod_stored_again_meanwhile(
    make_pod: Any, monkeypatch: Any
) -> None:
    """`hearth media gc` beside a serving pod drops an unused blob; before it removes the file,
    an upload of the same bytes to the pod links the blob again and stores it. The pod's hold
    (`_unlinking`) is its own process's, so the file is looked up again once out of reach and
    put back: the new upload's bytes stay readable."""
    pod = await make_pod()
    alice = await pod.register("alice")
    first = await upload(pod, alice)
    await without_pods_gc(pod)  # the command line's gc is the one under test
    with sqlite3.connect(pod.config.database_path) as conn:  # left unused, as by a crash
        [(blob_hash,)] = conn.execute("SELECT blob_hash FROM media WHERE guid = ?", (first["id"],))
        conn.execute("DELETE FROM media WHERE guid = ?", (first["id"],))

    # The command line's service: its own database connections, the same folder.
    db = await Database(pod.config.database_path).open()
    gc = local_media_service(db, pod.config, pod.clock, None)
    storage = gc._storage
    real_delete = storage.delete
    again: list[dict[str, Any]] = []

    async def delete(key: str, *keep: Any) -> None:
        if key == blob_hash and not again:
            # The row is gone: the pod links it anew (processing it here, its worker stopped).
            ticket = await announce(pod, alice)
            await put(pod, ticket, image_bytes())
            assert await pod.app[SERVICES].media.process_next()
            again.append(await wait_ready(pod, alice, ticket["media"]["id"]))
        await real_delete(key, *keep)

    monkeypatch.setattr(storage, "delete", delete)
    try:
        report = await gc.gc()
    finally:
        await db.close()
    assert report.blobs == 1 and again[0]["canonicalUri"] == first["canonicalUri"]
    async with aiohttp.ClientSession() as http, http.get(again[0]["publicDownloadUrl"]) as resp:
        assert resp.status == 200
        assert (await resp.read()).startswith(b"\x89PNG")


async def test_cli_gc_keeps_a_stray_file_the_serving_pod_stored_again_meanwhile(
    make_pod: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """`hearth media gc`, its own process beside the serving pod, finds an old stored file no
    blob names (a crash left it); once it has looked the file up and found it nobody's, an
    upload of the same bytes to the pod links the blob and stores the file again. The file is
    taken out of reach before it is asked about once more, so it stays: the upload is
    readable."""
    folder = tmp_path / "pod"
    pod = await make_pod(data_dir=folder / "data")
    alice = await pod.register("alice")
    first = await upload(pod, alice)
    await without_pods_gc(pod)  # the command's gc is the one under test
    with sqlite3.connect(pod.config.database_path) as conn:  # as a crash would leave it
        [(blob_hash,)] = conn.execute("SELECT blob_hash FROM media WHERE guid = ?", (first["id"],))
        conn.execute("DELETE FROM media WHERE guid = ?", (first["id"],))
        conn.execute("DELETE FROM media_blobs WHERE hash = ?", (blob_hash,))
    stored = pod.app[SERVICES].media._storage.local_path(blob_hash)
    os.utime(stored, (time.time() - 3600, time.time() - 3600))
    pods_loop = asyncio.get_running_loop()
    real = media_store.unknown_blobs
    again: list[dict[str, Any]] = []

    async def store_again() -> None:  # on the pod's loop (its worker stopped: processed here)
        ticket = await announce(pod, alice)
        await put(pod, ticket, image_bytes())
        assert await pod.app[SERVICES].media.process_next()
        again.append(await wait_ready(pod, alice, ticket["media"]["id"]))

    async def unknown_blobs(q: Any, hashes: list[str]) -> list[str]:
        found = await real(q, hashes)  # on the command's loop, in its thread
        if blob_hash in found and not again:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(store_again(), pods_loop))
        return found

    monkeypatch.setattr(media_store, "unknown_blobs", unknown_blobs)
    config = cli_config(pod, folder)
    assert await asyncio.to_thread(main, ["media", "gc", "--config", str(config)]) == 0
    assert again[0]["canonicalUri"] == first["canonicalUri"]
    async with aiohttp.ClientSession() as http, http.get(again[0]["publicDownloadUrl"]) as resp:
        assert resp.status == 200
        assert (await resp.read()).startswith(b"\x89PNG")


async def test_a_stored_file_gone_from_the_disk_is_a_404_not_a_response_cut_short(
    make_pod: Any,
) -> None:
    pod = await make_pod()
    alice = await pod.register("alice")
    item = await upload(pod, alice)
    [stored] = [p for p in pod.app[SERVICES].media._storage.root.rglob("*") if p.is_file()]
    stored.unlink()
    async with aiohttp.ClientSession() as http:
        for query in ("", "?w=10"):
            async with http.get(item["publicDownloadUrl"] + query) as resp:
                assert resp.status == 404, query
                assert (await resp.json())["error"] == "not_found"
        async with http.head(item["publicDownloadUrl"]) as resp:
            assert resp.status == 404


async def test_gc_settles_files_a_crash_left_set_aside(make_pod: Any) -> None:
    """A removal moves the file aside, then puts it back or deletes it; a crash in between
    leaves it aside. gc puts back one whose blob is still wanted and removes the others
    (young ones may be a removal under way: left for the next run)."""
    pod = await make_pod()
    alice = await pod.register("alice")
    item = await upload(pod, alice)
    await without_pods_gc(pod)
    root = pod.app[SERVICES].media._storage.root
    [stored] = [p for p in root.rglob("*") if p.is_file()]
    old = time.time() - 3600
    wanted = stored.with_name(f"{stored.name}.0a1b2c3d.gone")
    stored.rename(wanted)
    os.utime(wanted, (old, old))
    strays = []
    for n, age in enumerate((3600, 0)):
        key = hashlib.sha256(f"gone {n}".encode()).hexdigest()
        path = root / key[:2] / f"{key}.0a1b2c3d.gone"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
        os.utime(path, (time.time() - age, time.time() - age))
        strays.append(path)
    report = await pod.app[SERVICES].media.gc()
    assert stored.exists() and not wanted.exists()
    assert not strays[0].exists() and strays[1].exists()
    assert report.blobs == 1
    async with aiohttp.ClientSession() as http, http.get(item["publicDownloadUrl"]) as resp:
        assert resp.status == 200


async def test_a_removal_under_way_is_not_settled_by_a_gc_beside_it(make_pod: Any) -> None:
    """A removal moves an old file aside and asks whether its blob is wanted again; a gc in
    the other process (the pod's hourly one beside `hearth media gc`) that looks meanwhile
    leaves the file to it: it was set aside just now, whatever its age, so not by a crash."""
    pod = await make_pod()
    await without_pods_gc(pod)
    media = pod.app[SERVICES].media
    path = old_orphan(media._storage.root, b"orphan beside")
    db = await Database(pod.config.database_path).open()
    beside = local_media_service(db, pod.config, pod.clock, None)
    real = media._linked_again
    settled: list[int] = []

    def linked_again(blob_hash: str) -> Any:
        async def keep() -> bool:
            settled.append(await beside._storage.settle_aside(beside._has_blob, time.time() - 300))
            return await real(blob_hash)()

        return keep

    media._linked_again = linked_again  # type: ignore[method-assign]
    try:
        report = await media.gc()
    finally:
        await db.close()
    assert settled == [0] and report.blobs == 1
    assert not path.exists() and not list(path.parent.glob("*.gone"))

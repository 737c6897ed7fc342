"""Deleting media: the writer never waits on file work, and a rolled-back delete keeps its file."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from node.appkeys import DB, SERVICES
from tests.api.test_media_flow import image_bytes, upload
from tests.support import Pod, wait_for


async def blob_file(pod: Pod, media_id: str) -> Path:
    blob_hash = await pod.app[DB].fetchval(
        "SELECT blob_hash FROM media WHERE guid = ?", (media_id,)
    )
    path = pod.app[SERVICES].media._storage.local_path(blob_hash)
    assert path is not None and path.is_file()
    return path


async def test_a_busy_default_executor_does_not_hold_the_writer_during_a_delete(pod: Pod) -> None:
    alice = await pod.register("alice")
    item = await upload(pod, alice)
    path = await blob_file(pod, item["id"])
    # Every thread of the default executor busy, as logins, image work or DNS lookups keep it.
    gate = threading.Event()
    loop = asyncio.get_running_loop()
    busy = [loop.run_in_executor(None, gate.wait) for _ in range(40)]
    try:
        delete = asyncio.create_task(pod.call("DELETE", f"/api/v1/media/{item['id']}", alice))
        label = asyncio.create_task(pod.call("POST", "/api/v1/labels", alice, json={"name": "x"}))
        await asyncio.wait({label}, timeout=10.0)
        assert label.done(), "an unrelated write waited for the delete's file work"
        assert label.result()[0].status == 201
        # The delete commits all the same; only its file waits for a thread.

        async def committed() -> bool:
            return await pod.app[DB].fetchval("SELECT count(*) FROM media") == 0

        assert await wait_for(committed)
    finally:
        gate.set()
        await asyncio.gather(*busy)
    resp, _ = await delete
    assert resp.status == 204
    assert not path.exists()


async def test_a_delete_that_rolls_back_keeps_the_file(pod: Pod) -> None:
    alice = await pod.register("alice")
    item = await upload(pod, alice, image_bytes(size=(16, 16)))
    await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "look", "attachmentIds": [item["id"]]},
        expect=201,
    )  # fmt: skip
    path = await blob_file(pod, item["id"])
    publisher = pod.app[SERVICES].media._publisher

    async def broken(*_: Any) -> None:
        raise RuntimeError("the Update could not be queued")

    original = publisher.post_updated
    publisher.post_updated = broken  # fails after the blob's row is dropped: all rolls back
    try:
        resp, _ = await pod.call("DELETE", f"/api/v1/media/{item['id']}", alice)
        assert resp.status == 500
    finally:
        publisher.post_updated = original
    assert await pod.app[DB].fetchval("SELECT count(*) FROM media") == 1
    assert path.is_file()
    _, again = await pod.call("GET", f"/api/v1/media/{item['id']}", alice, expect=200)
    assert again["status"] == "ready"
    await pod.call("DELETE", f"/api/v1/media/{item['id']}", alice, expect=204)
    assert not path.exists()

"""The pod and another process on one database: the operator's command line writes to it
while the pod serves."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from node.appkeys import DB
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

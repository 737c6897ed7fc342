"""Writes that race a post's deletion: the post is checked, then the write waits for the
writer while the post is deleted. The answer is the one for a post that is gone (404), never a
database error, and nothing is left pointing at the post."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from node.appkeys import DB, SERVICES
from node.store import posts as post_store
from tests.social.helpers import API, post
from tests.support import Trio


async def _race_with_delete(trio: Trio, guid: str, request: Callable[[], Awaitable[Any]]) -> int:
    """Run `request` so that it reads the post before a deletion and writes after it."""
    pod = trio.pod
    db = pod.app[DB]
    task = None
    async with db.transaction() as tx:
        found = await post_store.get(tx, guid)
        assert found is not None
        await pod.app[SERVICES].posts.delete_in(tx, found)
        task = asyncio.ensure_future(request())
        # Until the request waits for the writer (its checks done, on what is committed).
        for _ in range(500):
            if db._write_lock._waiters:
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the request never waited for the writer")
    resp, _ = await task
    return resp.status


WRITES = {
    "like": ("POST", "/like", None),
    "reshare": ("POST", "/reshare", None),
    "reaction": ("PUT", "/reaction", {"emoji": "🎉"}),
    "bookmark": ("PUT", "/bookmark", None),
}


@pytest.mark.parametrize("kind", sorted(WRITES))
async def test_an_interaction_with_a_post_deleted_meanwhile_is_404(trio: Trio, kind: str) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    target = await post(pod, alice, "soon gone")
    method, suffix, body = WRITES[kind]

    async def write() -> Any:
        return await pod.call(method, f"{API}/posts/{target['id']}{suffix}", bob, json=body)

    assert await _race_with_delete(trio, target["id"], write) == 404


async def test_a_comment_on_a_post_deleted_meanwhile_is_404(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    target = await post(pod, alice, "soon gone")

    async def write() -> Any:
        return await pod.call(
            "POST", f"{API}/posts", bob, json={"body": "late", "inReplyTo": target["id"]}
        )

    assert await _race_with_delete(trio, target["id"], write) == 404


async def test_an_edit_of_a_post_deleted_meanwhile_is_404(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    target = await post(pod, alice, "soon gone")

    async def write() -> Any:
        return await pod.call("PATCH", f"{API}/posts/{target['id']}", alice, json={"body": "new"})

    assert await _race_with_delete(trio, target["id"], write) == 404


async def test_a_post_deleted_twice_at_once_is_gone_for_the_second(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    target = await post(pod, alice, "soon gone")

    async def write() -> Any:
        return await pod.call("DELETE", f"{API}/posts/{target['id']}", alice)

    assert await _race_with_delete(trio, target["id"], write) == 404

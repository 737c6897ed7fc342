"""Two and three pods exchanging follows, posts, edits, deletes, likes and reshares."""

from __future__ import annotations

from typing import Any

from tests.support import Pod, User, wait_for


async def stream(pod: Pod, user: User) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", "/api/v1/streams/main", user, expect=200)
    return items


async def follow(pod: Pod, user: User, handle: str) -> dict[str, Any]:
    resp, data = await pod.call("POST", "/api/v1/follows", user, json={"target": handle})
    assert resp.status in (200, 201), data
    return data


async def test_follow_post_edit_delete_propagate(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")

    answer = await follow(a, alice, f"bob@{b.host}")
    assert answer["state"] == "pending"
    assert answer["identity"]["handle"] == f"bob@{b.host}"

    async def accepted() -> bool:
        _, following = await a.call(
            "GET", "/api/v1/identities/current/following", alice, expect=200
        )
        return bool(following) and following[0]["state"] == "accepted"

    await wait_for(accepted)
    _, followers = await b.call("GET", "/api/v1/identities/current/followers", bob, expect=200)
    assert [f["identity"]["handle"] for f in followers] == [f"alice@{a.host}"]

    _, post = await b.call("POST", "/api/v1/posts", bob, json={"body": "hello from B"}, expect=201)

    async def arrived() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    remote = (await wait_for(arrived))[0]
    assert remote["body"] == "hello from B"
    assert remote["author"]["handle"] == f"bob@{b.host}"
    assert remote["local"] is False

    await b.call("PATCH", f"/api/v1/posts/{post['id']}", bob, json={"body": "edited"}, expect=200)

    async def edited() -> bool:
        return any(p["body"] == "edited" for p in await stream(a, alice))

    await wait_for(edited)
    await b.call("DELETE", f"/api/v1/posts/{post['id']}", bob, expect=204)

    async def gone() -> bool:
        return not [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    await wait_for(gone)
    await a.call("GET", f"/api/v1/posts/{remote['id']}", alice, expect=404)

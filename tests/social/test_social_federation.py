"""Social events across pods notify as local ones do: a comment, a like and an emoji reaction
from B on a post on A; their undoing and deletion take the notifications back; a mention of
`@x@C` in a post on A notifies x on C and lands in x's mentions stream."""

from __future__ import annotations

from typing import Any

from tests.federation.test_flows import follow_accepted
from tests.social.helpers import API, comment, get_post, items, kinds, notifications, post
from tests.support import Pod, User, wait_for


async def _copy(pod: Pod, user: User, uri: str) -> dict[str, Any]:
    """Wait for the post with this `uri` to reach `user`'s main stream on `pod`."""

    async def found() -> list[dict[str, Any]]:
        return [p for p in await items(pod, user, "/streams/main") if p["uri"] == uri]

    return (await wait_for(found))[0]


async def _until(check: Any, expected: Any) -> None:
    async def equal() -> bool:
        return await check() == expected

    try:
        await wait_for(equal)
    except AssertionError:
        assert await check() == expected  # show the difference


async def test_remote_comment_reaction_and_like_notify_the_author(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(b, bob, f"alice@{a.host}")
    original = await post(a, alice, "what do you think?")
    copy = await _copy(b, bob, original["uri"])

    # A comment from B: a threaded reply on A, notified to alice, counted.
    reply = await comment(b, bob, copy["id"], "from the other pod")

    async def comments() -> list[str]:
        return [c["body"] for c in await items(a, alice, f"/posts/{original['id']}/comments")]

    await _until(comments, ["from the other pod"])
    (remote_comment,) = await items(a, alice, f"/posts/{original['id']}/comments")
    assert remote_comment["inReplyTo"] == original["id"]
    assert remote_comment["local"] is False
    assert remote_comment["uri"] == reply["uri"]
    assert remote_comment["author"]["handle"] == f"bob@{b.host}"
    follow_note, note = reversed(await notifications(a, alice))
    assert (follow_note["kind"], follow_note["actor"]["handle"]) == ("follow", f"bob@{b.host}")
    assert note["kind"] == "comment"
    assert note["subjectId"] == remote_comment["id"]
    assert note["actor"]["handle"] == f"bob@{b.host}"
    assert (await get_post(a, alice, original["id"]))["counts"]["comments"] == 1

    # An emoji reaction from B (EmojiReact), then a like.
    await b.call("PUT", f"{API}/posts/{copy['id']}/reaction", bob, json={"emoji": "🌻"}, expect=200)

    async def reactions() -> list[dict[str, Any]]:
        return (await get_post(a, alice, original["id"]))["reactions"]

    await _until(reactions, [{"emoji": "🌻", "count": 1}])
    reaction_notes = [n for n in await notifications(a, alice) if n["kind"] == "reaction"]
    assert [(n["detail"], n["actor"]["handle"]) for n in reaction_notes] == [
        ({"post": original["id"], "emoji": "🌻"}, f"bob@{b.host}")
    ]
    await b.call("POST", f"{API}/posts/{copy['id']}/like", bob, expect=200)
    await b.call("POST", f"{API}/posts/{copy['id']}/reshare", bob, expect=200)

    async def counts() -> dict[str, int]:
        return (await get_post(a, alice, original["id"]))["counts"]

    await _until(counts, {"likes": 1, "reshares": 1, "comments": 1, "reactions": 1})
    assert sorted(await kinds(a, alice)) == [
        ("comment", "bob"), ("follow", "bob"), ("like", "bob"), ("reaction", "bob"),
        ("reshare", "bob"),
    ]  # fmt: skip
    await b.call("DELETE", f"{API}/posts/{copy['id']}/reshare", bob, expect=200)
    await _until(counts, {"likes": 1, "reshares": 0, "comments": 1, "reactions": 1})

    # Another emoji replaces the reaction, on A too: still one, and one notification.
    await b.call("PUT", f"{API}/posts/{copy['id']}/reaction", bob, json={"emoji": "🐝"}, expect=200)
    await _until(reactions, [{"emoji": "🐝", "count": 1}])

    async def reaction_emojis() -> list[str]:
        notes = await notifications(a, alice)
        return [n["detail"]["emoji"] for n in notes if n["kind"] == "reaction"]

    await _until(reaction_emojis, ["🐝"])

    # Undoing the reaction and the like, and deleting the comment, take everything back.
    await b.call("DELETE", f"{API}/posts/{copy['id']}/reaction", bob, expect=200)
    await _until(reactions, [])
    await _until(lambda: kinds(a, alice), [("like", "bob"), ("comment", "bob"), ("follow", "bob")])
    await b.call("DELETE", f"{API}/posts/{copy['id']}/like", bob, expect=200)
    await b.call("DELETE", f"{API}/posts/{reply['id']}", bob, expect=204)
    await _until(counts, {"likes": 0, "reshares": 0, "comments": 0, "reactions": 0})
    await _until(lambda: kinds(a, alice), [("follow", "bob")])
    assert await items(a, alice, f"/posts/{original['id']}/comments") == []


async def test_mention_of_a_remote_identity_notifies_them(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    xavier, yvonne = await c.register("xavier"), await c.register("yvonne")

    mention = await post(a, alice, f"hello @xavier@{c.host} and #Pods")
    assert f"{c.url}/users/xavier" in mention["html"]

    async def mentioned() -> list[dict[str, Any]]:
        return await items(c, xavier, "/streams/mentions")

    (seen,) = await wait_for(mentioned)
    assert seen["uri"] == mention["uri"]
    assert seen["author"]["handle"] == f"alice@{a.host}"
    assert seen["tags"] == ["pods"]
    assert f"{c.url}/users/xavier" in seen["html"]
    (note,) = await notifications(c, xavier)
    assert note["kind"] == "mention"
    assert note["subjectId"] == seen["id"]
    assert note["actor"]["handle"] == f"alice@{a.host}"
    # Only the one mentioned is told; nobody on B heard of it.
    assert await notifications(c, yvonne) == []
    assert await items(c, yvonne, "/streams/mentions") == []
    assert await notifications(b, bob) == []

    # A followers-only post (xavier does not follow alice) and a direct one by mention alone
    # reach him as well, and he may read them: the mention addresses them.
    await post(a, alice, f"friends and @xavier@{c.host}", visibility="followers")
    await post(a, alice, f"psst @xavier@{c.host}", visibility="direct")

    async def three() -> list[str]:
        return [p["body"] for p in await items(c, xavier, "/streams/mentions")]

    bodies = await wait_for(lambda: _has(three, 3))
    assert bodies[:2] == [f"psst @xavier@{c.host}", f"friends and @xavier@{c.host}"]
    notes = await notifications(c, xavier)
    assert [n["kind"] for n in notes] == ["mention"] * 3
    for n in notes:
        await c.call("GET", f"{API}/posts/{n['subjectId']}", xavier, expect=200)
        assert await _status(c, f"{API}/posts/{n['subjectId']}", yvonne) in (200, 404)
    # The direct one stays between them.
    direct_id = notes[0]["subjectId"]
    assert await _status(c, f"{API}/posts/{direct_id}", yvonne) == 404

    # Deleting the post on A takes xavier's notification with it on C.
    await a.call("DELETE", f"{API}/posts/{mention['id']}", alice, expect=204)

    async def gone() -> bool:
        return seen["id"] not in [n["subjectId"] for n in await notifications(c, xavier)]

    await wait_for(gone)
    assert len(await notifications(c, xavier)) == 2


async def _has(get: Any, n: int) -> Any:
    got = await get()
    return got if len(got) >= n else None


async def _status(pod: Pod, path: str, user: User) -> int:
    resp, _ = await pod.call("GET", path, user)
    return resp.status

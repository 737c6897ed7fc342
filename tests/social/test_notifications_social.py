"""Notifications: follows, follow requests and their answers, every kind of interaction; the
unread filter, the badge, marking one or all read; never someone else's."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from node.appkeys import DB
from node.clock import iso
from node.store import notifications as notification_store
from tests.social.helpers import (
    API,
    badge,
    comment,
    follow,
    kinds,
    notifications,
    post,
    status,
    unfollow,
    walk,
)
from tests.support import GUID_RE, TIME_RE, Trio


async def test_follow_notifications(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    made = await follow(pod, bob, "alice")
    assert made["state"] == "accepted"
    (note,) = await notifications(pod, alice)
    assert note["kind"] == "follow"
    assert note["actor"]["id"] == bob.identity_id
    assert note["subjectId"] == made["id"]
    assert GUID_RE.match(note["id"]) and TIME_RE.match(note["createdAt"])
    assert note["read"] is False
    assert await kinds(pod, bob) == []
    # Following again changes nothing; unfollowing takes the notification back.
    await follow(pod, bob, "alice")
    assert len(await notifications(pod, alice)) == 1
    await unfollow(pod, bob, alice.identity_id)
    assert await notifications(pod, alice) == []

    # A locked identity gets a request; approving it tells the follower.
    await pod.call("PATCH", f"{API}/identity/current", carol, json={"locked": True}, expect=200)
    request = await follow(pod, bob, "carol")
    assert request["state"] == "pending"
    assert await kinds(pod, carol) == [("follow.request", "bob")]
    _, pending = await pod.call("GET", f"{API}/follows/requests", carol, expect=200)
    await pod.call("POST", f"{API}/follows/requests/{pending[0]['id']}/approve", carol, expect=200)
    assert await kinds(pod, carol) == []  # the request is answered
    assert await kinds(pod, bob) == [("follow.accepted", "carol")]

    # A rejected request leaves nothing behind on either side.
    await follow(pod, alice, "carol")
    assert await kinds(pod, carol) == [("follow.request", "alice")]
    _, pending = await pod.call("GET", f"{API}/follows/requests", carol, expect=200)
    await pod.call("POST", f"{API}/follows/requests/{pending[0]['id']}/reject", carol, expect=200)
    assert await kinds(pod, carol) == []
    assert await kinds(pod, alice) == []


async def test_every_kind_of_interaction_notifies(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    target = await post(pod, alice, "hello")
    await follow(pod, bob, "alice")
    await post(pod, bob, "hi @alice")
    await comment(pod, bob, target["id"], "a comment")
    await pod.call("POST", f"{API}/posts/{target['id']}/like", bob, expect=200)
    await pod.call("POST", f"{API}/posts/{target['id']}/reshare", bob, expect=200)
    await pod.call(
        "PUT", f"{API}/posts/{target['id']}/reaction", bob, json={"emoji": "🙂"}, expect=200
    )
    assert await kinds(pod, alice) == [
        ("reaction", "bob"), ("reshare", "bob"), ("like", "bob"), ("comment", "bob"),
        ("mention", "bob"), ("follow", "bob"),
    ]  # fmt: skip
    assert await badge(pod, alice) == 6
    assert await badge(pod, bob) == 0


async def test_unread_badge_and_marking_read(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    for i in range(5):
        await post(pod, bob, f"@alice number {i}")
    await post(pod, bob, "@carol yours")
    notes = await notifications(pod, alice)
    assert len(notes) == 5 and await badge(pod, alice) == 5

    # Mark one read.
    _, out = await pod.call("POST", f"{API}/notifications/{notes[1]['id']}/read", alice, expect=200)
    assert out == {"marked": 1}
    assert await badge(pod, alice) == 4
    unread = await notifications(pod, alice, unread="true")
    assert [n["id"] for n in unread] == [n["id"] for n in notes if n["id"] != notes[1]["id"]]
    assert all(n["read"] is False for n in unread)
    everything = await notifications(pod, alice)
    assert [n["read"] for n in everything] == [False, True, False, False, False]
    assert len(await notifications(pod, alice, unread="false")) == 5
    assert len(await notifications(pod, alice, unread="1")) == 4
    # Marking it again is harmless.
    _, out = await pod.call("POST", f"{API}/notifications/{notes[1]['id']}/read", alice, expect=200)
    assert await badge(pod, alice) == 4

    # Someone else's notification, an unknown or malformed id: 404, and nothing changes.
    (carols,) = await notifications(pod, carol)
    assert await status(pod, "POST", f"/notifications/{carols['id']}/read", alice) == 404
    assert await status(pod, "POST", f"/notifications/{'0' * 32}/read", alice) == 404
    assert await status(pod, "POST", "/notifications/nope/read", alice) == 404
    assert (await notifications(pod, carol))[0]["read"] is False
    assert await badge(pod, carol) == 1

    # Mark all read: only alice's.
    _, out = await pod.call("POST", f"{API}/notifications/read", alice, expect=200)
    assert out == {"marked": 4}
    assert await badge(pod, alice) == 0
    assert await notifications(pod, alice, unread="true") == []
    _, out = await pod.call("POST", f"{API}/notifications/read", alice, expect=200)
    assert out == {"marked": 0}
    assert await badge(pod, carol) == 1
    # A new one is unread again.
    await post(pod, bob, "@alice once more")
    assert await badge(pod, alice) == 1

    for method, path in [
        ("GET", "/notifications"),
        ("GET", "/notifications/badge"),
        ("POST", "/notifications/read"),
        ("POST", f"/notifications/{carols['id']}/read"),
    ]:
        assert await status(pod, method, path, None) == 401


async def test_mark_all_read_leaves_what_came_after_it_was_asked(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await post(pod, bob, "@alice seen")
    db = pod.server.app[DB]
    # Another write holds the writer (an inbox delivery, say) while alice marks all read; what
    # it adds, after she asked, she has not seen and stays unread.
    async with db.transaction() as tx:
        marking = asyncio.create_task(
            pod.call("POST", f"{API}/notifications/read", alice, expect=200)
        )
        await asyncio.sleep(0.2)
        assert not marking.done()
        pod.clock.advance(timedelta(seconds=1))
        await notification_store.add(
            tx, alice.identity_id, "mention", bob.identity_id, None, iso(pod.clock.now())
        )
    _, out = await marking
    assert out == {"marked": 1}
    assert [n["read"] for n in await notifications(pod, alice)] == [False, True]
    assert await badge(pod, alice) == 1


async def test_an_edit_that_drops_a_mention_takes_its_notification(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    mine = await post(pod, bob, "hi @alice and @carol")
    assert await kinds(pod, alice) == [("mention", "bob")]

    async def edit(body: str) -> None:
        await pod.call("PATCH", f"{API}/posts/{mine['id']}", bob, json={"body": body}, expect=200)

    # Kept, the mention is told once; dropped, it is no longer told of.
    await edit("hello @alice and @carol")
    assert await kinds(pod, alice) == [("mention", "bob")]
    await edit("hello @carol")
    assert await kinds(pod, alice) == []
    assert await badge(pod, alice) == 0
    assert await kinds(pod, carol) == [("mention", "bob")]

    # A reply that named whom it answers still answers them without the name.
    target = await post(pod, alice, "a question")
    reply = await comment(pod, bob, target["id"], "@alice yes")
    assert await kinds(pod, alice) == [("mention", "bob")]
    await pod.call("PATCH", f"{API}/posts/{reply['id']}", bob, json={"body": "yes"}, expect=200)
    assert await kinds(pod, alice) == [("mention", "bob")]


async def test_notifications_paginate(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    for i in range(11):
        await post(pod, bob, f"@alice {i}")
    pages, links = await walk(pod, alice, "/notifications", 4)
    assert [len(p) for p in pages] == [4, 4, 3]
    ids = [n["id"] for page in pages for n in page]
    assert len(set(ids)) == 11
    assert "next" in links[0] and "next" not in links[-1]
    assert await status(pod, "GET", "/notifications", alice, params={"cursor": "x"}) == 400
    # The unread filter pages the same way.
    await pod.call("POST", f"{API}/notifications/{ids[0]}/read", alice, expect=200)
    pages, _ = await walk(pod, alice, "/notifications?unread=true", 4)
    assert [n["id"] for page in pages for n in page] == ids[1:]

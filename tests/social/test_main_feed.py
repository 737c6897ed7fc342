"""The main stream is read from a per-identity feed kept by triggers. Whatever happens (posts,
comments, deletions, follows with and without approval, unfollows, hashtag followings, joining
and leaving spaces), each person's main stream must equal what the definition of the stream
gives when asked of all posts, as the stream was read before the feed existed."""

from __future__ import annotations

import random
from typing import Any

from node.appkeys import DB
from node.clock import iso
from node.store.shares import post_permitted
from tests.social.helpers import API, comment, follow, post, unfollow, walk
from tests.spaces.support import join, make_space
from tests.support import Pod, Trio, User

# The main stream's definition, over every post (no feed).
DEFINITION = (
    "p.in_reply_to_ap_id IS NULL AND (p.author_guid = ?"
    " OR p.author_guid IN (SELECT followee_guid FROM follows WHERE follower_guid = ?"
    "  AND state = 'accepted')"
    " OR (p.space_guid IS NOT NULL AND EXISTS (SELECT 1 FROM space_memberships sm"
    "  WHERE sm.space_guid = p.space_guid AND sm.identity_guid = ?))"
    " OR EXISTS (SELECT 1 FROM post_tags t JOIN tag_followings f ON f.tag = t.tag"
    "  WHERE t.post_guid = p.guid AND f.identity_guid = ?))"
)


async def expected(pod: Pod, user: User) -> list[str]:
    viewer = user.identity_id
    readable, params = post_permitted("can_read", viewer, iso(pod.clock.now()))
    rows = await pod.app[DB].fetchall(
        f"SELECT p.guid FROM posts p WHERE {DEFINITION} AND {readable}"
        " ORDER BY p.created_at DESC, p.guid DESC",
        [viewer] * 4 + params,
    )
    return [r[0] for r in rows]


async def actual(pod: Pod, user: User) -> list[str]:
    pages, _ = await walk(pod, user, "/streams/main", per_page=7)
    return [p["id"] for page in pages for p in page]


async def test_the_feed_matches_the_definition(trio: Trio) -> None:
    pod = trio.pod
    dave = await pod.register("dave")
    people = [trio.alice, trio.bob, trio.carol, dave]
    await pod.call("PATCH", f"{API}/identity/current", dave, json={"locked": True}, expect=200)
    spaces = [
        (await make_space(pod, trio.alice, displayName="Open"))["id"],
        (await make_space(pod, trio.bob, displayName="Closed", visibility="private"))["id"],
    ]
    admins = {spaces[0]: trio.alice, spaces[1]: trio.bob}
    members: dict[str, set[str]] = {spaces[0]: {"alice"}, spaces[1]: {"bob"}}
    posts: list[tuple[User, str]] = []
    rnd = random.Random(7)

    async def step(n: int) -> str:
        me = rnd.choice(people)
        other = rnd.choice([p for p in people if p is not me])
        roll = rnd.random()
        if roll < 0.30:
            fields: dict[str, Any] = {
                "visibility": rnd.choice(["public", "public", "followers", "direct"])
            }
            if fields["visibility"] == "direct":
                fields["recipients"] = [other.username]
            text = f"post {n}" + rnd.choice(["", " #roses", " #mud"])
            room = rnd.choice([None, None, *spaces])
            if room is not None and me.username in members[room]:
                fields = {"spaceId": room}
            made = await post(pod, me, text, **fields)
            posts.append((me, made["id"]))
            return "space post" if "spaceId" in fields else "post"
        elif roll < 0.38 and posts:
            await comment(pod, me, rnd.choice(posts)[1], f"comment {n}")
            return "comment"
        elif roll < 0.43 and posts:
            author, guid = posts.pop(rnd.randrange(len(posts)))
            await pod.call("DELETE", f"{API}/posts/{guid}", author, expect=204)
            return "delete"
        elif roll < 0.60:
            await follow(pod, me, other.username)
            if other is dave:
                _, asks = await pod.call("GET", f"{API}/follows/requests", dave, expect=200)
                for ask in asks:
                    if rnd.random() < 0.7:
                        path = f"{API}/follows/requests/{ask['id']}/approve"
                        await pod.call("POST", path, dave, expect=200)
                return "follow with approval"
            return "follow"
        elif roll < 0.72:
            resp, _ = await pod.call("DELETE", f"{API}/follows/{other.identity_id}", me)
            assert resp.status in (204, 404)
            return "unfollow" if resp.status == 204 else "nothing"
        elif roll < 0.82:
            tag = rnd.choice(["roses", "mud"])
            if rnd.random() < 0.6:
                resp, _ = await pod.call("POST", f"{API}/tag_followings", me, json={"name": tag})
                assert resp.status in (200, 201)
                return "follow tag"
            else:
                resp, _ = await pod.call("DELETE", f"{API}/tag_followings/{tag}", me)
                assert resp.status in (204, 404)
                return "unfollow tag" if resp.status == 204 else "nothing"
        else:
            room = rnd.choice(spaces)
            if me.username in members[room]:
                if admins[room] is not me:
                    await pod.call("POST", f"{API}/spaces/{room}/leave", me)
                    members[room].discard(me.username)
                    return "leave space"
            elif room == spaces[0]:
                await join(pod, me, room)
                members[room].add(me.username)
                return "join space"
        return "nothing"

    done: set[str] = set()
    for n in range(120):
        done.add(await step(n))
        if n % 5 == 4:
            for person in people:
                assert await actual(pod, person) == await expected(pod, person), (n, person)
    # The run went through every kind of change, so the comparisons above mean something.
    assert done >= {
        "post", "space post", "comment", "delete", "follow", "follow with approval", "unfollow",
        "follow tag", "unfollow tag", "join space", "leave space",
    }, done  # fmt: skip


async def test_a_follow_brings_in_earlier_posts_and_an_unfollow_takes_them_out(
    trio: Trio,
) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    older = [await post(pod, bob, f"before {i}") for i in range(3)]
    await follow(pod, alice, "bob")
    assert await actual(pod, alice) == [p["id"] for p in reversed(older)]
    await unfollow(pod, alice, bob.identity_id)
    assert await actual(pod, alice) == []
    # Nothing is left behind in the feed that the stream would have to skip.
    left = await pod.app[DB].fetchval(
        "SELECT count(*) FROM main_feed WHERE viewer_guid = ?", (alice.identity_id,)
    )
    assert left == 0


async def test_joining_a_space_brings_in_its_earlier_posts(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    room = (await make_space(pod, alice, displayName="Orchard"))["id"]
    earlier = await post(pod, alice, "before bob came", spaceId=room)
    await join(pod, bob, room)
    assert await actual(pod, bob) == [earlier["id"]]
    await pod.call("POST", f"{API}/spaces/{room}/leave", bob)
    assert await actual(pod, bob) == []
    left = await pod.app[DB].fetchval(
        "SELECT count(*) FROM main_feed WHERE viewer_guid = ?", (bob.identity_id,)
    )
    assert left == 0

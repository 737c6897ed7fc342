"""Remote members of our spaces as other software sends them: a Mastodon-style member whose
replies name the post's author and not the Group, and members who have been removed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from federation.routes import FEDERATION
from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import AS_CONTEXT, AS_PUBLIC, HostilePod, new_key
from tests.spaces.support import make_invite, make_private, make_space, post_in, space_posts
from tests.support import Pod, User, wait_for


@pytest.fixture
async def mastodon() -> AsyncIterator[HostilePod]:
    """A pod with `mary`, a Person who knows nothing of spaces but following a Group."""
    pod = await HostilePod().start()
    pod.add_actor("mary", new_key())
    yield pod
    await pod.close()


def _sent(remote: HostilePod, kind: str) -> list[dict[str, Any]]:
    return [d for _, b in remote.received if (d := json.loads(b))["type"] == kind]


def _served(remote: HostilePod, note: dict[str, Any]) -> dict[str, Any]:
    """The note, served at its id as well (pods fetch a relayed public note from its origin)."""
    remote.documents[note["id"].removeprefix(remote.base)] = {"@context": AS_CONTEXT, **note}
    return note


async def _send(pod: Pod, remote: HostilePod, activity: dict[str, Any]) -> None:
    status, _ = await remote.post(f"{pod.url}/inbox", activity, pod.clock.now(), signer="mary")
    assert status == 202


async def _follow_group(pod: Pod, remote: HostilePod, space: dict[str, Any]) -> None:
    """mary follows the space's Group, as a Mastodon user follows any account; accepted."""
    await _send(pod, remote, remote.activity("mary", "Follow", space["uri"]))
    await wait_for(lambda: _async(_sent(remote, "Accept")))


async def _marys_offer(pod: Pod, remote: HostilePod, space: dict[str, Any]) -> dict[str, Any]:
    """mary's public post to the space, sent to its Group (and served at its id)."""
    in_space = [AS_PUBLIC, space["uri"]]
    note = _served(remote, remote.note("mary", "a fair offer", in_space, audience=space["uri"]))
    await _send(pod, remote, remote.activity("mary", "Create", note))
    return note


async def _async(value: Any) -> Any:
    return value


async def _member_of(
    pod: Pod, user: User, space: dict[str, Any], body: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`user` (on `pod`) joins the space (on another pod) and is accepted."""
    body = body or {"target": space["uri"]}
    _, data = await pod.call("POST", "/api/v1/spaces/join", user, json=body, expect=202)
    mine = data["space"]

    async def member() -> bool:
        resp, seen = await pod.call("GET", f"/api/v1/spaces/{mine['id']}", user)
        return resp.status == 200 and seen["role"] == "member"  # a private one is 404 till then

    await wait_for(member)
    return mine


async def _comments(pod: Pod, user: User, post_id: str) -> list[str]:
    _, items = await pod.call("GET", f"/api/v1/posts/{post_id}/comments", user, expect=200)
    return [c["body"] for c in items]


async def _potters(
    a: Pod, c: Pod, mastodon: HostilePod
) -> tuple[User, User, dict[str, Any], dict[str, Any]]:
    """alice's public space on A, with mary (Mastodon) and carol (on C) as members: alice,
    carol, the space, and the space as C knows it."""
    alice, carol = await a.register("alice"), await c.register("carol")
    space = await make_space(a, alice, displayName="Potters")
    await _follow_group(a, mastodon, space)
    return alice, carol, space, await _member_of(c, carol, space)


async def test_a_mastodon_members_reply_joins_the_thread_and_is_relayed(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    a, c = await make_pod(), await make_pod()
    alice, carol, space, on_c = await _potters(a, c, mastodon)
    post = await post_in(a, alice, space["id"], "kiln is hot")
    await wait_for(lambda: _async(_sent(mastodon, "Announce")))  # mary hears it from the Group

    # Mastodon's reply names the post's author, not the Group it came through.
    reply = _served(
        mastodon,
        mastodon.note(
            "mary", "how hot?", [AS_PUBLIC], cc=[f"{a.url}/users/alice"], inReplyTo=post["uri"]
        ),
    )
    await _send(a, mastodon, mastodon.activity("mary", "Create", reply, to=[AS_PUBLIC]))
    assert await _comments(a, alice, post["id"]) == ["how hot?"]

    # The Group relays it to the members' pods, where it answers the post too.
    [on_c_post] = await wait_for(lambda: space_posts(c, carol, on_c["id"]))

    async def relayed() -> list[str]:
        return await _comments(c, carol, on_c_post["id"])

    assert await wait_for(relayed) == ["how hot?"]


async def test_a_removed_member_can_no_longer_edit_what_the_group_relays(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    a, c = await make_pod(), await make_pod()
    alice, carol, space, on_c = await _potters(a, c, mastodon)
    note = await _marys_offer(a, mastodon, space)

    async def on_c_bodies() -> list[str]:
        return [p["body"] for p in await space_posts(c, carol, on_c["id"])]

    await wait_for(lambda: _is(on_c_bodies(), ["a fair offer"]))
    _, members = await a.call("GET", f"/api/v1/spaces/{space['id']}/members", alice)
    [mary] = [m for m in members if m["identity"]["handle"].startswith("mary@")]
    await a.call(
        "DELETE", f"/api/v1/spaces/{space['id']}/members/{mary['identity']['id']}", alice,
        expect=204,
    )  # fmt: skip
    await wait_for(lambda: _async(_sent(mastodon, "Reject")))

    edited = {**note, "content": "<p>BUY CHEAP PILLS</p>", "updated": "2030-01-01T00:00:00Z"}
    await _send(a, mastodon, mastodon.activity("mary", "Update", edited))
    bodies = await a.app[DB].fetchall("SELECT body FROM posts WHERE ap_id = ?", (note["id"],))
    assert [r[0] for r in bodies] == ["a fair offer"]
    queued = await a.app[DB].fetchval("SELECT count(*) FROM outbox WHERE body LIKE '%PILLS%'")
    assert queued == 0
    # Deleting it stays theirs to do, and goes everywhere it went.
    await _send(a, mastodon, mastodon.activity("mary", "Delete", note["id"]))
    await wait_for(lambda: _is(on_c_bodies(), []))


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def _counts(pod: Pod, user: User, post_id: str) -> dict[str, Any]:
    _, post = await pod.call("GET", f"/api/v1/posts/{post_id}", user, expect=200)
    return {"likes": post["counts"]["likes"], "reactions": post["reactions"]}


async def test_members_likes_and_reactions_reach_every_members_pod(make_pod: PodFactory) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob, carol = (
        await a.register("alice"),
        await b.register("bob"),
        await c.register("carol"),
    )
    space = await make_space(a, alice, displayName="Potters", visibility="private")
    invite = await make_invite(a, alice, space["id"])
    on_b = await _member_of(b, bob, space, {"target": invite["link"]})
    on_c = await _member_of(c, carol, space, {"target": invite["link"]})
    post = await post_in(b, bob, on_b["id"], "members only")
    assert post["visibility"] == "space"
    [on_a] = await wait_for(lambda: space_posts(a, alice, space["id"]))
    [on_c_post] = await wait_for(lambda: space_posts(c, carol, on_c["id"]))

    # carol, on a third pod, likes bob's post and reacts to it: bob's pod and the Group's hear.
    await c.call("POST", f"/api/v1/posts/{on_c_post['id']}/like", carol, expect=200)
    await c.call(
        "PUT", f"/api/v1/posts/{on_c_post['id']}/reaction", carol, json={"emoji": "🔥"},
        expect=200,
    )  # fmt: skip
    liked = {"likes": 1, "reactions": [{"emoji": "🔥", "count": 1}]}
    await wait_for(lambda: _is(_counts(b, bob, post["id"]), liked))
    await wait_for(lambda: _is(_counts(a, alice, on_a["id"]), liked))
    # alice, on the Group's pod, likes it too: carol's pod hears it from the Group.
    await a.call("POST", f"/api/v1/posts/{on_a['id']}/like", alice, expect=200)
    twice = {**liked, "likes": 2}
    await wait_for(lambda: _is(_counts(c, carol, on_c_post["id"]), twice))
    await wait_for(lambda: _is(_counts(b, bob, post["id"]), twice))

    # Taking them back goes the same ways.
    await c.call("DELETE", f"/api/v1/posts/{on_c_post['id']}/like", carol, expect=200)
    await c.call("DELETE", f"/api/v1/posts/{on_c_post['id']}/reaction", carol, expect=200)
    once = {"likes": 1, "reactions": []}
    for pod, user, post_id in ((a, alice, on_a["id"]), (b, bob, post["id"])):
        await wait_for(lambda: _is(_counts(pod, user, post_id), once))  # noqa: B023


async def test_a_mastodon_follower_of_a_group_is_sent_boosts_it_can_read(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    a, c = await make_pod(), await make_pod()
    alice, carol, space, on_c = await _potters(a, c, mastodon)
    post = await post_in(a, alice, space["id"], "kiln is hot")
    theirs = await post_in(c, carol, on_c["id"], "so is mine")

    # Mastodon takes no Announce of a Create: each public post is also boosted as itself.
    async def boosted() -> set[Any]:
        return {d["object"] for d in _sent(mastodon, "Announce") if isinstance(d["object"], str)}

    await wait_for(lambda: _is(boosted(), {post["uri"], theirs["uri"]}), timeout=15)
    for announce in _sent(mastodon, "Announce"):
        assert announce["actor"] == space["uri"] and AS_PUBLIC in announce["to"]
    # The other members' pods have each post once, from the Group's Create.
    await wait_for(lambda: _is(_bodies(c, carol, on_c["id"]), ["kiln is hot", "so is mine"]))
    assert await _bodies(a, alice, space["id"]) == ["kiln is hot", "so is mine"]


async def _bodies(pod: Pod, user: User, space_id: str) -> list[str]:
    return sorted(p["body"] for p in await space_posts(pod, user, space_id))


@pytest.mark.parametrize("reply_first", [False, True])
async def test_a_reply_before_its_space_post_joins_it_only_from_a_member(
    make_pod: PodFactory, mastodon: HostilePod, reply_first: bool
) -> None:
    """Deliveries keep no order: a member's reply that comes before the space post it answers
    joins the thread when the post comes; a non-member's stays out of it, as it does when it
    comes second."""
    a = await make_pod()
    alice = await a.register("alice")
    space = await make_space(a, alice, displayName="Potters")
    await _follow_group(a, mastodon, space)
    mastodon.add_actor("eve", new_key())  # follows no Group
    in_space = [AS_PUBLIC, space["uri"]]
    post = mastodon.note("mary", "kiln is hot", in_space, audience=space["uri"])
    member = mastodon.note("mary", "now cooling", in_space, inReplyTo=post["id"])
    outsider = mastodon.note(
        "eve", "let me in", [AS_PUBLIC], cc=[f"{a.url}/users/alice"], inReplyTo=post["id"]
    )
    replies = [("mary", member), ("eve", outsider)]
    for name, note in [*replies, ("mary", post)] if reply_first else [("mary", post), *replies]:
        activity = mastodon.activity(name, "Create", note, to=note["to"])
        status, _ = await mastodon.post(f"{a.url}/inbox", activity, a.clock.now(), signer=name)
        assert status == 202

    [stored] = [p for p in await space_posts(a, alice, space["id"]) if p["uri"] == post["id"]]
    assert await _comments(a, alice, stored["id"]) == ["now cooling"]
    assert stored["counts"]["comments"] == 1
    db = a.app[DB]
    # Kept (it names alice), but apart from the thread.
    kept = await db.fetchall(
        "SELECT in_reply_to_guid FROM posts WHERE ap_id = ?", (outsider["id"],)
    )
    assert [r[0] for r in kept] == [None]


async def test_a_mastodon_follower_of_a_group_hears_of_edits_and_deletions(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """Mastodon takes no Announce of an Update or a Delete either. An edit or deletion of our
    author's post reaches it from the author, as any post's does; and a deleted post's boost
    by the Group is undone, whoever wrote the post (a remote author's own Delete cannot reach
    a pod that only the Group told of the post)."""
    a, c = await make_pod(), await make_pod()
    alice, carol, space, on_c = await _potters(a, c, mastodon)
    post = await post_in(a, alice, space["id"], "kiln is hot")
    theirs = await post_in(c, carol, on_c["id"], "so is mine")

    def boosts() -> dict[str, str]:
        """Each boosted post's id -> the Announce's id."""
        found = _sent(mastodon, "Announce")
        return {d["object"]: d["id"] for d in found if isinstance(d["object"], str)}

    await wait_for(lambda: _is(_async(set(boosts())), {post["uri"], theirs["uri"]}), timeout=15)

    def sent(kind: str, actor: str) -> list[dict[str, Any]]:
        return [d for d in _sent(mastodon, kind) if d["actor"] == actor]

    alice_uri = f"{a.url}/users/alice"
    await a.call("PATCH", f"/api/v1/posts/{post['id']}", alice, json={"body": "cooler"}, expect=200)
    [update] = await wait_for(lambda: _async(sent("Update", alice_uri)))
    assert (update["object"]["id"], update["object"]["content"]) == (post["uri"], "<p>cooler</p>")

    await a.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)
    [delete] = await wait_for(lambda: _async(sent("Delete", alice_uri)))
    assert delete["object"]["id"] == post["uri"]
    await c.call("DELETE", f"/api/v1/posts/{theirs['id']}", carol, expect=204)

    async def undone() -> dict[str, Any]:
        return {
            u["object"]["object"]: u["object"]["id"]
            for u in sent("Undo", space["uri"])
            if u["object"]["type"] == "Announce"
        }

    await wait_for(lambda: _is(undone(), boosts()), timeout=15)


async def test_a_boosted_post_deleted_after_its_space_went_private_is_still_undone(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """Made private, the space's posts are no longer public, but Mastodon still holds the
    Group's boost of one that was: deleting the post still tells it, from the author and by
    undoing the boost, or it stays readable there for ever."""
    a, c = await make_pod(), await make_pod()
    alice, _, space, _ = await _potters(a, c, mastodon)
    post = await post_in(a, alice, space["id"], "kiln is hot")
    [boost] = await wait_for(
        lambda: _async([d for d in _sent(mastodon, "Announce") if d["object"] == post["uri"]])
    )
    await make_private(a, alice, space["id"])
    await a.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)

    def undone() -> list[str]:
        return [u["object"]["id"] for u in _sent(mastodon, "Undo") if u["actor"] == space["uri"]]

    await wait_for(lambda: _async(undone()), timeout=15)
    assert undone() == [boost["id"]]

    def deleted() -> list[str]:
        return [d["object"]["id"] for d in _sent(mastodon, "Delete")]

    assert await wait_for(lambda: _async(deleted()), timeout=15) == [post["uri"]]


async def test_a_members_post_deleted_several_times_at_once_undoes_its_boost_once(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """Deletes of one post under several ids (as a pod retrying under another id sends),
    arriving together, all read the post before any is applied: the Group's boost is undone
    once, and none is refused for an activity id queued already."""
    a, c = await make_pod(), await make_pod()
    _, _, space, _ = await _potters(a, c, mastodon)
    note = await _marys_offer(a, mastodon, space)
    boosted = "SELECT count(*) FROM outbox WHERE ap_id LIKE '%-boost'"
    assert await a.app[DB].fetchval(boosted) == 1  # to C: mary's pod has the post
    deletes = [mastodon.activity("mary", "Delete", note["id"]) for _ in range(4)]
    answers = await asyncio.gather(
        *(mastodon.post(f"{a.url}/inbox", d, a.clock.now(), signer="mary") for d in deletes)
    )
    assert [status for status, _ in answers] == [202] * 4
    undos = await a.app[DB].fetchval("SELECT count(*) FROM outbox WHERE activity_type = 'Undo'")
    assert undos == 1


async def test_a_member_deleting_their_account_has_their_space_posts_deleted_for_all(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """A remote member's account deleted: their posts in our space go here, and the Group
    tells the other members' pods, which may never hear of the deletion from the member's
    pod, and undoes its boosts of them for Mastodon followers."""
    a, c = await make_pod(), await make_pod()
    alice, carol, space, on_c = await _potters(a, c, mastodon)
    theirs = await post_in(c, carol, on_c["id"], "so is mine")

    def boosted() -> set[str]:
        found = _sent(mastodon, "Announce")
        return {d["object"] for d in found if isinstance(d["object"], str)}

    await wait_for(lambda: _is(_async(boosted()), {theirs["uri"]}), timeout=15)
    await wait_for(lambda: _is(_bodies(a, alice, space["id"]), ["so is mine"]))
    body = {"password": "correct horse battery"}
    await c.call("DELETE", "/api/v1/accounts/current", carol, json=body, expect=204)
    await wait_for(lambda: _is(_bodies(a, alice, space["id"]), []), timeout=15)

    async def undone() -> set[str]:
        found = _sent(mastodon, "Undo")
        return {u["object"]["object"] for u in found if u["object"]["type"] == "Announce"}

    await wait_for(lambda: _is(undone(), {theirs["uri"]}), timeout=15)
    deletes = [d for d in _sent(mastodon, "Announce") if isinstance(d["object"], dict)]
    assert any(
        d["object"]["type"] == "Delete" and d["object"]["object"]["id"] == theirs["uri"]
        for d in deletes
    )


async def test_a_boost_outlives_the_delivery_history_to_be_undone(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """Finished deliveries and their activities are forgotten after the delivery history's
    days, but for the Group's boost of a post: deleted long after, the post still has its
    boost undone where the Group sent it."""
    pod = await make_pod(federation={"delivery_history_days": 10})
    history = pod.app[FEDERATION].history
    await history.stop()  # its own runs: the test's prune is the only one
    alice = await pod.register("alice")
    space = await make_space(pod, alice, displayName="Potters")
    await _follow_group(pod, mastodon, space)
    post = await post_in(pod, alice, space["id"], "kiln is hot")
    [boost] = await wait_for(
        lambda: _async([d for d in _sent(mastodon, "Announce") if d["object"] == post["uri"]])
    )
    db = pod.app[DB]
    unfinished = "SELECT count(*) FROM deliveries WHERE state NOT IN ('delivered', 'dead')"
    await wait_for(lambda: _is(db.fetchval(unfinished), 0))

    pod.clock.advance(timedelta(days=60))
    await history.prune_once()
    assert await db.fetchval("SELECT count(*) FROM deliveries") == 0
    kept = await db.fetchall("SELECT ap_id FROM outbox")
    assert [r[0] for r in kept] == [boost["id"]]

    await pod.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)

    def undone() -> list[str]:
        return [u["object"]["id"] for u in _sent(mastodon, "Undo") if u["actor"] == space["uri"]]

    assert await wait_for(lambda: _async(undone()), timeout=15) == [boost["id"]]


async def test_a_post_deleted_after_its_space_went_private_reaches_the_authors_followers(
    make_pod: PodFactory, mastodon: HostilePod
) -> None:
    """The author's followers got the post while its space was public: once the space is
    private its Update is theirs no more, but its Delete is, or they keep it for ever."""
    a = await make_pod()
    alice = await a.register("alice")
    await _send(a, mastodon, mastodon.activity("mary", "Follow", f"{a.url}/users/alice"))
    await wait_for(lambda: _async(_sent(mastodon, "Accept")))
    space = await make_space(a, alice)
    post = await post_in(a, alice, space["id"], "kiln is hot")
    await wait_for(
        lambda: _async([c for c in _sent(mastodon, "Create") if c["object"]["id"] == post["uri"]])
    )
    await make_private(a, alice, space["id"])
    await a.call(
        "PATCH", f"/api/v1/posts/{post['id']}", alice, json={"body": "kiln is cold"}, expect=200
    )
    await a.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)

    def deleted() -> list[dict[str, Any]]:
        return [d for d in _sent(mastodon, "Delete") if d["object"]["id"] == post["uri"]]

    await wait_for(lambda: _async(deleted()), timeout=15)
    assert [d["object"]["type"] for d in deleted()] == ["Tombstone"]
    assert all(space["uri"] not in json.dumps(d) for d in deleted())
    # The new text never reached them.
    assert not [u for u in _sent(mastodon, "Update") if "cold" in json.dumps(u)]

"""A remote Group is trusted with what is in its space and with nothing else: its Announces
cannot file posts we hold elsewhere into its space, rewrite them or delete them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import AS_CONTEXT, AS_PUBLIC, HostilePod, new_key
from tests.support import Pod, User, wait_for


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return new_key(), new_key()


@pytest.fixture
async def group(keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    """A pod whose `club` calls itself a Group, and `eve`, a Person on the same host."""
    pod = await HostilePod().start()
    pod.add_actor("club", keys[0], type="Group")
    pod.add_actor("eve", keys[1])
    yield pod
    await pod.close()


async def _joined(pod: Pod, user: User, group: HostilePod, as_space: bool = False) -> None:
    """`user` follows the Group (or joins it as a space), which accepts: its Announces are
    then taken."""
    if as_space:
        target = {"target": group.actor("club")}
        await pod.call("POST", "/api/v1/spaces/join", user, json=target)
    else:
        await pod.call("POST", "/api/v1/follows", user, json={"target": group.handle("club")})

    async def follow() -> list[dict[str, Any]]:
        return [
            d for _, b in group.received
            if (d := json.loads(b))["type"] == "Follow"
            and d["actor"] == f"{pod.url}/users/{user.username}"
        ]  # fmt: skip

    accept = group.activity("club", "Accept", (await wait_for(follow))[0]["id"])
    status, _ = await group.post(f"{pod.url}/inbox", accept, pod.clock.now(), signer="club")
    assert status == 202


async def _relay(pod: Pod, group: HostilePod, kind: str, obj: Any) -> None:
    inner = {"id": group.new_id("club"), "type": kind, "actor": group.actor("club"), "object": obj}
    await _announce(pod, group, inner)


async def _announce(pod: Pod, group: HostilePod, inner: dict[str, Any]) -> None:
    announce = group.activity("club", "Announce", inner)
    status, _ = await group.post(f"{pod.url}/inbox", announce, pod.clock.now(), signer="club")
    assert status == 202


async def _row(pod: Pod, ap_id: str) -> dict[str, Any] | None:
    row = await pod.app[DB].fetchone(
        "SELECT guid, body, space_guid, visibility FROM posts WHERE ap_id = ?", (ap_id,)
    )
    return dict(row) if row else None


async def test_a_group_cannot_take_a_local_post_into_its_space(
    make_pod: PodFactory, group: HostilePod
) -> None:
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await pod.register("carol")
    await _joined(pod, bob, group)
    _, post = await pod.call(
        "POST", "/api/v1/posts", alice,
        json={"body": "for carol", "visibility": "direct", "recipients": ["carol"]}, expect=201,
    )  # fmt: skip
    note = {
        "id": post["uri"], "type": "Note", "attributedTo": f"{pod.url}/users/alice",
        "to": [group.actor("club")], "content": "for carol",
    }  # fmt: skip
    await _relay(pod, group, "Create", note)

    assert (await _row(pod, post["uri"]))["space_guid"] is None  # type: ignore[index]
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=404)
    # Its edits go to carol's pod alone, never to the Group.
    sent = len(group.received)
    await pod.call("PATCH", f"/api/v1/posts/{post['id']}", alice, json={"body": "new"}, expect=200)
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "flush"}, expect=201)
    assert not [b for _, b in group.received[sent:] if b"new" in b]


async def test_a_group_cannot_file_rewrite_or_delete_another_authors_post(
    make_pod: PodFactory, group: HostilePod
) -> None:
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await _joined(pod, bob, group)
    # eve, on the Group's host but not the Group, sends alice a direct note.
    eve_note = group.note("eve", "<p>hello alice</p>", [f"{pod.url}/users/alice"])
    create = group.activity("eve", "Create", eve_note)
    status, _ = await group.post(f"{pod.url}/inbox", create, pod.clock.now(), signer="eve")
    assert status == 202
    before = await _row(pod, eve_note["id"])
    assert before is not None and before["visibility"] == "direct"

    forged = {**eve_note, "to": [group.actor("club")], "content": "<p>FORGED</p>"}
    await _relay(pod, group, "Create", forged)
    await _relay(pod, group, "Update", forged)
    await _relay(pod, group, "Delete", eve_note["id"])

    assert await _row(pod, eve_note["id"]) == before
    await pod.call("GET", f"/api/v1/posts/{before['guid']}", bob, expect=404)
    _, seen = await pod.call("GET", f"/api/v1/posts/{before['guid']}", alice, expect=200)
    assert seen["body"] == "hello alice" and seen["spaceId"] is None


async def test_a_group_still_relays_new_members_only_posts_and_their_edits(
    make_pod: PodFactory, group: HostilePod
) -> None:
    pod = await make_pod()
    bob = await pod.register("bob")
    await _joined(pod, bob, group)
    note = group.note("eve", "<p>members only</p>", [group.actor("club")])
    await _relay(pod, group, "Create", note)
    stored = await _row(pod, note["id"])
    assert stored is not None and stored["visibility"] == "space" and stored["space_guid"]
    _, seen = await pod.call("GET", f"/api/v1/posts/{stored['guid']}", bob, expect=200)
    assert seen["body"] == "members only"

    await _relay(pod, group, "Update", {**note, "content": "<p>edited</p>"})
    _, seen = await pod.call("GET", f"/api/v1/posts/{stored['guid']}", bob, expect=200)
    assert seen["body"] == "edited"


async def test_a_public_post_is_in_a_group_only_if_its_origin_says_so(
    make_pod: PodFactory, group: HostilePod, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    pod = await make_pod()
    bob = await pod.register("bob")
    await _joined(pod, bob, group)
    elsewhere = await HostilePod().start()  # eve's own pod, not the Group's
    try:
        elsewhere.add_actor("eve", keys[1])
        public = elsewhere.note("eve", "<p>mine alone</p>", [AS_PUBLIC])
        posted = elsewhere.note(
            "eve", "<p>for the club</p>", [AS_PUBLIC], audience=group.actor("club")
        )
        for note in (public, posted):
            path = note["id"].removeprefix(elsewhere.base)
            elsewhere.documents[path] = {"@context": AS_CONTEXT, **note}
        # The Group's copy claims the post was made in it; eve's own copy does not.
        await _relay(pod, group, "Create", {**public, "audience": group.actor("club")})
        assert await _row(pod, public["id"]) is None

        await _relay(pod, group, "Create", posted)
        stored = await _row(pod, posted["id"])
        assert stored is not None and stored["space_guid"] and stored["visibility"] == "public"
    finally:
        await elsewhere.close()


async def test_a_group_deleting_itself_takes_what_it_brought_and_leaves_ours(
    make_pod: PodFactory, group: HostilePod
) -> None:
    pod = await make_pod()
    bob, carol = await pod.register("bob"), await pod.register("carol")
    for member in (bob, carol):
        await _joined(pod, member, group, as_space=True)

    async def joined() -> list[dict[str, Any]]:
        _, spaces = await pod.call("GET", "/api/v1/spaces", bob, expect=200)
        return [s for s in spaces if s.get("role") == "member"]

    [space] = await wait_for(joined)
    relayed = [
        group.note("eve", f"<p>members only {n}</p>", [group.actor("club")]) for n in range(30)
    ]
    for note in relayed:
        await _relay(pod, group, "Create", note)
    _, ours = await pod.call(
        "POST", "/api/v1/posts", bob, json={"body": "bob's own", "spaceId": space["id"]},
        expect=201,
    )  # fmt: skip
    _, stream = await pod.call("GET", "/api/v1/streams/main", carol, expect=200)
    assert ours["id"] in [p["id"] for p in stream]
    delete = group.activity("club", "Delete", group.actor("club"), to=[AS_PUBLIC])
    status, _ = await group.post(f"{pod.url}/inbox", delete, pod.clock.now(), signer="club")
    assert status == 202
    for note in relayed:
        assert await _row(pod, note["id"]) is None
        assert await pod.app[DB].fetchval("SELECT 1 FROM tombstones WHERE ap_id = ?", (note["id"],))
    _, kept = await pod.call("GET", f"/api/v1/posts/{ours['id']}", bob, expect=200)
    assert kept["spaceId"] is None
    # carol had it in her stream only as a member: it leaves it; bob's own stream keeps it.
    for who, expected in ((carol, []), (bob, [ours["id"]])):
        _, stream = await pod.call("GET", "/api/v1/streams/main", who, expect=200)
        assert [p["id"] for p in stream] == expected
    _, spaces = await pod.call("GET", "/api/v1/spaces", bob, expect=200)
    assert spaces == []


async def test_a_group_vouches_for_likes_in_its_space_only(
    make_pod: PodFactory, group: HostilePod
) -> None:
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await _joined(pod, bob, group, as_space=True)
    _, outside = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "mine", "visibility": "public"}, expect=201
    )
    inside = group.note("eve", "<p>members only</p>", [group.actor("club")])
    await _relay(pod, group, "Create", inside)
    stored = await wait_for(lambda: _row(pod, inside["id"]))

    # The Group says eve liked and reacted to both: it is trusted for its own space only.
    for target in (outside["uri"], inside["id"]):
        for kind, extra in (("Like", {}), ("EmojiReact", {"content": "🔥"})):
            await _announce(
                pod,
                group,
                {"id": group.new_id("eve"), "type": kind, "actor": group.actor("eve"),
                 "object": target, **extra},
            )  # fmt: skip
    _, mine = await pod.call("GET", f"/api/v1/posts/{outside['id']}", alice, expect=200)
    assert mine["counts"]["likes"] == 0 and mine["reactions"] == []
    _, theirs = await pod.call("GET", f"/api/v1/posts/{stored['guid']}", bob, expect=200)
    assert theirs["counts"]["likes"] == 1
    assert theirs["reactions"] == [{"emoji": "🔥", "count": 1}]


async def test_a_relayed_reply_arriving_before_its_post_brings_the_post_along(
    make_pod: PodFactory, group: HostilePod
) -> None:
    """Deliveries keep no order: the Group's relay of a public reply (which names only whom it
    answers, as Mastodon's do) may come before that of the post it answers. The post is then
    taken from its origin, if its author posted it to this Group, and the reply threads under
    it; a reply to a post not posted to the Group is not taken."""
    pod = await make_pod()
    carol = await pod.register("carol")
    await _joined(pod, carol, group, as_space=True)
    club = group.actor("club")

    def served(note: dict[str, Any]) -> dict[str, Any]:
        group.documents[note["id"].removeprefix(group.base)] = {"@context": AS_CONTEXT, **note}
        return note

    post = served(group.note("eve", "first firing", [AS_PUBLIC, club], audience=club))
    reply = served(group.note("eve", "how hot?", [AS_PUBLIC], inReplyTo=post["id"]))
    await _relay(pod, group, "Create", reply)
    kept, answer = await _row(pod, post["id"]), await _row(pod, reply["id"])
    assert kept is not None and answer is not None
    assert kept["space_guid"] is not None and answer["space_guid"] == kept["space_guid"]
    _, comments = await pod.call("GET", f"/api/v1/posts/{kept['guid']}/comments", carol)
    assert [c["body"] for c in comments] == ["how hot?"]

    elsewhere = served(group.note("eve", "not in the club", [AS_PUBLIC]))
    stray = served(group.note("eve", "a stray answer", [AS_PUBLIC], inReplyTo=elsewhere["id"]))
    await _relay(pod, group, "Create", stray)
    assert await _row(pod, elsewhere["id"]) is None and await _row(pod, stray["id"]) is None


async def test_a_reply_had_from_its_author_first_threads_once_the_group_relays_it(
    make_pod: PodFactory, group: HostilePod
) -> None:
    """A public reply to a post of the space may reach us from its author (to whom it names)
    before the Group relays it: kept outside the space, it is not linked to the space's post
    then. The Group's relay files it in the space, and it joins the post's thread there."""
    pod = await make_pod()
    carol = await pod.register("carol")
    await _joined(pod, carol, group, as_space=True)
    club = group.actor("club")
    post = group.note("eve", "first firing", [AS_PUBLIC, club], audience=club)
    await _relay(pod, group, "Create", post)
    kept = await _row(pod, post["id"])
    assert kept is not None and kept["space_guid"] is not None

    reply = group.note("eve", "how hot?", [AS_PUBLIC, f"{pod.url}/users/carol"],
                       inReplyTo=post["id"])  # fmt: skip
    create = group.activity("eve", "Create", reply)
    status, _ = await group.post(f"{pod.url}/inbox", create, pod.clock.now(), signer="eve")
    assert status == 202
    assert (await _row(pod, reply["id"]))["space_guid"] is None  # type: ignore[index]
    await _relay(pod, group, "Create", reply)
    assert (await _row(pod, reply["id"]))["space_guid"] == kept["space_guid"]  # type: ignore[index]
    _, comments = await pod.call("GET", f"/api/v1/posts/{kept['guid']}/comments", carol)
    assert [c["body"] for c in comments] == ["how hot?"]
    _, seen = await pod.call("GET", f"/api/v1/posts/{kept['guid']}", carol)
    assert seen["counts"]["comments"] == 1


async def test_a_group_relays_nothing_of_a_member_who_deleted_itself(
    make_pod: PodFactory, group: HostilePod
) -> None:
    """eve deleted herself and her pod no longer serves her: a Group relaying what she posted
    or liked (late, or on purpose) does not bring her back as its author, with her posts and
    likes shown under a profile that answers 404."""
    pod = await make_pod()
    bob = await pod.register("bob")
    await _joined(pod, bob, group, as_space=True)
    first = group.note("eve", "<p>members only</p>", [group.actor("club")])
    await _relay(pod, group, "Create", first)
    stored = await wait_for(lambda: _row(pod, first["id"]))
    _, bobs = await pod.call(
        "POST", "/api/v1/posts", bob, json={"body": "bob's", "spaceId": stored["space_guid"]},
        expect=201,
    )  # fmt: skip
    delete = group.activity("eve", "Delete", group.actor("eve"), to=[AS_PUBLIC])
    status, _ = await group.post(f"{pod.url}/inbox", delete, pod.clock.now(), signer="eve")
    assert status == 202
    assert await _row(pod, first["id"]) is None
    del group.keys["eve"]  # her pod answers 404 for her now

    late = group.note("eve", "<p>posted late</p>", [group.actor("club")])
    like = {"id": group.new_id("eve"), "type": "Like", "actor": group.actor("eve"),
            "object": bobs["uri"]}  # fmt: skip
    for inner in ({"id": group.new_id("club"), "type": "Create", "actor": group.actor("club"),
                   "object": late}, like):  # fmt: skip
        announce = group.activity("club", "Announce", inner)
        await group.post(f"{pod.url}/inbox", announce, pod.clock.now(), signer="club")
    assert await _row(pod, late["id"]) is None
    _, mine = await pod.call("GET", f"/api/v1/posts/{bobs['id']}", bob, expect=200)
    assert mine["counts"]["likes"] == 0

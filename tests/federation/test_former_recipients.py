"""A pod an edit of a post no longer reaches (its person's mention dropped) still hears of the
post's Update and Delete, so its copy does not stay as it was for ever; where its person may no
longer read the post, it is sent a Delete rather than the new text. A restart between the edit
and the Delete changes nothing: whom the post was sent is stored with its deliveries."""

from __future__ import annotations

import json
from typing import Any

from node.appkeys import DB
from tests.federation.test_flows import follow_accepted
from tests.social.helpers import API, items, post
from tests.spaces.support import make_invite, make_private, make_space, post_in
from tests.support import Pod, User, wait_for


async def _mentioned(pod: Pod, user: User, uri: str) -> dict[str, Any]:
    async def found() -> list[dict[str, Any]]:
        return [p for p in await items(pod, user, "/streams/mentions") if p["uri"] == uri]

    return (await wait_for(found))[0]


async def _body(pod: Pod, uri: str) -> str | None:
    """The body of the pod's copy of a post, None once it has none."""
    return await pod.app[DB].fetchval("SELECT body FROM posts WHERE ap_id = ?", (uri,))


async def _until_body(pod: Pod, uri: str, expected: str | None) -> None:
    async def equal() -> bool:
        return await _body(pod, uri) == expected

    try:
        await wait_for(equal)
    except AssertionError:
        assert await _body(pod, uri) == expected  # show the difference


async def _sent_to(pod: Pod, host: str) -> list[tuple[str, Any]]:
    """(type, object) of each activity `pod` queued for `host`, oldest first."""
    rows = await pod.app[DB].fetchall(
        "SELECT o.activity_type, o.body FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
        " WHERE d.host = ? ORDER BY o.created_at, o.rowid",
        (host,),
    )
    return [(r[0], json.loads(r[1])["object"]) for r in rows]


async def test_a_public_post_no_longer_mentioning_someone_is_updated_then_deleted_there(
    make_pod, tmp_path
) -> None:
    a, c = await make_pod(data_dir=tmp_path / "a"), await make_pod()
    alice, xavier = await a.register("alice"), await c.register("xavier")
    original = await post(a, alice, f"hello @xavier@{c.host}")
    seen = await _mentioned(c, xavier, original["uri"])

    await a.call(
        "PATCH", f"{API}/posts/{original['id']}", alice, json={"body": "hello all"}, expect=200
    )
    await _until_body(c, original["uri"], "hello all")
    # The Update is addressed to the post's audience now: public, not xavier.
    update = (await _sent_to(a, c.host))[-1][1]
    assert update["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert f"{c.url}/users/xavier" not in update["cc"]

    a = await _restarted(make_pod, a, tmp_path / "a")
    await a.call("DELETE", f"{API}/posts/{original['id']}", alice, expect=204)
    await _until_body(c, original["uri"], None)
    await c.call("GET", f"{API}/posts/{seen['id']}", xavier, expect=404)


async def _restarted(make_pod: Any, pod: Pod, data_dir: Any) -> Pod:
    port, clock = pod.server.port, pod.clock
    await pod.stop()
    return await make_pod(data_dir=data_dir, port=port, clock=clock)


async def test_an_edit_dropping_a_direct_posts_mention_sends_that_pod_a_delete(
    make_pod, tmp_path
) -> None:
    a = await make_pod(data_dir=tmp_path / "a")
    b, c = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await c.register("x")
    original = await post(
        a, alice, f"psst @bob@{b.host}", visibility="direct", recipients=[f"bob@{b.host}"]
    )
    await _mentioned(b, bob, original["uri"])
    path = f"{API}/posts/{original['id']}"
    await a.call("PATCH", path, alice, json={"body": f"psst, and @x@{c.host}"}, expect=200)
    await wait_for(lambda: _sent_to(a, c.host))

    await a.call("PATCH", path, alice, json={"body": "the secret, bob"}, expect=200)
    await _until_body(b, original["uri"], "the secret, bob")

    # x is not addressed any more, and may not read the post: his pod is sent a Delete of it
    # (leaving a tombstone there), never the new text.
    async def told() -> list[str]:
        return [kind for kind, _ in await _sent_to(a, c.host)]

    assert await wait_for(told) == ["Update", "Delete"]
    sent = await _sent_to(a, c.host)
    assert sent[1][1] == {"id": original["uri"], "type": "Tombstone"}
    assert "the secret" not in json.dumps(sent)
    tombstone = "SELECT 1 FROM tombstones WHERE ap_id = ?"
    await wait_for(lambda: c.app[DB].fetchval(tombstone, (original["uri"],)))

    # After a restart, the Delete reaches bob's pod; x's pod, told already, is sent no more.
    a = await _restarted(make_pod, a, tmp_path / "a")
    await a.call("DELETE", path, alice, expect=204)
    await _until_body(b, original["uri"], None)
    assert [kind for kind, _ in await _sent_to(a, c.host)] == ["Update", "Delete"]


async def test_a_follower_who_left_is_not_sent_the_edit_of_a_followers_post(
    make_pod, tmp_path
) -> None:
    """Followers' pods are not recorded per post (a row per follower pod per post): one whose
    people all left keeps what it had, as on Mastodon, and is never sent the new text."""
    a = await make_pod(data_dir=tmp_path / "a")
    b, c = await make_pod(), await make_pod()
    alice, bob, carol = await a.register("alice"), await b.register("bob"), await c.register("c")
    await follow_accepted(b, bob, f"alice@{a.host}")
    await follow_accepted(c, carol, f"alice@{a.host}")
    original = await post(a, alice, "for my followers", visibility="followers")
    await _until_body(b, original["uri"], "for my followers")
    await _until_body(c, original["uri"], "for my followers")
    (alice_on_b,) = await items(b, bob, "/identities/current/following")
    await b.call("DELETE", f"{API}/follows/{alice_on_b['identity']['id']}", bob, expect=204)

    await wait_for(lambda: _follower_count(a, alice, 1))
    path = f"{API}/posts/{original['id']}"
    await a.call("PATCH", path, alice, json={"body": "only for you, carol"}, expect=200)
    await _until_body(c, original["uri"], "only for you, carol")
    assert "only for you" not in json.dumps(await _sent_to(a, b.host))
    assert await a.app[DB].fetchval("SELECT count(*) FROM post_inboxes") == 0

    a = await _restarted(make_pod, a, tmp_path / "a")
    await a.call("DELETE", path, alice, expect=204)
    await _until_body(c, original["uri"], None)


async def _follower_count(pod: Pod, user: User, n: int) -> bool:
    return len(await items(pod, user, "/identities/current/followers")) == n


async def test_a_members_only_post_of_a_local_space_still_goes_through_its_group_alone(
    make_pod,
) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await c.register("carol")
    space = await make_space(a, alice, displayName="Potters")
    await make_private(a, alice, space["id"])
    invite = await make_invite(a, alice, space["id"])
    await b.call("POST", f"{API}/spaces/join", bob, json={"target": invite["link"]}, expect=202)
    await wait_for(lambda: _follower_count_of_space(a, alice, space["id"], 2))
    original = await post_in(a, alice, space["id"], f"kiln @carol@{c.host}")
    await _until_body(b, original["uri"], f"kiln @carol@{c.host}")

    path = f"{API}/posts/{original['id']}"
    await a.call("PATCH", path, alice, json={"body": "kiln is hot"}, expect=200)
    await _until_body(b, original["uri"], "kiln is hot")
    await a.call("DELETE", path, alice, expect=204)
    await _until_body(b, original["uri"], None)
    # Only the Group spoke to bob's pod; nobody outside the space heard of it.
    assert [kind for kind, _ in await _sent_to(a, b.host)] == ["Accept", *["Announce"] * 3]
    assert await _sent_to(a, c.host) == []


async def _follower_count_of_space(pod: Pod, user: User, space_id: str, n: int) -> bool:
    return len(await items(pod, user, f"/spaces/{space_id}/members")) == n

"""Posts in lists are rendered once per revision and kept: every change a post shows (counters,
reactions, text, hashtags, attachments, its author and avatar) must show in the next read of a
list that was already read, and what only the viewer sees must stay the viewer's."""

from __future__ import annotations

from typing import Any

from node.appkeys import POST_JSON
from tests.api.test_media_flow import upload
from tests.conftest import PodFactory
from tests.social.helpers import API, comment, follow, get_post, items, post
from tests.support import Pod, Trio, User


async def first(pod: Pod, user: User, path: str) -> dict[str, Any]:
    found = await items(pod, user, path)
    assert found, path
    return found[0]


async def test_every_change_shows_in_the_next_read(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await follow(pod, alice, "bob")
    mine = await post(pod, bob, "first words")
    read = await first(pod, alice, "/streams/main")  # now kept
    assert read["counts"] == {"likes": 0, "reshares": 0, "comments": 0, "reactions": 0}

    await pod.call("POST", f"{API}/posts/{mine['id']}/like", carol, expect=200)
    assert (await first(pod, alice, "/streams/main"))["counts"]["likes"] == 1
    await pod.call("DELETE", f"{API}/posts/{mine['id']}/like", carol, expect=200)
    assert (await first(pod, alice, "/streams/main"))["counts"]["likes"] == 0

    await pod.call("POST", f"{API}/posts/{mine['id']}/reshare", carol, expect=200)
    assert (await first(pod, alice, "/streams/main"))["counts"]["reshares"] == 1

    path = f"{API}/posts/{mine['id']}/reaction"
    await pod.call("PUT", path, carol, json={"emoji": "🌱"}, expect=200)
    read = await first(pod, alice, "/streams/main")
    assert read["reactions"] == [{"emoji": "🌱", "count": 1}]
    assert read["counts"]["reactions"] == 1
    await pod.call("PUT", path, carol, json={"emoji": "🔥"}, expect=200)
    assert (await first(pod, alice, "/streams/main"))["reactions"] == [{"emoji": "🔥", "count": 1}]
    await pod.call("DELETE", path, carol, expect=200)
    assert (await first(pod, alice, "/streams/main"))["reactions"] == []

    reply = await comment(pod, carol, mine["id"], "a reply")
    assert (await first(pod, alice, "/streams/main"))["counts"]["comments"] == 1
    await pod.call("DELETE", f"{API}/posts/{reply['id']}", carol, expect=204)
    assert (await first(pod, alice, "/streams/main"))["counts"]["comments"] == 0

    await pod.call(
        "PATCH", f"{API}/posts/{mine['id']}", bob, json={"body": "new words #Garden"}, expect=200
    )
    read = await first(pod, alice, "/streams/main")
    assert read["body"] == "new words #Garden"
    assert "new words" in read["html"]
    assert read["tags"] == ["garden"]
    assert read["updatedAt"] == (await get_post(pod, bob, mine["id"]))["updatedAt"]

    await pod.call(
        "PATCH", f"{API}/identity/current", bob, json={"displayName": "Robert"}, expect=200
    )
    assert (await first(pod, alice, "/streams/main"))["author"]["displayName"] == "Robert"


async def test_attachments_and_avatars_show_as_they_are_now(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    picture = await upload(pod, bob)
    mine = await post(pod, bob, "a picture", attachmentIds=[picture["id"]])
    assert (await first(pod, alice, "/streams/main"))["attachments"][0]["description"] == ""
    await pod.call(
        "PATCH", f"{API}/media/{picture['id']}", bob, json={"description": "A red field"},
        expect=200,
    )  # fmt: skip
    read = await first(pod, alice, "/streams/main")
    assert read["id"] == mine["id"]
    assert read["attachments"][0]["description"] == "A red field"

    assert read["author"]["avatarUrl"] is None
    face = await upload(pod, bob)
    await pod.call(
        "PATCH", f"{API}/identity/current", bob, json={"avatarId": face["id"]}, expect=200
    )
    avatar = (await first(pod, alice, "/streams/main"))["author"]["avatarUrl"]
    _, profile = await pod.call("GET", f"{API}/identity/current", bob, expect=200)
    assert avatar is not None and avatar == profile["avatarUrl"]
    await pod.call("PATCH", f"{API}/identity/current", bob, json={"avatarId": None}, expect=200)
    assert (await first(pod, alice, "/streams/main"))["author"]["avatarUrl"] is None


async def test_what_only_the_viewer_sees_stays_theirs(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await follow(pod, alice, "bob")
    await follow(pod, carol, "bob")
    mine = await post(pod, bob, "shared by two readers")
    await pod.call("POST", f"{API}/posts/{mine['id']}/like", alice, expect=200)
    await pod.call("PUT", f"{API}/posts/{mine['id']}/bookmark", alice, expect=200)
    await pod.call(
        "PUT", f"{API}/posts/{mine['id']}/reaction", alice, json={"emoji": "🎉"}, expect=200
    )
    seen_by_alice = await first(pod, alice, "/streams/main")
    seen_by_carol = await first(pod, carol, "/streams/main")
    assert (seen_by_alice["liked"], seen_by_alice["bookmarked"], seen_by_alice["myReaction"]) == (
        True, True, "🎉",
    )  # fmt: skip
    assert (seen_by_carol["liked"], seen_by_carol["bookmarked"], seen_by_carol["myReaction"]) == (
        False, False, None,
    )  # fmt: skip
    # The rest is the same for both.
    for key in ("liked", "bookmarked", "myReaction", "reshared", "labelIds"):
        seen_by_alice.pop(key), seen_by_carol.pop(key)
    assert seen_by_alice == seen_by_carol

    # Labels show on their owner's own posts only.
    _, label = await pod.call("POST", f"{API}/labels", bob, json={"name": "notes"}, expect=201)
    await pod.call(
        "PATCH", f"{API}/posts/{mine['id']}", bob, json={"labelIds": [label["id"]]}, expect=200
    )
    assert (await first(pod, bob, "/identities/current/posts"))["labelIds"] == [label["id"]]
    assert (await first(pod, alice, "/streams/main"))["labelIds"] == []


async def test_a_list_shows_a_post_as_reading_it_alone_does(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await follow(pod, alice, "bob")
    picture = await upload(pod, bob)
    plain = await post(pod, bob, "plain")
    rich = await post(pod, bob, "rich #Tag @carol", attachmentIds=[picture["id"]])
    await pod.call("POST", f"{API}/posts/{rich['id']}/like", alice, expect=200)
    await pod.call("PUT", f"{API}/posts/{rich['id']}/reaction", carol, json={"emoji": "👍"},
                   expect=200)  # fmt: skip
    for _ in range(2):  # rendered, then kept
        listed = {p["id"]: p for p in await items(pod, alice, "/streams/main")}
        for one in (plain, rich):
            assert listed[one["id"]] == await get_post(pod, alice, one["id"])


async def test_what_the_viewer_does_shows_in_their_next_read(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    mine = await post(pod, bob, "something to react to")
    path = f"{API}/posts/{mine['id']}"
    lists = ("/streams/main", f"/identities/{bob.identity_id}/posts")

    async def seen() -> list[tuple[bool, bool, bool, str | None]]:
        return [
            (p["liked"], p["reshared"], p["bookmarked"], p["myReaction"])
            for p in [await first(pod, alice, where) for where in lists]
        ]

    assert await seen() == [(False, False, False, None)] * 2  # now kept for alice
    await pod.call("POST", f"{path}/like", alice, expect=200)
    assert await seen() == [(True, False, False, None)] * 2
    await pod.call("POST", f"{path}/reshare", alice, expect=200)
    await pod.call("PUT", f"{path}/bookmark", alice, expect=200)
    await pod.call("PUT", f"{path}/reaction", alice, json={"emoji": "🌱"}, expect=200)
    assert await seen() == [(True, True, True, "🌱")] * 2
    await pod.call("DELETE", f"{path}/like", alice, expect=200)
    await pod.call("DELETE", f"{path}/reshare", alice, expect=200)
    await pod.call("DELETE", f"{path}/bookmark", alice, expect=200)
    await pod.call("DELETE", f"{path}/reaction", alice, expect=200)
    assert await seen() == [(False, False, False, None)] * 2


async def test_cache_sizes_come_from_the_configuration(make_pod: PodFactory) -> None:
    """With nothing kept, lists are rendered afresh each time and read the same."""
    pod = await make_pod(
        cache={"post_json_entries": 0, "viewer_marks_viewers": 0, "viewer_marks_posts": 0}
    )
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await follow(pod, alice, "bob")
    mine = await post(pod, bob, "kept nowhere")
    await pod.call("POST", f"{API}/posts/{mine['id']}/like", alice, expect=200)
    reads = [await first(pod, alice, "/streams/main") for _ in range(2)]
    assert reads[0] == reads[1] == await get_post(pod, alice, mine["id"])
    assert reads[0]["counts"]["likes"] == 1 and reads[0]["liked"] is True
    assert len(pod.app[POST_JSON]) == 0

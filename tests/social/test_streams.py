"""The streams: who gets what (main, activity, mentions, tags, liked, commented, bookmarks,
per-identity lists), in which order, tag followings, and keyset pagination with Link headers
where most rows are invisible to the viewer (a page is never short, nothing is skipped or
repeated)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import PodFactory
from tests.hostile import AS_PUBLIC, HostilePod, new_key
from tests.social.helpers import (
    API,
    bodies,
    comment,
    follow,
    items,
    post,
    status,
    unfollow,
    walk,
)
from tests.spaces.support import join, make_invite, make_space
from tests.support import TIME_RE, Pod, Trio, User, parse_links


async def test_main_stream_membership(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    dave = await pod.register("dave")
    await follow(pod, alice, "bob")
    await post(pod, alice, "mine")
    await post(pod, bob, "bob public")
    await post(pod, bob, "bob followers", visibility="followers")
    await post(pod, bob, "bob to carol", visibility="direct", recipients=["carol"])
    await post(pod, bob, "bob to alice", visibility="direct", recipients=["alice"])
    await post(pod, carol, "carol unfollowed")
    await post(pod, carol, "carol #Roses")
    await post(pod, dave, "dave #roses but only followers", visibility="followers")
    parent = await post(pod, carol, "carol, commented by bob")
    await comment(pod, bob, parent["id"], "bob's comment")

    assert await bodies(pod, alice, "/streams/main") == [
        "bob to alice", "bob followers", "bob public", "mine",
    ]  # fmt: skip
    # Following a hashtag brings its posts in (those one may read).
    await pod.call("POST", f"{API}/tag_followings", alice, json={"name": "roses"}, expect=201)
    assert await bodies(pod, alice, "/streams/main") == [
        "carol #Roses", "bob to alice", "bob followers", "bob public", "mine",
    ]  # fmt: skip
    assert await bodies(pod, alice, "/streams/tags") == ["carol #Roses"]
    # Unfollowing bob takes his posts out (and his followers-only ones out of reach).
    await unfollow(pod, alice, bob.identity_id)
    assert await bodies(pod, alice, "/streams/main") == ["carol #Roses", "mine"]
    assert await status(pod, "GET", "/streams/main", None) == 401


async def test_main_stream_includes_joined_spaces(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    space = await make_space(pod, alice, displayName="Allotment")
    await join(pod, bob, space["id"])
    await post(pod, alice, "in the space", spaceId=space["id"])
    await post(pod, carol, "not in it")
    # bob follows no one, but belongs to the space; carol neither.
    assert await bodies(pod, bob, "/streams/main") == ["in the space"]
    assert await bodies(pod, carol, "/streams/main") == ["not in it"]
    # A private space's posts reach its members only.
    secret = await make_space(pod, alice, displayName="Shed", visibility="private")
    invite = await make_invite(pod, alice, secret["id"])
    await join(pod, bob, secret["id"], code=invite["code"])
    await post(pod, alice, "members only", spaceId=secret["id"])
    assert await bodies(pod, bob, "/streams/main") == ["members only", "in the space"]
    assert await bodies(pod, carol, "/streams/main") == ["not in it"]
    # Leaving takes the space's posts out.
    resp, _ = await pod.call("POST", f"{API}/spaces/{space['id']}/leave", bob)
    assert resp.status in (200, 204)
    assert await bodies(pod, bob, "/streams/main") == ["members only"]


async def test_activity_stream_by_last_activity(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    old = await post(pod, carol, "old")
    liked = await post(pod, carol, "liked")
    reacted = await post(pod, carol, "reacted")
    mine = await post(pod, alice, "mine")
    await post(pod, carol, "untouched")
    newest = await post(pod, carol, "newest")
    await pod.call("POST", f"{API}/posts/{liked['id']}/like", alice, expect=200)
    await pod.call(
        "PUT", f"{API}/posts/{reacted['id']}/reaction", alice, json={"emoji": "🌱"}, expect=200
    )
    assert await bodies(pod, alice, "/streams/activity") == ["reacted", "liked", "mine"]
    # Commenting on the old post moves it to the top, above newer posts.
    await comment(pod, alice, old["id"], "bump")
    assert await bodies(pod, alice, "/streams/activity") == ["old", "reacted", "liked", "mine"]
    assert await bodies(pod, alice, "/streams/commented") == ["old"]
    # Someone else's comment on a post in it moves it too.
    await comment(pod, bob, mine["id"], "hello")
    assert await bodies(pod, alice, "/streams/activity") == ["mine", "old", "reacted", "liked"]
    # Others' activity on posts alice never touched does not bring them in.
    await comment(pod, bob, newest["id"], "hi")
    assert "newest" not in await bodies(pod, alice, "/streams/activity")
    # The comments themselves are not in it; the commented stream goes by activity too.
    await comment(pod, alice, newest["id"], "me too")
    assert await bodies(pod, alice, "/streams/commented") == ["newest", "old"]


async def test_liked_mentions_and_per_identity(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    a = await post(pod, carol, "a")
    b = await post(pod, carol, "b")
    await pod.call("POST", f"{API}/posts/{b['id']}/like", alice, expect=200)
    await pod.call("POST", f"{API}/posts/{a['id']}/like", alice, expect=200)
    assert await bodies(pod, alice, "/streams/liked") == ["a", "b"]  # by when liked
    assert await items(pod, bob, "/streams/liked") == []

    await post(pod, bob, "hey @alice")
    parent = await post(pod, carol, "thread")
    await comment(pod, bob, parent["id"], "@alice in a comment")
    await post(pod, bob, "hey @carol")
    assert await bodies(pod, alice, "/streams/mentions") == ["@alice in a comment", "hey @alice"]

    await follow(pod, alice, "bob")
    await post(pod, bob, "for followers", visibility="followers")
    await post(pod, bob, "to carol", visibility="direct", recipients=["carol"])
    by_bob = f"/identities/{bob.identity_id}/posts"
    assert await bodies(pod, alice, by_bob) == [
        "for followers", "hey @carol", "@alice in a comment", "hey @alice",
    ]  # fmt: skip
    assert await bodies(pod, carol, by_bob) == [
        "to carol", "hey @carol", "@alice in a comment", "hey @alice",
    ]  # fmt: skip
    assert await bodies(pod, bob, "/identities/current/posts") == [
        "to carol", "for followers", "hey @carol", "@alice in a comment", "hey @alice",
    ]  # fmt: skip
    assert await status(pod, "GET", f"/identities/{'0' * 32}/posts", alice) == 404
    assert await status(pod, "GET", "/identities/nope/posts", alice) == 404


# --- tag followings -------------------------------------------------------------------------


async def test_tag_followings(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    path = f"{API}/tag_followings"
    _, out = await pod.call("POST", path, alice, json={"name": "#Roses"}, expect=201)
    assert out["name"] == "roses" and TIME_RE.match(out["createdAt"])
    # Following again changes nothing.
    _, again = await pod.call("POST", path, alice, json={"name": "roses"}, expect=200)
    assert again == out
    await pod.call("POST", path, alice, json={"name": "apples"}, expect=201)
    _, listed = await pod.call("GET", path, alice, expect=200)
    assert [t["name"] for t in listed] == ["apples", "roses"]
    _, others = await pod.call("GET", path, bob, expect=200)
    assert others == []

    for bad in ("", "#", "not a tag", "a-b", "_x", "x" * 101, "#é-x"):
        code = await status(pod, "POST", "/tag_followings", alice, json={"name": bad})
        assert code == 422, bad
    for bad_body in ({}, {"name": 5}, {"name": "x", "more": 1}):
        assert await status(pod, "POST", "/tag_followings", alice, json=bad_body) == 422
    assert await status(pod, "POST", "/tag_followings", None, json={"name": "x"}) == 401

    await pod.call("DELETE", f"{path}/ROSES", alice, expect=204)
    assert await status(pod, "DELETE", "/tag_followings/roses", alice) == 404
    assert await status(pod, "DELETE", "/tag_followings/unknown", alice) == 404
    assert await status(pod, "DELETE", "/tag_followings/apples", bob) == 404
    assert await status(pod, "DELETE", "/tag_followings/a-b", alice) == 422
    _, listed = await pod.call("GET", path, alice, expect=200)
    assert [t["name"] for t in listed] == ["apples"]


async def test_a_hashtag_whose_lower_case_is_longer_is_found_and_followed(
    make_pod: PodFactory,
) -> None:
    """'İ' lower-cases to 'i' and a combining dot: a post's #İstanbul is found on its tag page
    and can be followed, whether the post is local or came from another pod."""
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    local = await post(pod, bob, "Hello #İstanbul")
    assert local["tags"] == ["i̇stanbul"]
    hostile = await HostilePod().start()
    try:
        hostile.add_actor("mallory", new_key())
        alice_uri = f"{pod.url}/users/alice"
        note = hostile.note(
            "mallory", "Merhaba #İstanbul", [AS_PUBLIC], cc=[alice_uri],
            tag=[{"type": "Hashtag", "name": "#İstanbul", "href": f"{hostile.base}/tags/x"}],
        )  # fmt: skip
        activity = hostile.activity("mallory", "Create", note)
        code, data = await hostile.post(
            f"{pod.url}/inbox", activity, pod.clock.now(), signer="mallory"
        )
        assert code == 202, data
    finally:
        await hostile.close()
    for name in ("İstanbul", "%23İstanbul", "i̇stanbul"):
        assert await bodies(pod, alice, f"/tags/{name}/posts") == [
            "Merhaba #İstanbul", "Hello #İstanbul",
        ], name  # fmt: skip
    await pod.call("POST", f"{API}/tag_followings", alice, json={"name": "İstanbul"}, expect=201)
    assert len(await bodies(pod, alice, "/streams/tags")) == 2
    await pod.call("DELETE", f"{API}/tag_followings/İstanbul", alice, expect=204)


async def test_tags_stream_only_top_level_followed(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await pod.call("POST", f"{API}/tag_followings", alice, json={"name": "pears"}, expect=201)
    top = await post(pod, bob, "#pears are nice")
    await comment(pod, bob, top["id"], "#pears again")
    await post(pod, bob, "#apples")
    await post(pod, bob, "#pears for followers", visibility="followers")
    assert await bodies(pod, alice, "/streams/tags") == ["#pears are nice"]
    # The tag page itself lists comments too.
    assert await bodies(pod, alice, "/tags/pears/posts") == ["#pears again", "#pears are nice"]


# --- pagination -----------------------------------------------------------------------------


async def _check_walk(pod: Pod, user: User, path: str, expected: list[str], per_page: int) -> None:
    """Pages by `next` are full until the last, in order; `previous` walks back the same way;
    `last` is the oldest page."""
    pages, links = await walk(pod, user, path, per_page)
    got = [p["id"] for page in pages for p in page]
    assert got == expected, "nothing skipped, repeated or out of order"
    assert all(len(page) == per_page for page in pages[:-1]), [len(p) for p in pages]
    assert 0 < len(pages[-1]) <= per_page
    assert len(pages) == -(-len(expected) // per_page)
    for i, link in enumerate(links):
        assert "first" in link
        assert ("previous" in link) == (i > 0), (i, link)
        assert ("next" in link) == (i < len(pages) - 1), (i, link)
        assert ("last" in link) == (len(pages) > 1)
    # Walking back from the last page by `previous` gives the same pages.
    back = [pages[-1]]
    link = links[-1]
    while "previous" in link:
        resp, page = await pod.follow(link["previous"], user)
        back.append(page)
        link = parse_links(resp.headers.get("Link"))
    assert [[p["id"] for p in page] for page in reversed(back)] == [
        [p["id"] for p in page] for page in pages
    ]
    if len(pages) > 1:
        _, last = await pod.follow(links[0]["last"], user)
        assert [p["id"] for p in last] == expected[-len(last) :]
        assert len(last) == per_page


async def _mixed(pod: Pod, author: User, n: int, **fields: Any) -> list[dict[str, Any]]:
    """n posts by `author`; every other one direct to carol (invisible to the others)."""
    out = []
    for i in range(n):
        extra = {"visibility": "direct", "recipients": ["carol"]} if i % 2 else {}
        out.append(await post(pod, author, f"post {i} #paged", **{**fields, **extra}))
    return out


@pytest.mark.parametrize("per_page", [5, 7])
async def test_pages_are_never_short(trio: Trio, per_page: int) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    posts = await _mixed(pod, bob, 30)
    visible = [p["id"] for p in reversed(posts[::2])]  # newest first
    assert len(visible) == 15
    await _check_walk(pod, alice, "/streams/main", visible, per_page)
    await _check_walk(pod, alice, f"/identities/{bob.identity_id}/posts", visible, per_page)
    await _check_walk(pod, alice, "/tags/paged/posts", visible, per_page)
    await pod.call("POST", f"{API}/tag_followings", alice, json={"name": "paged"}, expect=201)
    await _check_walk(pod, alice, "/streams/tags", visible, per_page)


async def test_interaction_streams_page_over_posts_no_longer_visible(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    posts = []
    for i in range(24):
        visibility = "followers" if i % 2 else "public"
        posts.append(await post(pod, bob, f"p{i}", visibility=visibility))
    for p in posts:
        await pod.call("POST", f"{API}/posts/{p['id']}/like", alice, expect=200)
        await pod.call("PUT", f"{API}/posts/{p['id']}/bookmark", alice, expect=200)
    for p in posts[:12]:
        await comment(pod, alice, p["id"], "c")
    await unfollow(pod, alice, bob.identity_id)  # the followers-only half is out of reach now
    public = [p["id"] for p in reversed(posts[::2])]
    await _check_walk(pod, alice, "/streams/liked", public, 5)
    await _check_walk(pod, alice, "/streams/bookmarks", public, 5)
    commented = [p["id"] for p in reversed(posts[:12:2])]
    await _check_walk(pod, alice, "/streams/commented", commented, 4)
    # activity: the commented ones moved to the top when commented.
    activity = commented + [p for p in public if p not in commented]
    await _check_walk(pod, alice, "/streams/activity", activity, 5)


async def test_pages_are_stable_under_inserts(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    for i in range(10):
        await post(pod, alice, f"p{i}")
    resp, first = await pod.call(
        "GET", f"{API}/streams/main", alice, params={"per_page": "4"}, expect=200
    )
    for i in range(3):
        await post(pod, alice, f"new{i}")
    seen = [p["body"] for p in first]
    link = parse_links(resp.headers["Link"])
    while "next" in link:
        resp, page = await pod.follow(link["next"], alice)
        seen += [p["body"] for p in page]
        link = parse_links(resp.headers["Link"])
    assert seen == [f"p{i}" for i in reversed(range(10))]


_DEEP = base64.urlsafe_b64encode(b"[" * 3000).decode()
_LONG = base64.urlsafe_b64encode(json.dumps(["a", "x" * 5000, "y"]).encode()).decode()


async def test_paging_bad_input(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    for stream in ("main", "activity", "mentions", "tags", "liked", "commented", "bookmarks"):
        path = f"/streams/{stream}"
        assert await status(pod, "GET", path, alice) == 200
        assert await status(pod, "GET", path, alice, params={"per_page": "0"}) == 400
        assert await status(pod, "GET", path, alice, params={"per_page": "x"}) == 400
        assert await status(pod, "GET", path, alice, params={"cursor": "garbage"}) == 400
        for bad in (_DEEP, _LONG):  # nesting deep enough to exhaust the JSON decoder's stack
            assert await status(pod, "GET", path, alice, params={"cursor": bad}) == 400
        assert await status(pod, "GET", path, None) == 401
    assert await status(pod, "GET", "/streams/nope", alice) == 404
    for i in range(3):
        await post(pod, alice, f"p{i}")
    resp, page = await pod.call(
        "GET", f"{API}/streams/main", alice, params={"per_page": "1000"}, expect=200
    )
    assert len(page) == 3
    assert 'per_page=100"' in resp.headers["Link"] or "per_page=100>" in resp.headers["Link"]

"""Posts in full on one pod: mentions, hashtags and tag pages, comments, emoji reactions, likes,
reshares, private bookmarks, the counters on every post, and the notifications each sets off
(and takes back). Visibility: a post one may not see is 404 on every route."""

from __future__ import annotations

from typing import Any

import pytest

from tests.social.helpers import (
    API,
    bodies,
    comment,
    follow,
    get_post,
    items,
    kinds,
    notifications,
    post,
    status,
    unfollow,
)
from tests.support import GUID_RE, Trio

JSON = {"Content-Type": "application/json"}
ZERO = {"likes": 0, "reshares": 0, "comments": 0, "reactions": 0}


# --- mentions -------------------------------------------------------------------------------


async def test_mentions_link_and_notify(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    out = await post(pod, alice, "Hello @bob and @Carol@" + pod.host + ", not @nobody or a@b.c")
    assert out["html"].count("<a href=") == 2
    assert f'href="{pod.url}/users/bob"' in out["html"]
    assert f'href="{pod.url}/users/carol"' in out["html"]
    assert "@nobody" in out["html"] and "/nobody" not in out["html"]

    for user in (bob, carol):
        (note,) = await notifications(pod, user)
        assert note["kind"] == "mention"
        assert note["subjectId"] == out["id"]
        assert note["actor"]["id"] == alice.identity_id
        assert note["read"] is False
        assert await bodies(pod, user, "/streams/mentions") == [out["body"]]
    # Mentioning oneself notifies no one.
    await post(pod, alice, "note to @alice")
    assert await notifications(pod, alice) == []
    # A mention in code is text.
    await post(pod, alice, "`@bob` is not a mention")
    assert len(await notifications(pod, bob)) == 1

    # Deleting the post takes the mention notifications with it.
    await pod.call("DELETE", f"{API}/posts/{out['id']}", alice, expect=204)
    assert await notifications(pod, bob) == []
    assert await items(pod, bob, "/streams/mentions") == []


async def test_direct_post_to_a_mention(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    # No recipients but a mention: the mention addresses it.
    out = await post(pod, alice, "psst @bob", visibility="direct")
    assert out["visibility"] == "direct"
    assert (await get_post(pod, bob, out["id"]))["body"] == "psst @bob"
    assert await status(pod, "GET", f"/posts/{out['id']}", carol) == 404
    assert await kinds(pod, bob) == [("mention", "alice")]
    assert await kinds(pod, carol) == []
    # Neither recipients nor mentions: refused.
    _, err = await pod.call(
        "POST", f"{API}/posts", alice, json={"body": "to no one", "visibility": "direct"},
        expect=422,
    )  # fmt: skip
    assert "recipients" in err["fields"]
    # Recipients and a mention together: both may read it.
    out = await post(pod, alice, "hi @carol", visibility="direct", recipients=["bob"])
    for user in (bob, carol):
        assert (await get_post(pod, user, out["id"]))["id"] == out["id"]


async def test_a_mention_of_a_host_in_other_scripts_names_no_local_namesake(trio: Trio) -> None:
    """`@bob@日本.example` and `@bob@bücher.example` name a bob on those hosts (as Mastodon
    reads them), never our bob nor a bob on a host cut short at the first letter outside ASCII:
    a direct post to them is not delivered to our bob."""
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    for where in ("日本.example", "bücher.example", "_wrong.example"):
        body = f"just for @bob@{where}"
        _, err = await pod.call(
            "POST", f"{API}/posts", alice, json={"body": body, "visibility": "direct"},
            expect=422,
        )  # fmt: skip
        assert "recipients" in err["fields"]  # nobody it names could be found
        out = await post(pod, alice, body, visibility="followers")
        assert "<a href=" not in out["html"]
        assert await status(pod, "GET", f"/posts/{out['id']}", bob) == 404
    assert await notifications(pod, bob) == []
    assert await items(pod, bob, "/streams/mentions") == []


async def test_a_mention_addresses_a_followers_only_post(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await follow(pod, bob, "alice")
    out = await post(pod, alice, "friends only, and @carol", visibility="followers")
    # carol does not follow alice, but was mentioned: she may read it, and is told.
    assert (await get_post(pod, carol, out["id"]))["id"] == out["id"]
    assert await kinds(pod, carol) == [("mention", "alice")]
    assert await bodies(pod, carol, "/streams/mentions") == [out["body"]]
    assert (await get_post(pod, bob, out["id"]))["id"] == out["id"]
    # Someone neither following nor mentioned does not see it.
    dave = await pod.register("dave")
    assert await status(pod, "GET", f"/posts/{out['id']}", dave) == 404


async def test_a_bare_url_names_no_one_and_no_hashtag(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    body = (
        "Read https://en.wikipedia.org/wiki/Python_(programming_language)#History"
        " and https://example.com/share?via=@bob, then #reading"
    )
    out = await post(pod, alice, body, visibility="followers")
    assert out["tags"] == ["reading"]
    assert out["html"].count("<a href=") == 1
    # bob, who does not follow alice, was not named: he neither reads the post nor is told.
    assert await status(pod, "GET", f"/posts/{out['id']}", bob) == 404
    assert await notifications(pod, bob) == []
    assert await items(pod, bob, "/streams/mentions") == []


# --- hashtags and tag pages -----------------------------------------------------------------


async def test_hashtags_and_tag_pages(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    one = await post(pod, alice, "#Garden and #tomatoes, again #garden; not#this, `#nor_this`")
    assert one["tags"] == ["garden", "tomatoes"]
    assert f'href="{pod.url}/tags/garden"' in one["html"] or "/garden" in one["html"]
    secret = await post(pod, alice, "#garden for followers", visibility="followers")
    await follow(pod, bob, "alice")
    two = await post(pod, bob, "my #GARDEN")

    assert [p["id"] for p in await items(pod, bob, "/tags/garden/posts")] == [
        two["id"], secret["id"], one["id"],
    ]  # fmt: skip
    # carol does not follow alice: the followers-only post is not on her page.
    assert [p["id"] for p in await items(pod, carol, "/tags/garden/posts")] == [
        two["id"], one["id"],
    ]  # fmt: skip
    # Tags are case-insensitive and may come with their '#'.
    assert len(await items(pod, carol, "/tags/Garden/posts")) == 2
    assert len(await items(pod, carol, "/tags/%23garden/posts")) == 2
    assert await items(pod, carol, "/tags/unknown/posts") == []
    assert await status(pod, "GET", "/tags/not-a-tag/posts", carol) == 422
    assert await status(pod, "GET", "/tags/_x/posts", carol) == 422
    assert await status(pod, "GET", "/tags/garden/posts", None) == 401

    # Editing a post changes its tags.
    _, edited = await pod.call(
        "PATCH", f"{API}/posts/{one['id']}", alice, json={"body": "now #herbs"}, expect=200
    )
    assert edited["tags"] == ["herbs"]
    assert [p["id"] for p in await items(pod, carol, "/tags/garden/posts")] == [two["id"]]
    assert [p["id"] for p in await items(pod, carol, "/tags/herbs/posts")] == [one["id"]]
    # A deleted post leaves its tag pages.
    await pod.call("DELETE", f"{API}/posts/{one['id']}", alice, expect=204)
    assert await items(pod, carol, "/tags/herbs/posts") == []


# --- comments -------------------------------------------------------------------------------


async def test_comments_thread_count_and_notify(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    parent = await post(pod, alice, "what do you think?")
    first = await comment(pod, bob, parent["id"], "I agree")
    assert first["inReplyTo"] == parent["id"]
    second = await comment(pod, carol, parent["id"], "me too")
    own = await comment(pod, alice, parent["id"], "thanks")

    listed = await items(pod, bob, f"/posts/{parent['id']}/comments")
    assert [c["id"] for c in listed] == [own["id"], second["id"], first["id"]]  # newest first
    assert all(c["inReplyTo"] == parent["id"] for c in listed)
    assert (await get_post(pod, carol, parent["id"]))["counts"] == {**ZERO, "comments": 3}
    # Comments are not top-level posts: the author's main stream shows the post once.
    assert [p["id"] for p in await items(pod, alice, "/streams/main")] == [parent["id"]]

    # alice is told of the two comments by others, not of her own.
    assert await kinds(pod, alice) == [("comment", "carol"), ("comment", "bob")]
    notes = await notifications(pod, alice)
    assert [n["subjectId"] for n in notes] == [second["id"], first["id"]]

    # Deleting a comment takes its notification and its count.
    await pod.call("DELETE", f"{API}/posts/{first['id']}", bob, expect=204)
    assert await kinds(pod, alice) == [("comment", "carol")]
    assert (await get_post(pod, alice, parent["id"]))["counts"]["comments"] == 2
    # Only its author (or a grantee) deletes a comment.
    assert await status(pod, "DELETE", f"/posts/{second['id']}", bob) == 403

    # A comment that mentions the post's author notifies once, as a mention.
    reply = await comment(pod, carol, parent["id"], "@alice look")
    notes = await notifications(pod, alice)
    assert (notes[0]["kind"], notes[0]["subjectId"]) == ("mention", reply["id"])
    assert len(notes) == 2


async def test_a_reply_is_seen_by_no_more_people_than_its_post(make_pod: Any) -> None:
    pod = await make_pod()
    alice, bob, carol, dave = [await pod.register(n) for n in ("alice", "bob", "carol", "dave")]
    await follow(pod, bob, "alice")  # alice does not follow bob: she reads his reply all the same
    private = await post(pod, alice, "for followers", visibility="followers")
    # Not asked for: the reply takes its post's visibility; carol, who follows neither, sees
    # neither the post nor the reply, anywhere.
    reply = await comment(pod, bob, private["id"], "agreed")
    assert reply["visibility"] == "followers"
    assert await status(pod, "GET", f"/posts/{reply['id']}", carol) == 404
    assert reply["id"] not in [
        p["id"] for p in await items(pod, carol, f"/identities/{bob.identity_id}/posts")
    ]
    assert (await get_post(pod, alice, reply["id"]))["body"] == "agreed"
    assert ("comment", "bob") in await kinds(pod, alice)
    # Asked for a wider audience: refused, and nothing is stored.
    resp, err = await pod.call(
        "POST", f"{API}/posts", bob,
        json={"body": "to all", "inReplyTo": private["id"], "visibility": "public"},
    )  # fmt: skip
    assert resp.status == 422 and "visibility" in err["fields"]
    assert await items(pod, alice, f"/posts/{private['id']}/comments") == [reply]

    # A reply to a direct post goes to the thread's people unless it names others.
    secret = await post(pod, alice, "psst", visibility="direct", recipients=["bob", "dave"])
    answer = await comment(pod, bob, secret["id"], "ok")
    assert answer["visibility"] == "direct"
    for who in (alice, dave):
        assert (await get_post(pod, who, answer["id"]))["body"] == "ok"
    assert await status(pod, "GET", f"/posts/{answer['id']}", carol) == 404
    for wider in ("followers", "public"):
        assert await status(
            pod, "POST", "/posts", bob,
            json={"body": "x", "inReplyTo": secret["id"], "visibility": wider},
        ) == 422  # fmt: skip
    # A public post's replies are public unless narrowed.
    open_post = await post(pod, alice, "hello all")
    assert (await comment(pod, carol, open_post["id"], "hi"))["visibility"] == "public"
    narrowed = await comment(pod, carol, open_post["id"], "hi", visibility="followers")
    assert narrowed["visibility"] == "followers"


async def test_comment_counts_show_only_replies_everyone_may_read(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    parent = await post(pod, alice, "open question")
    await comment(pod, bob, parent["id"], "just between us", visibility="direct",
                  recipients=["alice"])  # fmt: skip
    for who in (alice, bob, carol):
        assert (await get_post(pod, who, parent["id"]))["counts"]["comments"] == 0
    await comment(pod, carol, parent["id"], "out loud")
    for who in (alice, bob, carol):
        assert (await get_post(pod, who, parent["id"]))["counts"]["comments"] == 1
        streamed = await items(pod, who, f"/identities/{alice.identity_id}/posts")
        assert streamed[0]["counts"]["comments"] == 1


async def test_comment_bad_input(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    parent = await post(pod, alice, "x")
    unknown = "0" * 32

    async def reply(to: Any, body: str = "c") -> int:
        return await status(pod, "POST", "/posts", alice, json={"body": body, "inReplyTo": to})

    assert await reply(unknown) == 404
    assert await reply("x" * 40) == 422
    assert await reply(parent["id"], body="") == 422
    assert await reply(5) == 422
    assert await status(pod, "GET", f"/posts/{unknown}/comments", alice) == 404
    assert await status(pod, "GET", "/posts/nope/comments", alice) == 404
    # A comment on a deleted post is refused, and its comment list is gone.
    await pod.call("DELETE", f"{API}/posts/{parent['id']}", alice, expect=204)
    assert await reply(parent["id"]) == 404
    assert await status(pod, "GET", f"/posts/{parent['id']}/comments", alice) == 404


async def test_orphaned_comments_stay_comments(trio: Trio) -> None:
    """A comment whose post was deleted does not turn into a top-level post."""
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    parent = await post(pod, alice, "soon gone")
    reply = await comment(pod, bob, parent["id"], "a reply")
    await pod.call("DELETE", f"{API}/posts/{parent['id']}", alice, expect=204)
    assert (await get_post(pod, bob, reply["id"]))["id"] == reply["id"]
    assert await items(pod, bob, "/streams/main") == []
    assert await items(pod, alice, "/streams/main") == []
    assert await items(pod, bob, "/streams/commented") == []
    assert await items(pod, bob, "/streams/activity") == []


# --- emoji reactions ------------------------------------------------------------------------


async def _react(trio: Trio, user: Any, guid: str, emoji: Any, expect: int = 200) -> Any:
    _, out = await trio.pod.call(
        "PUT", f"{API}/posts/{guid}/reaction", user, json={"emoji": emoji}, expect=expect
    )
    return out


async def test_reactions_one_per_identity_replace_undo(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    target = await post(pod, alice, "react to me")
    out = await _react(trio, bob, target["id"], "👍")
    assert out["myReaction"] == "👍"
    assert out["reactions"] == [{"emoji": "👍", "count": 1}]
    assert out["counts"] == {**ZERO, "reactions": 1}
    # The same emoji again changes nothing: one reaction, one notification.
    out = await _react(trio, bob, target["id"], "👍")
    assert out["counts"]["reactions"] == 1
    (note,) = await notifications(pod, alice)
    assert (note["kind"], note["actor"]["id"], note["detail"]) == (
        "reaction", bob.identity_id, {"post": target["id"], "emoji": "👍"},
    )  # fmt: skip
    # Another emoji replaces it (and its notification).
    out = await _react(trio, bob, target["id"], "🎉")
    assert out["reactions"] == [{"emoji": "🎉", "count": 1}]
    (note,) = await notifications(pod, alice)
    assert note["detail"]["emoji"] == "🎉"
    # carol's reaction counts too; each sees their own.
    out = await _react(trio, carol, target["id"], "🎉")
    assert out["reactions"] == [{"emoji": "🎉", "count": 2}]
    assert (await get_post(pod, bob, target["id"]))["myReaction"] == "🎉"
    seen = await get_post(pod, alice, target["id"])
    assert seen["myReaction"] is None and seen["counts"]["reactions"] == 2
    # ZWJ sequences, flags and skin tones are one emoji; so are keycaps and subdivision flags.
    for emoji in (
        "👩‍👩‍👧",
        "🇫🇷",
        "👍🏽",
        "🧑🏽‍🤝‍🧑🏻",
        "1️⃣",
        "#️⃣",
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
        "‼️",
        "\u2139\ufe0f",
        "🙂‍↔️",
        "❤️",
    ):
        assert (await _react(trio, carol, target["id"], emoji))["myReaction"] == emoji
    # A like is separate from a reaction: one of each per identity.
    _, liked = await pod.call("POST", f"{API}/posts/{target['id']}/like", bob, expect=200)
    assert liked["counts"] == {**ZERO, "likes": 1, "reactions": 2}

    # Undo: the reaction and its notification go; undoing again is 404.
    _, out = await pod.call("DELETE", f"{API}/posts/{target['id']}/reaction", bob, expect=200)
    assert out["myReaction"] is None
    assert out["reactions"] == [{"emoji": "❤️", "count": 1}]
    assert ("reaction", "bob") not in await kinds(pod, alice)
    assert await status(pod, "DELETE", f"/posts/{target['id']}/reaction", bob) == 404
    # Reacting to one's own post notifies no one.
    await _react(trio, alice, target["id"], "😀")
    assert all(n["actor"]["id"] != alice.identity_id for n in await notifications(pod, alice))


@pytest.mark.parametrize(
    "emoji",
    ["", "a", "ab", "👍👍", "👍 ", " 👍", "1", ":+1:", "<b>", "👍a", "\u200d", "🏽", "x" * 40, 5,
     None, ["👍"],
     # Stray joiners, modifiers and selectors, half a flag, two emoji joined by two joiners.
     "😀\u200d", "\u200d😀", "👍🏽🏽", "😀\ufe0f\ufe0f", "🇫", "😀\u200d\u200d😀😀"],
)  # fmt: skip
async def test_bad_emoji_is_422(trio: Trio, emoji: Any) -> None:
    target = await post(trio.pod, trio.alice, "x")
    await _react(trio, trio.bob, target["id"], emoji, expect=422)
    assert (await get_post(trio.pod, trio.bob, target["id"]))["counts"]["reactions"] == 0


async def test_reaction_bad_body(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    target = await post(pod, alice, "x")
    path = f"/posts/{target['id']}/reaction"
    assert await status(pod, "PUT", path, bob, json={}) == 422
    assert await status(pod, "PUT", path, bob, json={"emoji": "👍", "extra": 1}) == 422
    assert await status(pod, "PUT", path, bob, data=b"{not json", headers=JSON) == 400
    assert await status(pod, "PUT", path, None, json={"emoji": "👍"}) == 401


# --- likes and reshares ---------------------------------------------------------------------


async def test_likes_idempotent_with_notifications(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    target = await post(pod, alice, "like me")
    for _ in range(2):
        _, out = await pod.call("POST", f"{API}/posts/{target['id']}/like", bob, expect=200)
        assert out["liked"] is True and out["counts"]["likes"] == 1
    assert await kinds(pod, alice) == [("like", "bob")]
    assert (await get_post(pod, alice, target["id"]))["liked"] is False
    assert await bodies(pod, bob, "/streams/liked") == ["like me"]
    _, out = await pod.call("DELETE", f"{API}/posts/{target['id']}/like", bob, expect=200)
    assert out["liked"] is False and out["counts"]["likes"] == 0
    assert await kinds(pod, alice) == []
    assert await items(pod, bob, "/streams/liked") == []
    assert await status(pod, "DELETE", f"/posts/{target['id']}/like", bob) == 404


async def test_reshares(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    target = await post(pod, alice, "share me")
    for _ in range(2):
        _, out = await pod.call("POST", f"{API}/posts/{target['id']}/reshare", bob, expect=200)
        assert out["reshared"] is True and out["counts"]["reshares"] == 1
    assert await kinds(pod, alice) == [("reshare", "bob")]
    assert (await get_post(pod, carol, target["id"]))["counts"]["reshares"] == 1
    _, out = await pod.call("DELETE", f"{API}/posts/{target['id']}/reshare", bob, expect=200)
    assert out["reshared"] is False and out["counts"]["reshares"] == 0
    assert await kinds(pod, alice) == []
    assert await status(pod, "DELETE", f"/posts/{target['id']}/reshare", bob) == 404
    # Only public posts can be reshared, even by those who may read them.
    await follow(pod, bob, "alice")
    private = await post(pod, alice, "friends", visibility="followers")
    _, err = await pod.call("POST", f"{API}/posts/{private['id']}/reshare", bob, expect=422)
    assert err["error"] == "not_reshareable"


# --- bookmarks ------------------------------------------------------------------------------


async def test_bookmarks_are_private(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    one = await post(pod, alice, "one")
    two = await post(pod, alice, "two")
    for _ in range(2):  # idempotent
        _, out = await pod.call("PUT", f"{API}/posts/{one['id']}/bookmark", bob, expect=200)
        assert out["bookmarked"] is True
    await pod.call("PUT", f"{API}/posts/{two['id']}/bookmark", bob, expect=200)
    await pod.call("PUT", f"{API}/posts/{two['id']}/bookmark", carol, expect=200)
    assert await bodies(pod, bob, "/streams/bookmarks") == ["two", "one"]  # by bookmark time
    assert await bodies(pod, carol, "/streams/bookmarks") == ["two"]
    assert await items(pod, alice, "/streams/bookmarks") == []
    # Nobody else sees bob's bookmark, not even the author; no notification either.
    assert (await get_post(pod, alice, one["id"]))["bookmarked"] is False
    assert (await get_post(pod, carol, one["id"]))["bookmarked"] is False
    assert await notifications(pod, alice) == []
    assert all("bookmark" not in str(v) for v in (await get_post(pod, alice, one["id"])).values())

    _, out = await pod.call("DELETE", f"{API}/posts/{one['id']}/bookmark", bob, expect=200)
    assert out["bookmarked"] is False
    assert await bodies(pod, bob, "/streams/bookmarks") == ["two"]
    assert await status(pod, "DELETE", f"/posts/{one['id']}/bookmark", bob) == 404


async def test_bookmark_of_a_post_no_longer_visible_drops_out(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, bob, "alice")
    private = await post(pod, alice, "friends", visibility="followers")
    await pod.call("PUT", f"{API}/posts/{private['id']}/bookmark", bob, expect=200)
    assert await bodies(pod, bob, "/streams/bookmarks") == ["friends"]
    await unfollow(pod, bob, alice.identity_id)
    assert await items(pod, bob, "/streams/bookmarks") == []
    assert await status(pod, "DELETE", f"/posts/{private['id']}/bookmark", bob) == 404


# --- counters and visibility ----------------------------------------------------------------


async def test_counters_on_every_post_everywhere(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    target = await post(pod, alice, "count me #counted")
    await comment(pod, bob, target["id"], "c1")
    await comment(pod, carol, target["id"], "c2")
    await pod.call("POST", f"{API}/posts/{target['id']}/like", bob, expect=200)
    await pod.call("POST", f"{API}/posts/{target['id']}/reshare", carol, expect=200)
    await _react(trio, bob, target["id"], "🔥")
    await pod.call("PUT", f"{API}/posts/{target['id']}/bookmark", carol, expect=200)
    expected = {"likes": 1, "reshares": 1, "comments": 2, "reactions": 1}
    listings = [
        [await get_post(pod, carol, target["id"])],
        await items(pod, alice, "/streams/main"),
        await items(pod, alice, "/streams/activity"),
        await items(pod, bob, "/streams/liked"),
        await items(pod, bob, "/streams/commented"),
        await items(pod, carol, "/streams/bookmarks"),
        await items(pod, carol, "/tags/counted/posts"),
        await items(pod, carol, f"/identities/{alice.identity_id}/posts"),
    ]
    for listing in listings:
        (found,) = [p for p in listing if p["id"] == target["id"]]
        assert found["counts"] == expected
    for c in await items(pod, alice, f"/posts/{target['id']}/comments"):
        assert c["counts"] == ZERO
        assert GUID_RE.match(c["id"])


def _routes(guid: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("GET", f"/posts/{guid}", {}),
        ("GET", f"/posts/{guid}/comments", {}),
        ("POST", "/posts", {"json": {"body": "c", "inReplyTo": guid}}),
        ("PUT", f"/posts/{guid}/reaction", {"json": {"emoji": "👍"}}),
        ("DELETE", f"/posts/{guid}/reaction", {}),
        ("POST", f"/posts/{guid}/like", {}),
        ("DELETE", f"/posts/{guid}/like", {}),
        ("POST", f"/posts/{guid}/reshare", {}),
        ("DELETE", f"/posts/{guid}/reshare", {}),
        ("PUT", f"/posts/{guid}/bookmark", {}),
        ("DELETE", f"/posts/{guid}/bookmark", {}),
        ("PATCH", f"/posts/{guid}", {"json": {"body": "mine now"}}),
        ("DELETE", f"/posts/{guid}", {}),
    ]


async def test_invisible_posts_are_404_on_every_route(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await follow(pod, bob, "alice")
    private = await post(pod, alice, "friends", visibility="followers")
    direct = await post(pod, alice, "for bob", visibility="direct", recipients=["bob"])
    for target in (private, direct):
        # bob may read both; carol neither, on any route.
        assert (await get_post(pod, bob, target["id"]))["id"] == target["id"]
        for method, path, kw in _routes(target["id"]):
            code = await status(pod, method, path, carol, **kw)
            assert code == 404, (method, path, code)
        assert await status(pod, "GET", f"/posts/{target['id']}", None) == 401
    # Nothing carol tried left a trace.
    for target in (private, direct):
        seen = await get_post(pod, alice, target["id"])
        assert seen["counts"] == ZERO and seen["body"] == target["body"]
    assert await kinds(pod, alice) == [("follow", "bob")]
    assert await items(pod, carol, "/streams/bookmarks") == []


async def test_deleted_posts_are_404_and_take_their_notifications(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    target = await post(pod, alice, "short-lived, @carol")
    await pod.call("POST", f"{API}/posts/{target['id']}/like", bob, expect=200)
    await pod.call("POST", f"{API}/posts/{target['id']}/reshare", bob, expect=200)
    await _react(trio, bob, target["id"], "👀")
    await pod.call("PUT", f"{API}/posts/{target['id']}/bookmark", bob, expect=200)
    assert sorted(k for k, _ in await kinds(pod, alice)) == ["like", "reaction", "reshare"]
    assert await kinds(pod, carol) == [("mention", "alice")]

    await pod.call("DELETE", f"{API}/posts/{target['id']}", alice, expect=204)
    for method, path, kw in _routes(target["id"]):
        code = await status(pod, method, path, alice, **kw)
        assert code == 404, (method, path, code)
    # Every notification whose cause went with the post is gone.
    assert await notifications(pod, alice) == []
    assert await notifications(pod, carol) == []
    for stream in ("bookmarks", "liked", "activity", "main"):
        assert await items(pod, bob, f"/streams/{stream}") == []


async def test_post_bad_input(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    cases: list[dict[str, Any]] = [
        {"body": ""},
        {"body": "   "},
        {"body": "x" * 20_001},
        {"body": "x", "visibility": "friends"},
        {"body": "x", "visibility": "direct", "recipients": []},
        {"body": "x", "recipients": "bob"},
        {"body": 5},
        {"body": "x", "unknown": True},
    ]
    for payload in cases:
        assert await status(pod, "POST", "/posts", alice, json=payload) == 422, payload
    assert await status(pod, "POST", "/posts", alice, data=b"[", headers=JSON) == 400
    assert (
        await status(pod, "POST", "/posts", alice, json={"body": "x", "recipients": ["nobody"]})
        == 404
    )
    assert await status(pod, "POST", "/posts", None, json={"body": "x"}) == 401
    assert await items(pod, alice, "/identities/current/posts") == []

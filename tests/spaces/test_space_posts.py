"""Posts in a space: who may write them, who may read them (everywhere posts are listed), and
the per-space list."""

from __future__ import annotations

from datetime import timedelta

from tests.spaces.support import join, make_invite, make_space, post_in, space_posts
from tests.support import Pod, parse_links


async def test_members_post_non_members_cannot(pod: Pod) -> None:
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    public = await make_space(pod, alice)
    private = await make_space(pod, alice, visibility="private", joinMode="invite")
    await join(pod, bob, public["id"])

    post = await post_in(pod, bob, public["id"], "hello gardeners")
    assert post["spaceId"] == public["id"] and post["visibility"] == "public"

    for space, status, code in [(public, 403, "not_a_member"), (private, 404, "not_found")]:
        resp, err = await pod.call(
            "POST", "/api/v1/posts", carol, json={"body": "let me in", "spaceId": space["id"]}
        )
        assert (resp.status, err["error"]) == (status, code)
    for bad in ("nope", "0" * 32):
        resp, _ = await pod.call("POST", "/api/v1/posts", bob, json={"body": "x", "spaceId": bad})
        assert resp.status == 404


async def test_post_validation_in_spaces(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    one, two = await make_space(pod, alice), await make_space(pod, alice)
    resp, err = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "x", "visibility": "space"}
    )
    assert resp.status == 422 and "spaceId" in err["fields"]
    resp, err = await pod.call(
        "POST", "/api/v1/posts", alice,
        json={"body": "x", "spaceId": one["id"], "visibility": "direct",
              "recipients": [bob.identity_id]},
    )  # fmt: skip
    assert resp.status == 422 and "recipients" in err["fields"]
    resp, err = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "x", "spaceId": "a" * 33}
    )
    assert resp.status == 422
    first = await post_in(pod, alice, one["id"], "in one")
    resp, err = await pod.call(
        "POST", "/api/v1/posts", alice,
        json={"body": "x", "spaceId": two["id"], "inReplyTo": first["id"]},
    )  # fmt: skip
    assert resp.status == 422 and "inReplyTo" in err["fields"]


async def test_private_space_posts_are_for_members_only(pod: Pod) -> None:
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    space = await make_space(pod, alice, visibility="private", joinMode="invite")
    invite = await make_invite(pod, alice, space["id"])
    await join(pod, bob, space["id"], code=invite["code"])
    # carol follows alice: followers-only and public posts reach her, space posts do not.
    await pod.call("POST", "/api/v1/follows", carol, json={"target": "alice"}, expect=201)

    secret = await post_in(pod, alice, space["id"], "members only")
    assert secret["visibility"] == "space" and secret["spaceId"] == space["id"]
    public = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi all"}, expect=201)

    await pod.call("GET", f"/api/v1/posts/{secret['id']}", bob, expect=200)
    await pod.call("GET", f"/api/v1/posts/{secret['id']}", carol, expect=404)
    await pod.call("GET", f"/posts/{secret['id']}", headers={"Accept": "application/json"},
                   expect=404)  # fmt: skip
    assert [p["id"] for p in await space_posts(pod, bob, space["id"])] == [secret["id"]]

    _, main = await pod.call("GET", "/api/v1/streams/main", carol, expect=200)
    assert [p["id"] for p in main] == [public[1]["id"]]
    _, profile = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/posts", carol, expect=200
    )
    assert [p["id"] for p in profile] == [public[1]["id"]]
    _, profile = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/posts", bob, expect=200
    )
    assert {p["id"] for p in profile} == {public[1]["id"], secret["id"]}

    # Not reshareable, not likeable by outsiders; a member's reply stays in the space.
    resp, _ = await pod.call("POST", f"/api/v1/posts/{secret['id']}/reshare", bob)
    assert resp.status == 422
    resp, _ = await pod.call("POST", f"/api/v1/posts/{secret['id']}/like", carol)
    assert resp.status == 404
    _, reply = await pod.call(
        "POST", "/api/v1/posts", bob, json={"body": "agreed", "inReplyTo": secret["id"]},
        expect=201,
    )  # fmt: skip
    assert reply["spaceId"] == space["id"] and reply["visibility"] == "space"
    await pod.call("GET", f"/api/v1/posts/{reply['id']}", carol, expect=404)
    # The space's list shows top-level posts.
    assert [p["id"] for p in await space_posts(pod, alice, space["id"])] == [secret["id"]]

    # A removed member loses access at once.
    await pod.call(
        "DELETE", f"/api/v1/spaces/{space['id']}/members/{bob.identity_id}", alice, expect=204
    )
    await pod.call("GET", f"/api/v1/posts/{secret['id']}", bob, expect=404)
    await pod.call("GET", f"/api/v1/spaces/{space['id']}/posts", bob, expect=404)
    # Their own posts stay theirs.
    await pod.call("GET", f"/api/v1/posts/{reply['id']}", bob, expect=200)


async def test_explicit_shares_do_not_reach_into_spaces(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, visibility="private", joinMode="closed")
    secret = await post_in(pod, alice, space["id"], "members only")
    resp, share = await pod.call(
        "POST", "/api/v1/sharing", alice, json={"shared_with": "bob", "scope": "all"}
    )
    assert resp.status == 201, share
    await pod.call("GET", f"/api/v1/posts/{secret['id']}", bob, expect=404)


async def test_public_space_posts_are_public(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice)
    post = await post_in(pod, alice, space["id"], "open")
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)
    assert [p["id"] for p in await space_posts(pod, bob, space["id"])] == [post["id"]]
    resp, _ = await pod.call(
        "GET", f"/posts/{post['id']}", headers={"Accept": "application/activity+json"}
    )
    assert resp.status == 200


async def test_space_posts_page_by_keyset(pod: Pod) -> None:
    alice = await pod.register("alice")
    space = await make_space(pod, alice)
    made = []
    for n in range(5):
        made.append((await post_in(pod, alice, space["id"], f"post {n}"))["id"])
        pod.clock.advance(timedelta(milliseconds=5))
    resp, first = await pod.call(
        "GET", f"/api/v1/spaces/{space['id']}/posts?per_page=2", alice, expect=200
    )
    seen = [p["id"] for p in first]
    links = parse_links(resp.headers["Link"])
    # A post arriving between pages shifts nothing.
    await post_in(pod, alice, space["id"], "late")
    while "next" in links:
        resp, page = await pod.follow(links["next"], alice)
        seen += [p["id"] for p in page]
        links = parse_links(resp.headers["Link"])
    assert seen == list(reversed(made))
    resp, _ = await pod.call("GET", f"/api/v1/spaces/{space['id']}/posts?cursor=zzz", alice)
    assert resp.status == 400

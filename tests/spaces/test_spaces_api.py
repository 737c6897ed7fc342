"""Spaces: create, read (full, limited, hidden), list mine, discover, update and delete."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from node.appkeys import SERVICES
from tests.conftest import PodFactory
from tests.hostile import HostilePod, new_key
from tests.spaces.support import join, make_private, make_space, notifications, post_in
from tests.support import GUID_RE, TIME_RE, Pod, parse_links, wait_for


async def test_create_makes_the_creator_admin(pod: Pod) -> None:
    alice = await pod.register("alice")
    space = await make_space(
        pod, alice, displayName="Night Owls", description="late talk", visibility="private",
        joinMode="application",
    )  # fmt: skip
    assert GUID_RE.match(space["id"])
    assert space["name"] == "night_owls"
    assert space["handle"] == f"night_owls@{pod.host}"
    assert space["uri"] == f"{pod.url}/groups/{space['id']}"
    assert space["displayName"] == "Night Owls"
    assert space["description"] == "late talk"
    assert (space["visibility"], space["joinMode"]) == ("private", "application")
    assert space["role"] == "admin" and space["memberCount"] == 1 and space["local"] is True
    assert TIME_RE.match(space["createdAt"])

    _, got = await pod.call("GET", f"/api/v1/spaces/{space['id']}", alice, expect=200)
    assert got == space


async def test_defaults_and_chosen_names(pod: Pod) -> None:
    alice = await pod.register("alice")
    plain = await make_space(pod, alice)
    assert (plain["visibility"], plain["joinMode"]) == ("public", "instant")
    assert plain["description"] == ""
    again = await make_space(pod, alice)  # same display name: a name of its own
    assert again["name"] != plain["name"] and again["name"].startswith("gardeners_")
    named = await make_space(pod, alice, name="Roses")
    assert named["name"] == "Roses"
    resp, err = await pod.call(
        "POST", "/api/v1/spaces", alice, json={"displayName": "x", "name": "roses"}
    )
    assert (resp.status, err["error"]) == (409, "name_taken")
    # A name is shared with identities: both are name@host to other pods.
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "Alice_Work"}, expect=201)
    for taken in ("alice", "ALICE", "alice_work"):
        resp, err = await pod.call(
            "POST", "/api/v1/spaces", alice, json={"displayName": "x", "name": taken}
        )
        assert (resp.status, err["error"]) == (409, "name_taken"), taken


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"displayName": ""}, "displayName"),
        ({"displayName": "   "}, "displayName"),
        ({"displayName": "x" * 101}, "displayName"),
        ({"displayName": "x", "description": "d" * 2001}, "description"),
        ({"displayName": "x", "visibility": "secret"}, "visibility"),
        ({"displayName": "x", "joinMode": "sometimes"}, "joinMode"),
        ({"displayName": "x", "name": "bad name"}, "name"),
        ({"displayName": "x", "name": "api"}, "name"),
        ({"displayName": 5}, "displayName"),
        ({"displayName": "x", "extra": 1}, "extra"),
        ({}, "displayName"),
    ],
)
async def test_create_validation(pod: Pod, body: dict, field: str) -> None:
    alice = await pod.register("alice")
    resp, err = await pod.call("POST", "/api/v1/spaces", alice, json=body)
    assert resp.status == 422, err
    assert err["error"] == "validation_failed" and field in err["fields"]


async def test_bad_requests(pod: Pod) -> None:
    alice = await pod.register("alice")
    resp, _ = await pod.call("POST", "/api/v1/spaces", json={"displayName": "x"})
    assert resp.status == 401
    resp, _ = await pod.call("POST", "/api/v1/spaces", alice, data="{", headers={
        "Content-Type": "application/json"})  # fmt: skip
    assert resp.status == 400
    resp, _ = await pod.call("POST", "/api/v1/spaces", alice, data="x")
    assert resp.status == 415
    for path in ("/api/v1/spaces/nope", f"/api/v1/spaces/{'0' * 32}"):
        resp, err = await pod.call("GET", path, alice)
        assert (resp.status, err["error"]) == (404, "not_found")


async def test_private_spaces_are_invisible_to_non_members(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, visibility="private")
    sid = space["id"]
    for method, path, body in [
        ("GET", f"/api/v1/spaces/{sid}", None),
        ("GET", f"/api/v1/spaces/{sid}/posts", None),
        ("GET", f"/api/v1/spaces/{sid}/members", None),
        ("GET", f"/api/v1/spaces/{sid}/applications", None),
        ("PATCH", f"/api/v1/spaces/{sid}", {"displayName": "mine now"}),
        ("DELETE", f"/api/v1/spaces/{sid}", None),
        ("POST", f"/api/v1/spaces/{sid}/join", {}),
        ("POST", f"/api/v1/spaces/{sid}/applications", {"message": "hi"}),
        ("POST", f"/api/v1/spaces/{sid}/my-invite", {}),
        ("POST", f"/api/v1/spaces/{sid}/leave", None),
    ]:
        resp, err = await pod.call(method, path, bob, json=body)
        assert (resp.status, err["error"]) == (404, "not_found"), (method, path)
    _, mine = await pod.call("GET", "/api/v1/spaces", bob, expect=200)
    _, found = await pod.call("GET", "/api/v1/spaces/discover", bob, expect=200)
    assert mine == [] and found == []


async def test_public_spaces_show_limited_info_to_non_members(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, description="open to all")
    _, seen = await pod.call("GET", f"/api/v1/spaces/{space['id']}", bob, expect=200)
    assert seen["displayName"] == "Gardeners" and seen["description"] == "open to all"
    assert seen["role"] is None
    assert seen["memberCount"] is None and seen["createdAt"] is None
    resp, err = await pod.call("GET", f"/api/v1/spaces/{space['id']}/members", bob)
    assert (resp.status, err["error"]) == (403, "not_a_member")
    resp, err = await pod.call(
        "PATCH", f"/api/v1/spaces/{space['id']}", bob, json={"displayName": "x"}
    )
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    resp, err = await pod.call("DELETE", f"/api/v1/spaces/{space['id']}", bob)
    assert (resp.status, err["error"]) == (403, "not_an_admin")


async def test_list_mine_and_discover(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    roses = await make_space(pod, alice, displayName="Roses", description="thorny")
    await make_space(pod, alice, displayName="Tulips", description="bulbs")
    hidden = await make_space(pod, alice, displayName="Secret roses", visibility="private")
    await join(pod, bob, roses["id"])

    _, mine = await pod.call("GET", "/api/v1/spaces", bob, expect=200)
    assert [s["id"] for s in mine] == [roses["id"]]
    assert mine[0]["role"] == "member" and mine[0]["memberCount"] == 2
    _, alices = await pod.call("GET", "/api/v1/spaces", alice, expect=200)
    assert hidden["id"] in {s["id"] for s in alices} and len(alices) == 3

    _, found = await pod.call("GET", "/api/v1/spaces/discover?q=rose", bob, expect=200)
    assert [s["displayName"] for s in found] == ["Roses"]  # the private one is not listed
    _, found = await pod.call("GET", "/api/v1/spaces/discover?q=BULB", bob, expect=200)
    assert [s["displayName"] for s in found] == ["Tulips"]
    assert found[0]["role"] is None and found[0]["memberCount"] is None
    _, found = await pod.call("GET", "/api/v1/spaces/discover?q=50%25", bob, expect=200)
    assert found == []
    resp, found = await pod.call("GET", "/api/v1/spaces/discover?per_page=1", bob, expect=200)
    assert len(found) == 1
    links = parse_links(resp.headers["Link"])
    _, rest = await pod.follow(links["next"], bob)
    assert sorted(s["displayName"] for s in found + rest) == ["Roses", "Tulips"]


async def test_update_by_admins(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice)
    await join(pod, bob, space["id"])
    path = f"/api/v1/spaces/{space['id']}"
    resp, err = await pod.call("PATCH", path, bob, json={"displayName": "Bob's"})
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    _, updated = await pod.call(
        "PATCH", path, alice,
        json={"displayName": " Rosarians ", "description": "new", "joinMode": "closed"},
        expect=200,
    )  # fmt: skip
    assert updated["displayName"] == "Rosarians" and updated["description"] == "new"
    assert updated["joinMode"] == "closed" and updated["name"] == space["name"]
    for body, field in [
        ({"visibility": "hidden"}, "visibility"),
        ({"joinMode": "x"}, "joinMode"),
        ({"displayName": ""}, "displayName"),
        ({"name": "renamed"}, "name"),
    ]:
        resp, err = await pod.call("PATCH", path, alice, json=body)
        assert resp.status == 422 and field in err["fields"], body
    _, same = await pod.call("PATCH", path, alice, json={}, expect=200)
    assert same["displayName"] == "Rosarians"


async def test_making_a_space_private_hides_its_posts(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice)
    _, post = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "hi", "spaceId": space["id"]}, expect=201
    )
    assert post["visibility"] == "public"
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)
    await make_private(pod, alice, space["id"])
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=404)
    _, mine = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
    assert mine["visibility"] == "space"


async def test_delete_by_admins_takes_the_posts(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice)
    await join(pod, bob, space["id"])
    _, post = await pod.call(
        "POST", "/api/v1/posts", bob, json={"body": "hi", "spaceId": space["id"]}, expect=201
    )
    resp, err = await pod.call("DELETE", f"/api/v1/spaces/{space['id']}", bob)
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    await pod.call("DELETE", f"/api/v1/spaces/{space['id']}", alice, expect=204)
    await pod.call("GET", f"/api/v1/spaces/{space['id']}", alice, expect=404)
    await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=404)
    _, mine = await pod.call("GET", "/api/v1/spaces", bob, expect=200)
    assert mine == []


async def test_app_tokens_need_scopes(pod: Pod) -> None:
    alice = await pod.register("alice")
    token, _ = await pod.app[SERVICES].sessions.create_app_token(
        alice.account_id, alice.identity_id, "reader", frozenset({"public:read"}), None
    )
    reader = {"Authorization": f"Bearer {token}"}
    await pod.call("GET", "/api/v1/spaces", headers=reader, expect=200)
    resp, err = await pod.call("POST", "/api/v1/spaces", headers=reader, json={"displayName": "x"})
    assert (resp.status, err["error"]) == (403, "insufficient_scope")


async def test_a_post_takes_its_spaces_visibility_as_it_is_when_stored(
    make_pod: PodFactory,
) -> None:
    """Mentions are resolved before the post is stored, which can take seconds; a space made
    private meanwhile still gets a members-only post."""
    hostile = await HostilePod().start()
    try:
        hostile.add_actor("slow", new_key())
        hostile.stalled.add("slow")
        pod = await make_pod(federation={"fetch_timeout_seconds": 1.0})
        alice = await pod.register("alice")
        space = {"displayName": "Pottery", "visibility": "public"}
        _, space = await pod.call("POST", "/api/v1/spaces", alice, json=space, expect=201)
        body = {"body": f"hi @{hostile.handle('slow')}", "spaceId": space["id"]}
        posting = asyncio.create_task(pod.call("POST", "/api/v1/posts", alice, json=body))

        async def fetching() -> int:
            return hostile.fetches("/users/slow")

        await wait_for(fetching)
        private = {"visibility": "private"}
        await pod.call("PATCH", f"/api/v1/spaces/{space['id']}", alice, json=private, expect=200)
        resp, post = await posting
        assert resp.status == 201, post
        assert post["visibility"] == "space"
    finally:
        await hostile.close()


async def _badge(pod: Pod, user: Any) -> int:
    _, badge = await pod.call("GET", "/api/v1/notifications/badge", user, expect=200)
    return badge["unread"]


async def test_notifications_go_with_what_they_are_about(make_pod: PodFactory) -> None:
    """A mention whose post one may no longer read, an application withdrawn, a space
    deleted: their notifications are not listed or counted any more."""
    pod = await make_pod()
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    open_space = await make_space(pod, alice, displayName="Open")
    post = await post_in(pod, alice, open_space["id"], f"hello @carol@{pod.host}")
    assert [(n["kind"], n["subjectId"]) for n in await notifications(pod, carol)] == [
        ("mention", post["id"])
    ]
    assert await _badge(pod, carol) == 1
    await make_private(pod, alice, open_space["id"])
    assert await notifications(pod, carol) == [] and await _badge(pod, carol) == 0

    asking = await make_space(pod, alice, displayName="Asking", joinMode="application")
    data = await join(pod, bob, asking["id"], expect=202, message="hi")
    app_id = data["application"]["id"] if "application" in data else data["id"]
    assert "space.application" in [n["kind"] for n in await notifications(pod, alice)]
    path = f"/api/v1/spaces/{asking['id']}/applications/{app_id}/withdraw"
    await pod.call("POST", path, bob, expect=200)
    assert "space.application" not in [n["kind"] for n in await notifications(pod, alice)]

    joined = await make_space(pod, alice, displayName="Joined")
    await join(pod, bob, joined["id"])
    assert [n["kind"] for n in await notifications(pod, alice)] == ["space.joined"]
    # Leaving takes the join back, as unfollowing takes a follow's; joining again tells once.
    await pod.call("POST", f"/api/v1/spaces/{joined['id']}/leave", bob, expect=204)
    assert await notifications(pod, alice) == [] and await _badge(pod, alice) == 0
    await join(pod, bob, joined["id"])
    assert [n["kind"] for n in await notifications(pod, alice)] == ["space.joined"]
    await pod.call("DELETE", f"/api/v1/spaces/{joined['id']}", alice, expect=204)
    assert await notifications(pod, alice) == [] and await _badge(pod, alice) == 0

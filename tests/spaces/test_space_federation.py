"""Spaces across pods: a space is a Group actor; remote identities join with Follow (and an
invite code), post to the Group, and the Group Announces posts to its members' pods."""

from __future__ import annotations

from typing import Any

from node.appkeys import DB
from tests.spaces.support import make_invite, make_private, make_space, post_in, space_posts
from tests.support import Pod, User, wait_for


async def _join_remote(pod: Pod, user: User, body: dict[str, Any]) -> dict[str, Any]:
    _, data = await pod.call("POST", "/api/v1/spaces/join", user, json=body, expect=202)
    assert data["state"] == "pending" and data["space"]["local"] is False
    return data["space"]


async def _role(pod: Pod, user: User, space_id: str) -> str | None:
    resp, data = await pod.call("GET", f"/api/v1/spaces/{space_id}", user)
    return data.get("role") if resp.status == 200 else "hidden"


async def _joined(pod: Pod, user: User, body: dict[str, Any]) -> dict[str, Any]:
    """Join a remote space and wait for its Group's Accept."""
    space = await _join_remote(pod, user, body)
    await wait_for(lambda: _is(_role(pod, user, space["id"]), "member"))
    return space


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def _member_handles(pod: Pod, user: User, space_id: str) -> set[str]:
    _, items = await pod.call("GET", f"/api/v1/spaces/{space_id}/members", user, expect=200)
    return {m["identity"]["handle"] for m in items}


async def _bodies(pod: Pod, user: User, space_id: str) -> list[str]:
    return [p["body"] for p in await space_posts(pod, user, space_id)]


async def _has_body(pod: Pod, user: User, space_id: str, text: str) -> bool:
    return text in [p["body"] for p in await space_posts(pod, user, space_id)]


async def test_join_by_follow_post_and_relay_to_a_third_pod(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob, carol = (
        await a.register("alice"),
        await b.register("bob"),
        await c.register("carol"),
    )
    space = await make_space(a, alice, displayName="Potters", description="clay")

    # bob on B joins by the Group's URL, carol on C by its handle (WebFinger answers for the
    # Group); both are Accepted at once: the space is instant.
    on_b = await _joined(b, bob, {"target": space["uri"]})
    assert on_b["displayName"] == "Potters" and on_b["handle"] == f"potters@{a.host}"
    on_c = await _joined(c, carol, {"target": f"potters@{a.host}"})
    assert await _member_handles(a, alice, space["id"]) == {
        f"alice@{a.host}", f"bob@{b.host}", f"carol@{c.host}"
    }  # fmt: skip
    _, mine = await b.call("GET", "/api/v1/spaces", bob, expect=200)
    assert [s["id"] for s in mine] == [on_b["id"]] and mine[0]["role"] == "member"
    kinds = [n["kind"] for n in (await a.call("GET", "/api/v1/notifications", alice))[1]]
    assert kinds == ["space.joined", "space.joined"]

    # bob posts on B into the remote space: the Group keeps it and Announces it to C.
    post = await post_in(b, bob, on_b["id"], "a new glaze")
    assert post["spaceId"] == on_b["id"] and post["visibility"] == "public"
    await wait_for(lambda: _has_body(a, alice, space["id"], "a new glaze"))
    await wait_for(lambda: _has_body(c, carol, on_c["id"], "a new glaze"))
    [relayed] = await space_posts(c, carol, on_c["id"])
    assert relayed["author"]["handle"] == f"bob@{b.host}" and relayed["uri"] == post["uri"]
    assert relayed["spaceId"] == on_c["id"]

    # alice posts on A: her Group Announces it to B and C.
    await post_in(a, alice, space["id"], "kiln is hot")
    await wait_for(lambda: _has_body(b, bob, on_b["id"], "kiln is hot"))
    await wait_for(lambda: _has_body(c, carol, on_c["id"], "kiln is hot"))
    # Both are in carol's main stream as well: she belongs to the space, through its Group.
    _, main = await c.call("GET", "/api/v1/streams/main", carol, expect=200)
    assert [p["body"] for p in main] == ["kiln is hot", "a new glaze"]
    # bob's own post reached B once, not again through the Group.
    assert (await _bodies(b, bob, on_b["id"])).count("a new glaze") == 1

    # bob edits, then deletes his post: the Group relays both.
    await b.call("PATCH", f"/api/v1/posts/{post['id']}", bob, json={"body": "a blue glaze"},
                 expect=200)  # fmt: skip
    await wait_for(lambda: _has_body(c, carol, on_c["id"], "a blue glaze"))
    await wait_for(lambda: _has_body(a, alice, space["id"], "a blue glaze"))
    await b.call("DELETE", f"/api/v1/posts/{post['id']}", bob, expect=204)
    await wait_for(lambda: _is(_bodies(c, carol, on_c["id"]), ["kiln is hot"]))
    await wait_for(lambda: _is(_bodies(a, alice, space["id"]), ["kiln is hot"]))


async def test_join_by_invite_code(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob, carol = (
        await a.register("alice"),
        await b.register("bob"),
        await c.register("carol"),
    )
    space = await make_space(a, alice, displayName="Quilters", joinMode="invite")

    # Without a code the Group says no.
    refused = await _join_remote(b, bob, {"target": space["uri"]})
    await wait_for(lambda: _no_follow(b))
    assert await _role(b, bob, refused["id"]) is None

    invite = await make_invite(a, alice, space["id"], maxUses=2)
    on_b = await _joined(b, bob, {"target": invite["link"]})  # the code rides in the link
    assert on_b["id"] == refused["id"]
    on_c = await _joined(c, carol, {"target": space["uri"], "code": invite["code"]})
    _, seen = await a.call("GET", f"/api/v1/spaces/{space['id']}/my-invite", alice)
    assert seen["uses"] == 2

    await post_in(b, bob, on_b["id"], "binding stitches")
    await wait_for(lambda: _has_body(c, carol, on_c["id"], "binding stitches"))
    await wait_for(lambda: _has_body(a, alice, space["id"], "binding stitches"))


async def _no_follow(pod: Pod) -> bool:
    return await pod.app[DB].fetchval("SELECT count(*) FROM follows") == 0


async def test_remote_application_approved_and_rejected(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob, erin = await a.register("alice"), await b.register("bob"), await b.register("erin")
    space = await make_space(a, alice, joinMode="application")
    on_b = await _join_remote(b, bob, {"target": space["uri"], "message": "I can help"})
    await _join_remote(b, erin, {"target": space["uri"]})

    async def pending() -> list[dict[str, Any]]:
        _, items = await a.call(
            "GET", f"/api/v1/spaces/{space['id']}/applications?state=pending", alice
        )
        return items if len(items) == 2 else []

    async def _pending_one() -> list[dict[str, Any]]:
        _, items = await a.call(
            "GET", f"/api/v1/spaces/{space['id']}/applications?state=pending", alice
        )
        return items

    apps = {x["applicant"]["handle"]: x for x in await wait_for(pending)}
    assert apps[f"bob@{b.host}"]["message"] == "I can help"
    base = f"/api/v1/spaces/{space['id']}/applications"
    await a.call("POST", f"{base}/{apps[f'bob@{b.host}']['id']}/approve", alice, expect=200)
    await a.call("POST", f"{base}/{apps[f'erin@{b.host}']['id']}/reject", alice, expect=200)
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "member"))

    async def erin_refused() -> bool:
        return not await b.app[DB].fetchval(
            "SELECT 1 FROM follows f JOIN identities i ON i.guid = f.follower_guid"
            " WHERE i.username = 'erin'"
        )

    await wait_for(erin_refused)
    assert await _role(b, erin, on_b["id"]) is None

    # Taking back an application not yet answered: an Undo of the Follow withdraws it.
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", erin, expect=403)
    await _join_remote(b, erin, {"target": space["uri"], "message": "once more"})
    again = (await wait_for(_pending_one))[0]
    assert again["message"] == "once more"
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", erin, expect=204)

    async def withdrawn() -> bool:
        _, items = await a.call("GET", f"{base}?state=withdrawn", alice)
        return [x["id"] for x in items] == [again["id"]]

    await wait_for(withdrawn)


async def test_closed_space_rejects_and_private_posts_stay_with_members(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    carol, dave = await c.register("carol"), await c.register("dave")
    space = await make_space(a, alice, visibility="private", joinMode="closed")
    refused = await _join_remote(b, bob, {"target": space["uri"]})
    await wait_for(lambda: _no_follow(b))
    assert await _role(b, bob, refused["id"]) == "hidden"  # private, and not a member

    invite = await make_invite(a, alice, space["id"], joinModeOverride="instant")
    on_c = await _joined(c, carol, {"target": invite["link"]})
    assert on_c["visibility"] == "private"
    secret = await post_in(a, alice, space["id"], "for members")
    assert secret["visibility"] == "space"
    await wait_for(lambda: _has_body(c, carol, on_c["id"], "for members"))
    [copy] = await space_posts(c, carol, on_c["id"])
    assert copy["visibility"] == "space"
    # dave shares carol's pod, not the space.
    await c.call("GET", f"/api/v1/posts/{copy['id']}", dave, expect=404)
    await c.call("GET", f"/api/v1/posts/{copy['id']}", carol, expect=200)

    # A member on C posts to the private space; it comes back to nobody outside it.
    reply = await post_in(c, carol, on_c["id"], "thanks")
    assert reply["visibility"] == "space"
    await wait_for(lambda: _has_body(a, alice, space["id"], "thanks"))
    _, on_a = await a.call("GET", "/api/v1/spaces", alice)
    assert on_a[0]["memberCount"] == 2


async def test_leaving_removal_and_deletion_reach_the_other_side(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob, erin = await a.register("alice"), await b.register("bob"), await b.register("erin")
    space = await make_space(a, alice)
    on_b = await _joined(b, bob, {"target": space["uri"]})
    await _joined(b, erin, {"target": space["uri"]})
    handles = {f"alice@{a.host}", f"bob@{b.host}", f"erin@{b.host}"}
    assert await _member_handles(a, alice, space["id"]) == handles

    # bob leaves on B: an Undo of his Follow.
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", bob, expect=204)

    async def members_now() -> set[str]:
        return await _member_handles(a, alice, space["id"])

    await wait_for(lambda: _is(members_now(), handles - {f"bob@{b.host}"}))

    # alice removes erin: a Reject of erin's Follow ends it on B.
    _, items = await a.call("GET", f"/api/v1/spaces/{space['id']}/members", alice)
    erin_on_a = next(m for m in items if m["identity"]["handle"] == f"erin@{b.host}")
    await a.call(
        "DELETE", f"/api/v1/spaces/{space['id']}/members/{erin_on_a['identity']['id']}", alice,
        expect=204,
    )  # fmt: skip
    await wait_for(lambda: _is(_role(b, erin, on_b["id"]), None))
    # Only members may post: after leaving, bob is refused.
    resp, _ = await b.call(
        "POST", "/api/v1/posts", bob, json={"body": "still here?", "spaceId": on_b["id"]}
    )
    assert resp.status == 403

    # A deleted post is deleted on members' pods; a deleted space ends membership.
    await _joined(b, bob, {"target": space["uri"]})
    post = await post_in(a, alice, space["id"], "soon gone")
    await wait_for(lambda: _has_body(b, bob, on_b["id"], "soon gone"))
    await a.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)
    await wait_for(lambda: _is(_bodies(b, bob, on_b["id"]), []))
    await a.call("DELETE", f"/api/v1/spaces/{space['id']}", alice, expect=204)
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "hidden"))


async def test_group_actor_document(make_pod) -> None:
    a = await make_pod()
    alice = await a.register("alice")
    space = await make_space(a, alice, displayName="Weavers", description="loom talk")
    hidden = await make_space(a, alice, displayName="Hidden", visibility="private",
                              description="secret plans", joinMode="invite")  # fmt: skip
    accept = {"Accept": "application/activity+json"}
    _, doc = await a.call("GET", f"/groups/{space['id']}", headers=accept, expect=200)
    assert doc["type"] == "Group" and doc["id"] == space["uri"]
    assert doc["preferredUsername"] == "weavers" and doc["name"] == "Weavers"
    assert (
        doc["inbox"] == f"{space['uri']}/inbox" and doc["followers"] == f"{space['uri']}/followers"
    )
    assert doc["publicKey"]["owner"] == doc["id"] and "loom talk" in doc["summary"]
    assert doc["manuallyApprovesFollowers"] is False and doc["discoverable"] is True

    _, private = await a.call("GET", f"/groups/{hidden['id']}", headers=accept, expect=200)
    assert private["summary"] == "" and private["manuallyApprovesFollowers"] is True
    assert private["joinMode"] == "invite" and private["discoverable"] is False

    _, members = await a.call("GET", f"/groups/{space['id']}/followers", headers=accept)
    assert members["totalItems"] == 1
    _, page = await a.call("GET", f"/groups/{space['id']}/followers?page=first", headers=accept)
    assert page["orderedItems"] == [f"{a.url}/users/alice"]
    _, counted = await a.call("GET", f"/groups/{hidden['id']}/followers?page=first", headers=accept)
    assert counted["totalItems"] == 1 and "first" not in counted
    await a.call("GET", f"/groups/{'0' * 32}", headers=accept, expect=404)
    await a.call("GET", "/groups/nope", headers=accept, expect=404)


async def test_webfinger_answers_for_public_groups_only(make_pod) -> None:
    a = await make_pod()
    alice = await a.register("alice")
    public = await make_space(a, alice, displayName="Gardeners")
    private = await make_space(a, alice, displayName="Secret Garden", visibility="private")
    async with a.http.get(
        f"{a.url}/.well-known/webfinger", params={"resource": f"acct:{public['handle']}"}
    ) as resp:
        assert resp.status == 200
        jrd = await resp.json(content_type=None)
    assert jrd["aliases"] == [public["uri"]]
    assert {link["href"] for link in jrd["links"]} == {public["uri"]}
    async with a.http.get(
        f"{a.url}/.well-known/webfinger", params={"resource": f"acct:{private['handle']}"}
    ) as resp:
        assert resp.status == 404


async def _settings(pod: Pod, user: User, space_id: str) -> tuple[str, str, str]:
    _, data = await pod.call("GET", f"/api/v1/spaces/{space_id}", user, expect=200)
    return data["displayName"], data["description"], data["joinMode"]


async def test_a_space_edited_on_its_pod_is_updated_on_its_members_pods(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    space = await make_space(a, alice, displayName="Potters", description="clay")
    on_b = await _joined(b, bob, {"target": space["uri"]})
    assert await _settings(b, bob, on_b["id"]) == ("Potters", "clay", "instant")

    changes = {"displayName": "Potters & Glazers", "description": "clay and glaze",
               "joinMode": "application"}  # fmt: skip
    await a.call("PATCH", f"/api/v1/spaces/{space['id']}", alice, json=changes, expect=200)
    # The Group's Update reaches B, which reads the Group again.
    expected = ("Potters & Glazers", "clay and glaze", "application")
    await wait_for(lambda: _is(_settings(b, bob, on_b["id"]), expected))
    # An edit that changes nothing sends nothing more.
    rows = "SELECT count(*) FROM outbox WHERE activity_type = 'Update'"
    sent = await a.app[DB].fetchval(rows)
    await a.call("PATCH", f"/api/v1/spaces/{space['id']}", alice, json={}, expect=200)
    assert await a.app[DB].fetchval(rows) == sent == 1


async def _delivered(pod: Pod) -> bool:
    """Nothing the pod queued waits to go out any more."""
    waiting = "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running')"
    return not await pod.app[DB].fetchval(waiting)


async def _kinds(pod: Pod, user: User) -> list[str]:
    _, items = await pod.call("GET", "/api/v1/notifications", user, expect=200)
    return [n["kind"] for n in items]


async def test_a_members_only_post_reaches_members_only_whoever_it_names(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice = await a.register("alice")
    bob, erin, carol = await b.register("bob"), await b.register("erin"), await b.register("carol")
    dave = await c.register("dave")
    space = await make_space(a, alice, visibility="private", joinMode="invite")
    invite = await make_invite(a, alice, space["id"], joinModeOverride="instant")
    on_b = await _joined(b, bob, {"target": invite["link"]})
    await _joined(b, erin, {"target": invite["link"]})

    # alice names a member (bob) and two non-members: carol on a member's pod, dave elsewhere.
    text = f"for members, hi @bob@{b.host} @carol@{b.host} @dave@{c.host}"
    secret = await post_in(a, alice, space["id"], text)
    assert secret["visibility"] == "space"
    # The Group brings it to B's members, filed in the space; bob hears he was named.
    await wait_for(lambda: _has_body(b, bob, on_b["id"], text))
    [copy] = await space_posts(b, erin, on_b["id"])
    assert copy["visibility"] == "space" and copy["spaceId"] == on_b["id"]
    assert "mention" in await _kinds(b, bob)
    await wait_for(lambda: _delivered(a))
    # Neither carol nor dave reads it, or hears of it.
    await b.call("GET", f"/api/v1/posts/{copy['id']}", carol, expect=404)
    assert await _kinds(b, carol) == [] and await _kinds(c, dave) == []
    _, main = await c.call("GET", "/api/v1/streams/main", dave, expect=200)
    assert main == []

    # alice answers bob's post in the space: erin, a member on bob's pod, reads the answer too.
    top = await post_in(b, bob, on_b["id"], "bob asks")
    await wait_for(lambda: _has_body(a, alice, space["id"], "bob asks"))
    top_on_a = next(p for p in await space_posts(a, alice, space["id"]) if p["body"] == "bob asks")
    answer = {"body": "alice answers", "inReplyTo": top_on_a["id"]}
    await a.call("POST", "/api/v1/posts", alice, json=answer, expect=201)

    async def comments(user: User) -> list[str]:
        _, items = await b.call("GET", f"/api/v1/posts/{top['id']}/comments", user, expect=200)
        return [p["body"] for p in items]

    await wait_for(lambda: _is(comments(erin), ["alice answers"]))
    assert await comments(bob) == ["alice answers"]
    assert "comment" in await _kinds(b, bob)


async def test_a_space_turned_private_takes_its_posts_on_members_pods_with_it(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice = await a.register("alice")
    bob, carol = await b.register("bob"), await b.register("carol")
    space = await make_space(a, alice)
    on_b = await _joined(b, bob, {"target": space["uri"]})
    await post_in(a, alice, space["id"], "alice in public")
    bobs = await post_in(b, bob, on_b["id"], "bob in public")
    await wait_for(lambda: _has_body(b, bob, on_b["id"], "alice in public"))
    await wait_for(lambda: _has_body(a, alice, space["id"], "bob in public"))
    on_b_posts = await space_posts(b, bob, on_b["id"])
    for p in on_b_posts:
        await b.call("GET", f"/api/v1/posts/{p['id']}", carol, expect=200)

    changes = {"visibility": "private"}
    await a.call("PATCH", f"/api/v1/spaces/{space['id']}", alice, json=changes, expect=200)

    async def private_on_b() -> bool:
        _, data = await b.call("GET", f"/api/v1/spaces/{on_b['id']}", bob, expect=200)
        return data["visibility"] == "private"

    await wait_for(private_on_b)
    # On B, as on A, both posts are members-only now: bob reads them, carol and anyone not.
    assert {p["visibility"] for p in await space_posts(b, bob, on_b["id"])} == {"space"}
    for p in on_b_posts:
        await b.call("GET", f"/api/v1/posts/{p['id']}", bob, expect=200)
        await b.call("GET", f"/api/v1/posts/{p['id']}", carol, expect=404)
    # bob's post is no longer served to anyone who asks its origin.
    origin_path = "/" + bobs["uri"].split("/", 3)[3]
    await b.call("GET", origin_path, headers={"Accept": "application/activity+json"}, expect=404)
    assert {p["visibility"] for p in await space_posts(a, alice, space["id"])} == {"space"}


async def test_a_space_made_private_is_closed_to_those_its_posts_named(make_pod) -> None:
    """A member's post in a public space that names someone outside it is readable by them;
    once the space is private, only its members read it."""
    a, b = await make_pod(), await make_pod()
    alice, carol = await a.register("alice"), await a.register("carol")
    bob = await b.register("bob")
    space = await make_space(a, alice, displayName="Potters")
    on_b = await _joined(b, bob, {"target": space["uri"]})
    await post_in(b, bob, on_b["id"], f"hello @carol@{a.host}")

    async def arrived() -> list[dict[str, Any]]:
        return await space_posts(a, alice, space["id"])

    [post] = await wait_for(arrived)
    await a.call("GET", f"/api/v1/posts/{post['id']}", carol, expect=200)
    await make_private(a, alice, space["id"])
    await a.call("GET", f"/api/v1/posts/{post['id']}", carol, expect=404)
    await a.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)


async def test_following_lists_keep_private_space_memberships_to_themselves(make_pod) -> None:
    """Joining a remote space is following its Group; for a private space, who is a member is
    for its members: bob's following lists (API and ActivityPub) do not show it."""
    a, b = await make_pod(), await make_pod()
    alice, bob, carol = (
        await a.register("alice"),
        await b.register("bob"),
        await b.register("carol"),
    )
    secret = await make_space(a, alice, displayName="Secret", joinMode="invite")
    await make_private(a, alice, secret["id"])
    open_space = await make_space(a, alice, displayName="Open")
    invite = await make_invite(a, alice, secret["id"])
    await _joined(b, bob, {"target": invite["link"]})
    await _joined(b, bob, {"target": open_space["uri"]})
    await b.call("POST", "/api/v1/follows", bob, json={"target": f"alice@{a.host}"}, expect=201)
    await wait_for(lambda: _following_count(b, bob, carol, 2))

    _, listed = await b.call(
        "GET", f"/api/v1/identities/{bob.identity_id}/following", carol, expect=200
    )
    handles = {f["identity"]["handle"] for f in listed}
    assert handles == {f"alice@{a.host}", f"open@{a.host}"}
    as_json = {"Accept": "application/activity+json"}
    _, collection = await b.call("GET", "/users/bob/following", headers=as_json, expect=200)
    assert collection["totalItems"] == 2
    _, page = await b.call("GET", "/users/bob/following?page=first", headers=as_json, expect=200)
    assert secret["uri"] not in page["orderedItems"]
    assert open_space["uri"] in page["orderedItems"]
    # Nor do the Group's followers on bob's pod. The private space's name is not found (its
    # pod's WebFinger does not give it); its Group is looked at by its id on bob's pod.
    await b.call("GET", f"/api/v1/lookup?acct=secret@{a.host}", carol, expect=404)
    secret_id = await b.app[DB].fetchval(
        "SELECT identity_guid FROM remote_actors WHERE uri = ?", (secret["uri"],)
    )
    _, group = await b.call("GET", f"/api/v1/lookup?acct=open@{a.host}", carol, expect=200)
    for group_id, members in ((secret_id, []), (group["id"], [f"bob@{b.host}"])):
        _, listed = await b.call(
            "GET", f"/api/v1/identities/{group_id}/followers", carol, expect=200
        )
        assert [f["identity"]["handle"] for f in listed] == members


async def _following_count(pod: Pod, who: User, viewer: User, count: int) -> bool:
    _, listed = await pod.call(
        "GET", f"/api/v1/identities/{who.identity_id}/following", viewer, expect=200
    )
    return len(listed) == count

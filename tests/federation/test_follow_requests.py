"""Follows with a remote pod that speaks for itself (a hostile pod with real keys): repeated
Follows, answers to our requests, what may be followed at all, and names spelt as other pods
spell them (in handles and mentions)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from federation.routes import FEDERATION
from node.appkeys import DB
from tests.federation.test_hostile import Scene, hostile, keys, scene
from tests.hostile import AS_PUBLIC
from tests.support import wait_for

API = "/api/v1"
__all__ = ["hostile", "keys", "scene"]  # the fixtures this module's tests use


async def _received(scene: Scene, count: int) -> list[dict[str, Any]]:
    """The first `count` activities the hostile pod received, once they have arrived."""

    async def arrived() -> list[dict[str, Any]] | None:
        got = [json.loads(body) for _, body in scene.hostile.received]
        return got[:count] if len(got) >= count else None

    return await wait_for(arrived)


def _object_id(activity: dict[str, Any]) -> str:
    obj = activity["object"]
    return obj if isinstance(obj, str) else obj["id"]


async def test_a_repeated_follow_is_answered_with_its_own_id(scene: Scene) -> None:
    """A pod that lost its state follows again with a new id; the Accept must name that id
    (GoToSocial matches an Accept by it), as Mastodon does."""
    first = scene.hostile.activity("mallory", "Follow", scene.alice_uri)
    await scene.accepted(first)
    again = scene.hostile.activity("mallory", "Follow", scene.alice_uri)
    await scene.accepted(again)
    answers = await _received(scene, 2)
    assert [a["type"] for a in answers] == ["Accept", "Accept"]
    # Sent side by side (several deliveries to one host at once): they arrive in either order.
    assert sorted(_object_id(a) for a in answers) == sorted([first["id"], again["id"]])
    # Still one follow, undone by the id it has now.
    _, followers = await scene.pod.call(
        "GET", f"{API}/identities/current/followers", scene.alice, expect=200
    )
    assert len(followers) == 1
    await scene.accepted(scene.hostile.activity("mallory", "Undo", again["id"]))
    _, followers = await scene.pod.call(
        "GET", f"{API}/identities/current/followers", scene.alice, expect=200
    )
    assert followers == []


async def test_a_repeated_request_to_a_locked_identity_is_approved_by_its_new_id(
    scene: Scene,
) -> None:
    pod, alice = scene.pod, scene.alice
    await pod.call("PATCH", f"{API}/identity/current", alice, json={"locked": True}, expect=200)
    await scene.accepted(scene.hostile.activity("mallory", "Follow", scene.alice_uri))
    again = scene.hostile.activity("mallory", "Follow", scene.alice_uri)
    await scene.accepted(again)
    assert scene.hostile.received == []  # a request is not answered until she decides
    _, requests = await pod.call("GET", f"{API}/follows/requests", alice, expect=200)
    assert len(requests) == 1
    await pod.call("POST", f"{API}/follows/requests/{requests[0]['id']}/approve", alice, expect=200)
    (accept,) = await _received(scene, 1)
    assert accept["type"] == "Accept"
    assert _object_id(accept) == again["id"]


async def test_a_deleted_actor_cannot_be_looked_up_or_followed(scene: Scene) -> None:
    """Once an actor deleted itself, a request to it would wait forever (nothing is delivered
    to it): neither its handle nor its GUID finds it, until its host serves it again."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    handle = hostile.handle("eve")
    _, eve = await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=200)
    key = hostile.keys["eve"]
    await scene.accepted(
        hostile.activity("eve", "Delete", hostile.actor("eve"), to=[AS_PUBLIC]), signer="eve"
    )
    del hostile.keys["eve"]  # her pod answers 404 for her now
    await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=404)
    for target in (handle, eve["id"]):
        await pod.call("POST", f"{API}/follows", alice, json={"target": target}, expect=404)
    _, following = await pod.call("GET", f"{API}/identities/current/following", alice, expect=200)
    _, pending = await pod.call("GET", f"{API}/follows/requests", alice, expect=200)
    assert following == pending == []
    assert await pod.app[DB].fetchval("SELECT count(*) FROM follows") == 0

    # Served again (the name was taken anew, or the deletion undone): she is found again.
    hostile.keys["eve"] = key
    _, found = await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=200)
    assert found["id"] == eve["id"]
    _, out = await pod.call("POST", f"{API}/follows", alice, json={"target": handle}, expect=201)
    assert out["state"] == "pending"


async def test_unlocking_accepts_remote_requests(scene: Scene) -> None:
    pod, alice = scene.pod, scene.alice
    await pod.call("PATCH", f"{API}/identity/current", alice, json={"locked": True}, expect=200)
    follow = scene.hostile.activity("mallory", "Follow", scene.alice_uri)
    await scene.accepted(follow)
    assert scene.hostile.received == []
    await pod.call("PATCH", f"{API}/identity/current", alice, json={"locked": False}, expect=200)
    answers = await _received(scene, 1)
    accept = next(a for a in answers if a["type"] == "Accept")
    assert _object_id(accept) == follow["id"]
    assert await scene.followers() == [scene.hostile.handle("mallory")]


async def test_a_remote_identity_links_to_its_own_actor(scene: Scene) -> None:
    """Not to this pod's /users/{name}, where a local namesake may be."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    namesake = await pod.register("mallory")
    handle = hostile.handle("mallory")
    _, found = await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=200)
    assert found["url"] == hostile.actor("mallory")
    await scene.accepted(scene.follow())
    _, followers = await pod.call("GET", f"{API}/identities/current/followers", alice, expect=200)
    assert [f["identity"]["url"] for f in followers] == [hostile.actor("mallory")]
    _, local = await pod.call("GET", f"{API}/identities/{namesake.identity_id}", alice, expect=200)
    assert local["url"] == f"{pod.url}/users/mallory"


@pytest.mark.parametrize("name", ["john.doe", "jane-doe", "\u00fcber_user", "x" * 64])
async def test_usernames_spelt_as_other_pods_spell_them_are_found_and_followed(
    scene: Scene, name: str
) -> None:
    """Friendica's dots, PeerTube's dashes, other scripts, longer names: ours are ASCII of 30 at
    most, other pods' are not, and their handles are looked up and followed all the same."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    hostile.add_actor(name, hostile.keys["mallory"])
    handle = hostile.handle(name)
    _, found = await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=200)
    assert found["username"] == name
    _, out = await pod.call("POST", f"{API}/follows", alice, json={"target": handle}, expect=201)
    assert out["identity"]["id"] == found["id"]


@pytest.mark.parametrize("name", ["a\u200bb", "a b", "a\u202eb", "x" * 101])
async def test_usernames_that_would_not_show_as_themselves_are_no_handle(
    scene: Scene, name: str
) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    handle = f"{name}@{hostile.host}"
    for method, path, opts in (
        ("GET", f"{API}/lookup", {"params": {"acct": handle}}),
        ("POST", f"{API}/follows", {"json": {"target": handle}}),
    ):
        resp, out = await pod.call(method, path, alice, **opts)
        assert resp.status == 422, out
    assert not [r for r in hostile.requests if "webfinger" in r]


async def test_a_mention_of_a_username_with_dots_and_dashes_reaches_them(scene: Scene) -> None:
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    hostile.add_actor("john.doe-x", hostile.keys["mallory"])
    body = f"hello @john.doe-x@{hostile.host}. and @alice."
    _, post = await pod.call(
        "POST", f"{API}/posts", alice, json={"body": body, "visibility": "direct"}, expect=201
    )
    [create] = await _received(scene, 1)
    mentions = [t["href"] for t in create["object"]["tag"] if t["type"] == "Mention"]
    # The dot after each name ends the sentence, not the name.
    assert sorted(mentions) == sorted([hostile.actor("john.doe-x"), scene.alice_uri])
    assert hostile.actor("john.doe-x") in create["object"]["to"]
    assert f'href="{hostile.actor("john.doe-x")}"' in post["html"]


async def test_following_someone_on_a_domain_blocked_since_is_refused(scene: Scene) -> None:
    """Known from before the block, they can still be found; a request to them would never be
    sent (and would stay pending after an unblock), so it is refused."""
    pod, alice, hostile = scene.pod, scene.alice, scene.hostile
    handle = hostile.handle("mallory")
    _, mallory = await pod.call("GET", f"{API}/lookup", alice, params={"acct": handle}, expect=200)
    blocks = pod.app[FEDERATION].blocks
    blocks.load({hostile.host})  # as `hearth domain block` stores it
    for target in (handle, mallory["id"]):
        resp, out = await pod.call("POST", f"{API}/follows", alice, json={"target": target})
        assert (resp.status, out["error"]) == (403, "domain_blocked"), target
    assert await pod.app[DB].fetchval("SELECT count(*) FROM follows") == 0
    blocks.load(set())
    _, out = await pod.call("POST", f"{API}/follows", alice, json={"target": handle}, expect=201)
    assert out["state"] == "pending"


async def test_a_follower_cannot_decline_the_read_grant_of_its_follow(scene: Scene) -> None:
    """A follow's read grant is the follow's and ends with it (Undo): a Reject or Delete naming
    it from the follower changes nothing and tells the followed no share was declined."""
    pod, hostile = scene.pod, scene.hostile
    follow = hostile.activity("mallory", "Follow", scene.alice_uri)
    await scene.accepted(follow)
    db = pod.app[DB]
    grants = "SELECT count(*) FROM shares WHERE kind = 'follow'"
    assert await db.fetchval(grants) == 1
    for kind in ("Reject", "Delete"):
        status, out = await scene.post(hostile.activity("mallory", kind, f"{follow['id']}#grant"))
        assert status == 403, out
    assert await db.fetchval(grants) == 1
    assert await scene.followers() != []
    _, notices = await pod.call("GET", f"{API}/notifications", scene.alice, expect=200)
    assert "share.declined" not in [n["kind"] for n in notices]

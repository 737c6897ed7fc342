"""A Lemmy instance gives one name to a user and a community both, and its WebFinger answer
names both actors, each self link saying its type: a space is joined with the community, and a
person followed, looked up or mentioned with the user, whatever the order of the links. Both
are held here at once, each under the handle."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import AS_TYPE, HostilePod, new_key
from tests.support import wait_for

TYPE_KEY = "https://www.w3.org/ns/activitystreams#type"


@pytest.fixture(scope="module")
def keys() -> tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]:
    return new_key(), new_key()


@pytest.fixture
async def lemmy(keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    """`rust`, a Person, and `c-rust`, a Group that calls itself `rust` too (as /u/rust and
    /c/rust on Lemmy)."""
    pod = await HostilePod().start()
    pod.add_actor("rust", keys[0])
    pod.add_actor("c-rust", keys[1], type="Group", preferredUsername="rust")
    pod.overrides["rust"]["name"] = "Rust Person"  # `name` is add_actor's own argument
    pod.overrides["c-rust"]["name"] = "Rust Community"
    yield pod
    await pod.close()


def _answer(lemmy: HostilePod, first: str) -> None:
    """WebFinger for rust@host names both actors, `first` ("Person" or "Group") first."""
    links = {
        "Person": {"rel": "self", "type": AS_TYPE, "href": lemmy.actor("rust")},
        "Group": {"rel": "self", "type": AS_TYPE, "href": lemmy.actor("c-rust")},
    }
    for kind, link in links.items():
        link["properties"] = {TYPE_KEY: kind}
    second = "Group" if first == "Person" else "Person"
    profile = {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html"}
    lemmy.jrd_links["rust"] = [
        {**profile, "href": links[first]["href"]},
        links[first],
        {**profile, "href": links[second]["href"]},
        links[second],
    ]


async def _follows_to(lemmy: HostilePod, name: str) -> list[dict]:
    return [
        d for _, b in lemmy.received
        if (d := json.loads(b))["type"] == "Follow" and d["object"] == lemmy.actor(name)
    ]  # fmt: skip


async def test_joining_a_space_by_handle_takes_the_community(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    _answer(lemmy, "Person")  # as Lemmy orders them
    pod = await make_pod()
    alice = await pod.register("alice")
    target = {"target": lemmy.handle("rust")}
    _, data = await pod.call("POST", "/api/v1/spaces/join", alice, json=target, expect=202)
    assert data["space"]["uri"] == lemmy.actor("c-rust")
    assert await wait_for(lambda: _follows_to(lemmy, "c-rust"))
    assert not await _follows_to(lemmy, "rust")


async def test_looking_up_and_following_a_handle_takes_the_person(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    _answer(lemmy, "Group")
    pod = await make_pod()
    alice = await pod.register("alice")
    params = {"acct": lemmy.handle("rust")}
    _, found = await pod.call("GET", "/api/v1/lookup", alice, params=params, expect=200)
    assert found["displayName"] == "Rust Person"

    target = {"target": lemmy.handle("rust")}
    await pod.call("POST", "/api/v1/follows", alice, json=target, expect=201)
    assert await wait_for(lambda: _follows_to(lemmy, "rust"))
    assert not await _follows_to(lemmy, "c-rust")


async def test_mentioning_a_handle_takes_the_person(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    _answer(lemmy, "Group")
    pod = await make_pod()
    alice = await pod.register("alice")
    body = {"body": f"hello @{lemmy.handle('rust')}", "visibility": "public"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    assert lemmy.actor("rust") in post["html"]
    assert lemmy.actor("c-rust") not in post["html"]


@pytest.mark.parametrize("first", ["join", "follow"])
async def test_the_person_and_the_community_are_both_held_whichever_comes_first(
    make_pod: PodFactory, lemmy: HostilePod, first: str
) -> None:
    """The user and the community of one name are two identities here: joining the space
    and following the person by that handle, in either order, each reaches its own actor,
    and a lookup or a mention of the handle is the person's."""
    _answer(lemmy, "Person")
    pod = await make_pod()
    alice = await pod.register("alice")
    target = {"target": lemmy.handle("rust")}
    steps = [
        ("POST", "/api/v1/spaces/join", 202),
        ("POST", "/api/v1/follows", 201),
    ]
    for method, path, status in steps if first == "join" else steps[::-1]:
        await pod.call(method, path, alice, json=target, expect=status)
    assert len(await wait_for(lambda: _follows_to(lemmy, "c-rust"))) == 1
    assert len(await wait_for(lambda: _follows_to(lemmy, "rust"))) == 1

    rows = await pod.app[DB].fetchall(
        "SELECT kind, uri, username FROM identities WHERE domain IS NOT NULL ORDER BY kind"
    )
    assert [tuple(r) for r in rows] == [
        ("group", lemmy.actor("c-rust"), "rust"),
        ("person", lemmy.actor("rust"), "rust"),
    ]
    params = {"acct": lemmy.handle("rust")}
    _, found = await pod.call("GET", "/api/v1/lookup", alice, params=params, expect=200)
    assert found["displayName"] == "Rust Person"
    body = {"body": f"hello @{lemmy.handle('rust')}", "visibility": "public"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    assert lemmy.actor("rust") in post["html"]
    assert lemmy.actor("c-rust") not in post["html"]


async def test_a_mention_reaches_the_person_once_the_community_is_held(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    _answer(lemmy, "Person")
    pod = await make_pod()
    alice = await pod.register("alice")
    target = {"target": lemmy.handle("rust")}
    await pod.call("POST", "/api/v1/spaces/join", alice, json=target, expect=202)
    body = {"body": f"hello @{lemmy.handle('rust')}", "visibility": "public"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    assert lemmy.actor("rust") in post["html"]
    assert lemmy.actor("c-rust") not in post["html"]

    async def creates() -> list[dict]:
        return [
            d for _, b in lemmy.received
            if (d := json.loads(b))["type"] == "Create" and d["object"]["id"] == post["uri"]
        ]  # fmt: skip

    [create] = await wait_for(creates)
    assert lemmy.actor("rust") in create["to"] + create["cc"]
    tags = [t["href"] for t in create["object"]["tag"] if t["type"] == "Mention"]
    assert tags == [lemmy.actor("rust")]


@pytest.mark.parametrize(("held", "signer"), [("c-rust", "rust"), ("rust", "c-rust")])
async def test_an_actor_is_heard_from_while_the_other_of_its_name_is_held(
    make_pod: PodFactory, lemmy: HostilePod, held: str, signer: str
) -> None:
    """Once the community is held (joined by handle), its user's signed activities are taken,
    his actor fetched then is no other actor's handle to refuse; and the other way round."""
    _answer(lemmy, "Person")
    pod = await make_pod()
    alice = await pod.register("alice")
    target = {"target": lemmy.handle("rust")}
    path = "/api/v1/spaces/join" if held == "c-rust" else "/api/v1/follows"
    await pod.call("POST", path, alice, json=target)
    assert await wait_for(lambda: _follows_to(lemmy, held))

    follow = lemmy.activity(signer, "Follow", f"{pod.url}/users/alice")
    status, data = await lemmy.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer=signer)
    assert status == 202, data
    follower = await pod.app[DB].fetchval(
        "SELECT i.uri FROM follows f JOIN identities i ON i.guid = f.follower_guid"
        " WHERE f.followee_guid = ?",
        (alice.identity_id,),
    )
    assert follower == lemmy.actor(signer)
    count = await pod.app[DB].fetchval("SELECT count(*) FROM identities WHERE domain IS NOT NULL")
    assert count == 2


async def test_a_group_mentioned_as_a_person_is_looked_up_once(
    make_pod: PodFactory, keys: tuple[rsa.RSAPrivateKey, rsa.RSAPrivateKey]
) -> None:
    """A group whose WebFinger names it alone (as Guppe's) is mentioned as any person: linked,
    and answered from what is held rather than with a WebFinger at every mention."""
    guppe = await HostilePod().start()
    try:
        guppe.add_actor("cats", keys[1], type="Group")
        pod = await make_pod()
        alice = await pod.register("alice")
        target = {"target": guppe.handle("cats")}
        await pod.call("POST", "/api/v1/spaces/join", alice, json=target, expect=202)
        for _ in range(3):
            body = {"body": f"hello @{guppe.handle('cats')}", "visibility": "public"}
            _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
            assert guppe.actor("cats") in post["html"]
        asked = [r for r in guppe.requests if r.startswith("GET /.well-known/webfinger")]
        assert len(asked) <= 2  # the join's, and the first mention's
    finally:
        await guppe.close()


async def test_an_actor_whose_type_changed_holds_the_handle_of_its_new_kind(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    """A person whose document becomes a Group holds the handle as a group from then on: the
    person its pod now gives that name is taken beside it, not refused as the handle's."""
    _answer(lemmy, "Person")
    pod = await make_pod()
    alice = await pod.register("alice")
    # `c-rust` is a Person at first: followed by handle, WebFinger naming it first.
    lemmy.overrides["c-rust"]["type"] = "Person"
    lemmy.jrd_links["rust"] = [
        {"rel": "self", "type": AS_TYPE, "href": lemmy.actor("c-rust")},
    ]
    target = {"target": lemmy.handle("rust")}
    await pod.call("POST", "/api/v1/follows", alice, json=target, expect=201)
    assert await wait_for(lambda: _follows_to(lemmy, "c-rust"))

    lemmy.overrides["c-rust"]["type"] = "Group"
    _answer(lemmy, "Person")
    update = lemmy.activity("c-rust", "Update", lemmy.actor_doc("c-rust"))
    status, data = await lemmy.post(f"{pod.url}/inbox", update, pod.clock.now(), signer="c-rust")
    assert status == 202, data
    kind = await pod.app[DB].fetchval("SELECT kind FROM identities WHERE domain IS NOT NULL")
    assert kind == "group"

    follow = lemmy.activity("rust", "Follow", f"{pod.url}/users/alice")
    status, data = await lemmy.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="rust")
    assert status == 202, data


@pytest.mark.parametrize("claimed", ["Group", "Person"])
async def test_a_file_of_the_other_kind_cannot_claim_a_known_actors_handle(
    make_pod: PodFactory, lemmy: HostilePod, claimed: str
) -> None:
    """WebFinger names the Person alone for rust@host (as a Mastodon does), or the Group alone
    (`claimed` is the other), and we know it; a file on the host, of the other type, names
    itself `rust`, with its own key. WebFinger does not name it: it is refused, as one of the
    known actor's own type is, rather than stored as the handle's other kind."""
    held = "c-rust" if claimed == "Person" else "rust"
    lemmy.links["rust"] = lemmy.actor(held)
    pod = await make_pod()
    alice = await pod.register("alice")
    kind = "spaces/join" if held == "c-rust" else "follows"
    await pod.call("POST", f"/api/v1/{kind}", alice, json={"target": lemmy.handle("rust")})
    known = await pod.app[DB].fetchval(
        "SELECT count(*) FROM remote_actors WHERE uri = ?", (lemmy.actor(held),)
    )
    assert known == 1

    upload, status = await lemmy.follow_as_file(
        "rust", pod.url, "alice", pod.clock.now(), type=claimed
    )
    assert status == 401
    stored = await pod.app[DB].fetchval(
        "SELECT count(*) FROM remote_actors WHERE uri = ?", (upload,)
    )
    assert stored == 0

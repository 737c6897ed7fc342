"""A Lemmy instance gives one name to a user and a community both, and its WebFinger answer
names both actors, each self link saying its type: a space is joined with the community, and a
person followed, looked up or mentioned with the user, whatever the order of the links."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

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


async def test_a_handle_known_as_the_community_is_never_taken_for_the_person(
    make_pod: PodFactory, lemmy: HostilePod
) -> None:
    """One handle names one identity here: once the community holds it, following or
    mentioning the handle (a person) is refused, not done to the community."""
    _answer(lemmy, "Person")
    pod = await make_pod()
    alice = await pod.register("alice")
    target = {"target": lemmy.handle("rust")}
    await pod.call("POST", "/api/v1/spaces/join", alice, json=target, expect=202)
    assert await wait_for(lambda: _follows_to(lemmy, "c-rust"))

    resp, _ = await pod.call("POST", "/api/v1/follows", alice, json=target)
    assert resp.status == 404
    body = {"body": f"hello @{lemmy.handle('rust')}", "visibility": "public"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    assert lemmy.actor("c-rust") not in post["html"]
    assert len(await _follows_to(lemmy, "c-rust")) == 1  # the join's alone


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

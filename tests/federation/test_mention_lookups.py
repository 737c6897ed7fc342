"""Mentions of handles on other pods are looked up (WebFinger, then the actor) at once, not one
after another: a post naming people on slow pods waits about as long as the slowest."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

import pytest

from node.services.lookups import LOOKUPS_AT_ONCE
from tests.conftest import PodFactory
from tests.hostile import HostilePod, new_key
from tests.support import Pod, User, wait_for

API = "/api/v1"
DELAY = 0.8  # each remote pod's WebFinger answers after this long


@pytest.fixture
async def slow_pods() -> AsyncIterator[list[HostilePod]]:
    """Three remote pods whose WebFinger is slow; ann and amy on the first, ben, cat."""
    pods = [await HostilePod().start() for _ in range(3)]
    key = new_key()
    for host, names in zip(
        pods, (["ann", "amy", "ann2"], ["ben", "ben2"], ["cat", "cat2"]), strict=True
    ):
        host.webfinger_delay = DELAY
        for name in names:
            host.add_actor(name, key)
    yield pods
    for host in pods:
        await host.close()


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def _lookups(host: HostilePod, name: str) -> int:
    """How many WebFinger lookups of `name` on `host` arrived (over any scheme)."""
    asked = f"acct:{name}@{host.host}"
    return sum(
        1
        for r in host.requests
        if r.startswith("GET /.well-known/webfinger?") and unquote(r).endswith(asked)
    )


async def _activities(host: HostilePod, kind: str, post_uri: str) -> list[dict[str, Any]]:
    async def arrived() -> list[dict[str, Any]]:
        found = [json.loads(body) for _, body in host.received]
        return [a for a in found if a.get("type") == kind and a["object"]["id"] == post_uri]

    return await wait_for(arrived)


async def _timed(pod: Pod, method: str, path: str, user: User, **data: str) -> tuple[float, Any]:
    started = time.monotonic()
    _, out = await pod.call(method, path, user, json=data)
    return time.monotonic() - started, out


async def test_mentions_on_slow_pods_are_looked_up_at_once(
    make_pod: PodFactory, slow_pods: list[HostilePod]
) -> None:
    """Five lookups of 0.8 s each (one answered "no such user") took 4 s one after another;
    at once, about one. The post names the same people, in the same order, all the same:
    duplicates looked up once, the unknown one left as text."""
    one, two, three = slow_pods
    pod = await make_pod()
    alice, _bob = await pod.register("alice"), await pod.register("bob")
    body = (
        f"hi @ann@{one.host} @bob @amy@{one.host} @ben@{two.host}, @Ann@{one.host} "
        f"@cat@{three.host} @nobody@{three.host} @BEN@{two.host}"
    )
    took, post = await _timed(pod, "POST", f"{API}/posts", alice, body=body, visibility="direct")
    assert "id" in post, post
    assert took < 3 * DELAY, f"the post took {took:.2f}s"  # one after another: 5 x DELAY
    named = [one.actor("ann"), f"{pod.url}/users/bob", one.actor("amy"), two.actor("ben")]
    named += [one.actor("ann"), three.actor("cat"), two.actor("ben")]
    assert _links(post["html"]) == named
    assert f"@nobody@{three.host}" in post["html"]
    for host, name in [(one, "ann"), (one, "amy"), (two, "ben"), (three, "cat")]:
        assert _lookups(host, name) == 1, (host.host, name)
    expected = {one.actor("ann"), one.actor("amy"), two.actor("ben"), three.actor("cat")}
    for host in slow_pods:
        [create] = await _activities(host, "Create", post["uri"])
        note = create["object"]
        mentioned = {t["href"] for t in note["tag"] if t["type"] == "Mention"}
        assert mentioned == expected | {f"{pod.url}/users/bob"}
        assert expected <= set(note["to"]) | set(note.get("cc", []))

    # An edit naming others looks them up at once too, and reaches them.
    edit = f"now @ann2@{one.host} @ben2@{two.host} @cat2@{three.host} and @ann@{one.host}"
    took, edited = await _timed(pod, "PATCH", f"{API}/posts/{post['id']}", alice, body=edit)
    assert "id" in edited, edited
    assert took < 2.5 * DELAY, f"the edit took {took:.2f}s"  # one after another: 3 x DELAY
    named = [one.actor("ann2"), two.actor("ben2"), three.actor("cat2"), one.actor("ann")]
    assert _links(edited["html"]) == named
    for host, name in [(one, "ann2"), (two, "ben2"), (three, "cat2")]:
        assert _lookups(host, name) == 1, (host.host, name)
        [update] = await _activities(host, "Update", post["uri"])
        assert host.actor(name) in {t["href"] for t in update["object"]["tag"]}


async def test_a_stalled_pod_does_not_hold_up_the_lookups_on_others(
    make_pod: PodFactory, slow_pods: list[HostilePod]
) -> None:
    """Its actor never answers: the post waits for the fetch timeout, then goes out to the
    others with that mention left as text, as before; the others' lookups ran meanwhile."""
    timeout = 1.5
    stalled = await HostilePod().start()
    try:
        stalled.add_actor("stuck", new_key())
        stalled.stalled.add("stuck")
        pod = await make_pod(federation={"fetch_timeout_seconds": timeout})
        alice = await pod.register("alice")
        one, two, three = slow_pods
        body = f"@stuck@{stalled.host} @ann@{one.host} @ben@{two.host} @cat@{three.host}"
        took, post = await _timed(
            pod, "POST", f"{API}/posts", alice, body=body, visibility="direct"
        )
        assert "id" in post, post
        # One after another: the timeout, then 3 x DELAY more (3.9 s).
        assert took < timeout + 2 * DELAY, f"the post took {took:.2f}s"
        assert _links(post["html"]) == [one.actor("ann"), two.actor("ben"), three.actor("cat")]
        assert f"@stuck@{stalled.host}" in post["html"]
        for host in slow_pods:
            await _activities(host, "Create", post["uri"])
        assert not stalled.received
    finally:
        await stalled.close()


async def test_a_post_looks_up_a_few_mentions_at_a_time(make_pod: PodFactory) -> None:
    """Seven people on seven slow pods: five lookups at once, then the other two."""
    delay = 0.5
    hosts = [await HostilePod().start() for _ in range(LOOKUPS_AT_ONCE + 2)]
    try:
        key = new_key()
        for host in hosts:
            host.add_actor("pat", key)
            host.webfinger_delay = delay
        pod = await make_pod()
        alice = await pod.register("alice")
        body = " ".join(f"@pat@{host.host}" for host in hosts)
        took, post = await _timed(pod, "POST", f"{API}/posts", alice, body=body)
        assert _links(post["html"]) == [host.actor("pat") for host in hosts]
        assert took >= 2 * delay, f"the post took {took:.2f}s"
    finally:
        for host in hosts:
            await host.close()


async def test_recipients_on_slow_pods_are_looked_up_at_once(
    make_pod: PodFactory, slow_pods: list[HostilePod]
) -> None:
    """A direct post addressed (not only mentioned) to people on three slow pods waits about
    one lookup, not three; when some cannot be found, the first of them in the list's order is
    the one the error names, as when they were looked up one after another."""
    one, two, three = slow_pods
    pod = await make_pod()
    alice = await pod.register("alice")
    await pod.register("bob")
    recipients = [f"ann@{one.host}", f"ben@{two.host}", f"cat@{three.host}", "bob"]
    started = time.monotonic()
    _, post = await pod.call(
        "POST",
        f"{API}/posts",
        alice,
        expect=201,
        json={"body": "hello", "visibility": "direct", "recipients": recipients},
    )
    took = time.monotonic() - started
    assert took < 2.5 * DELAY, f"the post took {took:.2f}s"  # one after another: 3 x DELAY
    for host, name in [(one, "ann"), (two, "ben"), (three, "cat")]:
        [create] = await _activities(host, "Create", post["uri"])
        assert host.actor(name) in create["to"] + create.get("cc", [])

    _, error = await pod.call(
        "POST",
        f"{API}/posts",
        alice,
        expect=404,
        json={"body": "hi", "visibility": "direct", "recipients": [f"nobody@{one.host}", "ghost"]},
    )
    assert error["message"] == f"Could not find nobody@{one.host}.", error
    _, listed = await pod.call("GET", f"{API}/identities/{alice.identity_id}/posts", alice)
    assert [p["id"] for p in listed] == [post["id"]]

"""Accounts whose handle names another domain than their actor's host (Mastodon's LOCAL_DOMAIN
beside WEB_DOMAIN: `simon@simonwillison.net`, whose actor is on fedi.simonwillison.net).

The actor's host is a HostilePod whose WebFinger gives its actor the handle on the other
domain; the handle's domain is a small app serving WebFinger alone. Such a handle is taken
only where both say so."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import AS_CONTEXT, AS_PUBLIC, AS_TYPE, HostilePod, new_key
from tests.support import wait_for


class HandleDomain:
    """A domain that only serves WebFinger: `actors[name]` is the actor its answer for
    `name@{host}` names (none: 404); with `redirect`, a base URL, it redirects every WebFinger
    request there (as Mastodon's documentation has a LOCAL_DOMAIN do, to its WEB_DOMAIN)."""

    def __init__(self) -> None:
        self.actors: dict[str, str] = {}
        self.redirect: str | None = None
        self.asked: list[str] = []
        app = web.Application()
        app.router.add_get("/.well-known/webfinger", self._webfinger)
        self.server = TestServer(app, host="127.0.0.1")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    async def _webfinger(self, request: web.Request) -> web.Response:
        resource = request.query.get("resource", "")
        self.asked.append(resource)
        if self.redirect is not None:
            raise web.HTTPMovedPermanently(f"{self.redirect}{request.path_qs}")
        name, _, host = resource.removeprefix("acct:").partition("@")
        if host != self.host or name not in self.actors:
            raise web.HTTPNotFound()
        jrd = {
            "subject": f"acct:{name}@{self.host}",
            "links": [{"rel": "self", "type": AS_TYPE, "href": self.actors[name]}],
        }
        return web.json_response(jrd, content_type="application/jrd+json")


@pytest.fixture
async def domain() -> AsyncIterator[HandleDomain]:
    """The handle's domain."""
    site = HandleDomain()
    await site.server.start_server()
    yield site
    await site.server.close()


@pytest.fixture
async def fedi() -> AsyncIterator[HostilePod]:
    """The actor's host, with `simon` and `other`."""
    pod = await HostilePod().start()
    pod.add_actor("simon", new_key())
    pod.add_actor("other", new_key())
    yield pod
    await pod.close()


def _split(domain: HandleDomain, fedi: HostilePod, name: str = "simon") -> None:
    """Both ends say `name@{domain}` is fedi's `name`."""
    domain.actors[name] = fedi.actor(name)
    fedi.subjects[name] = f"{name}@{domain.host}"


async def _lookup(pod: Any, user: Any, acct: str) -> tuple[int, Any]:
    resp, data = await pod.call("GET", "/api/v1/lookup", user, params={"acct": acct})
    return resp.status, data


async def _follows(fedi: HostilePod, name: str) -> list[dict[str, Any]]:
    return [
        d for _, b in fedi.received
        if (d := json.loads(b))["type"] == "Follow" and d["object"] == fedi.actor(name)
    ]  # fmt: skip


async def test_following_a_split_handle_shows_it_and_sends_to_the_actor(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    _split(domain, fedi)
    await _followed_and_found(make_pod, domain, fedi)


async def _followed_and_found(make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod) -> None:
    """simon@{domain} is followed (at fedi) and found by both handles, shown as that one."""
    pod = await make_pod()
    alice = await pod.register("alice")
    handle = f"simon@{domain.host}"
    _, follow = await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": handle}, expect=201
    )
    assert follow["identity"]["handle"] == handle
    assert follow["identity"]["url"] == fedi.actor("simon")
    assert await wait_for(lambda: _follows(fedi, "simon"))  # to the actor's inbox, on its host

    # Its handle in any case; and through the actor's host's own handle, the same identity.
    status, found = await _lookup(pod, alice, f"SIMON@{domain.host}")
    assert (status, found["id"]) == (200, follow["identity"]["id"])
    status, found = await _lookup(pod, alice, fedi.handle("simon"))
    assert (status, found["id"], found["handle"]) == (200, follow["identity"]["id"], handle)


async def test_an_actor_seen_first_by_its_post_takes_its_confirmed_handle(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """A Follow from the actor comes first: WebFinger at its host gives the handle on the other
    domain, which that domain confirms; lookups then find the identity under that handle."""
    _split(domain, fedi)
    pod = await make_pod()
    alice = await pod.register("alice")
    follow = fedi.activity("simon", "Follow", f"{pod.url}/users/alice")
    status, data = await fedi.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="simon")
    assert status == 202, data
    _, followers = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/followers", alice, expect=200
    )
    assert [f["identity"]["handle"] for f in followers] == [f"simon@{domain.host}"]


async def test_the_actor_host_alone_cannot_claim_a_handle_on_another_domain(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """fedi says its `simon` is simon@{domain}; the domain names nobody for it: a lookup of
    that handle finds nothing, and the actor is known under its host's handle only."""
    fedi.subjects["simon"] = f"simon@{domain.host}"
    pod = await make_pod()
    alice = await pod.register("alice")
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 404
    assert fedi.requests == []  # nothing asked of the actor's host, nothing stored

    follow = fedi.activity("simon", "Follow", f"{pod.url}/users/alice")
    status, _ = await fedi.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="simon")
    assert status == 202
    status, found = await _lookup(pod, alice, fedi.handle("simon"))
    assert (status, found["handle"]) == (200, fedi.handle("simon"))
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 404


async def test_a_domain_cannot_claim_another_hosts_actor(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """The domain names fedi's `simon` for simon@{domain}, but fedi gives its actor its own
    handle: refused, and the actor is not even fetched."""
    domain.actors["simon"] = fedi.actor("simon")
    pod = await make_pod()
    alice = await pod.register("alice")
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    resp, _ = await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": f"simon@{domain.host}"}
    )
    assert (status, resp.status) == (404, 404)
    assert fedi.fetches("/users/simon") == 0
    assert fedi.received == []
    status, found = await _lookup(pod, alice, fedi.handle("simon"))
    assert (status, found["handle"]) == (200, fedi.handle("simon"))


async def test_a_confirmation_naming_another_actor_is_refused(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """fedi gives `simon` the handle simon@{domain}, whose WebFinger names another actor."""
    _split(domain, fedi)
    domain.actors["simon"] = fedi.actor("other")
    pod = await make_pod()
    alice = await pod.register("alice")
    status, found = await _lookup(pod, alice, fedi.handle("simon"))
    assert (status, found["handle"]) == (200, fedi.handle("simon"))
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 404
    status, found = await _lookup(pod, alice, fedi.handle("simon"))
    assert (status, found["handle"]) == (200, fedi.handle("simon"))


@pytest.mark.parametrize("blocked", ["actor host", "handle domain"])
async def test_a_blocked_actor_host_or_handle_domain_is_refused(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, blocked: str
) -> None:
    _split(domain, fedi)
    host = fedi.host if blocked == "actor host" else domain.host
    pod = await make_pod(federation={"blocked_domains": [host]})
    alice = await pod.register("alice")
    for handle in (f"simon@{domain.host}", fedi.handle("simon")):
        resp, _ = await pod.call("POST", "/api/v1/follows", alice, json={"target": handle})
        assert resp.status in (403, 404), handle
    follow = fedi.activity("simon", "Follow", f"{pod.url}/users/alice")
    status, _ = await fedi.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="simon")
    assert status in (401, 403)
    assert fedi.received == []
    _, followers = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/followers", alice, expect=200
    )
    assert followers == []


async def _restarted_blocking(make_pod: PodFactory, pod: Any, data_dir: Any, host: str) -> Any:
    """`pod` stopped and started again on its data, with `host` blocked by its config."""
    port, clock = pod.server.port, pod.clock
    await pod.stop()
    return await make_pod(
        data_dir=data_dir, port=port, clock=clock, federation={"blocked_domains": [host]}
    )


async def test_a_handle_domain_blocked_once_known_refuses_a_follow(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> None:
    """Known under its split handle, then its handle's domain blocked: nothing is sent."""
    _split(domain, fedi)
    pod = await make_pod(data_dir=tmp_path / "a")
    alice = await pod.register("alice")
    handle = f"simon@{domain.host}"
    status, _ = await _lookup(pod, alice, handle)
    assert status == 200
    pod = await _restarted_blocking(make_pod, pod, tmp_path / "a", domain.host)
    resp, data = await pod.call("POST", "/api/v1/follows", alice, json={"target": handle})
    assert resp.status == 403, data
    assert fedi.received == []


async def test_a_handle_domain_redirecting_webfinger_to_the_actor_host_is_followed(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """The domain redirects WebFinger to the actor's host, which answers for the handles of
    both (Mastodon with LOCAL_DOMAIN and WEB_DOMAIN, set up as its documentation says)."""
    domain.redirect = fedi.base
    fedi.domains.add(domain.host)
    fedi.subjects["simon"] = f"simon@{domain.host}"
    await _followed_and_found(make_pod, domain, fedi)


async def test_a_webfinger_redirect_to_a_blocked_domain_is_not_followed(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    domain.redirect = fedi.base
    fedi.domains.add(domain.host)
    fedi.subjects["simon"] = f"simon@{domain.host}"
    pod = await make_pod(federation={"blocked_domains": [fedi.host]})
    alice = await pod.register("alice")
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 404
    assert domain.asked and fedi.requests == []


async def test_a_handle_domain_blocked_once_known_refuses_the_accounts_activities(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> None:
    """Followed under its split handle, then its handle's domain blocked: what the account
    sends is refused as a blocked domain's, though its actor's host is not blocked."""
    _split(domain, fedi)
    pod = await make_pod(data_dir=tmp_path / "a")
    alice = await pod.register("alice")
    handle = f"simon@{domain.host}"
    await pod.call("POST", "/api/v1/follows", alice, json={"target": handle}, expect=201)
    pod = await _restarted_blocking(make_pod, pod, tmp_path / "a", domain.host)
    alice_uri = f"{pod.url}/users/alice"
    mention = [{"type": "Mention", "href": alice_uri}]
    note = fedi.note("simon", "still here", [alice_uri], tag=mention)
    create = fedi.activity("simon", "Create", note)
    status, data = await fedi.post(f"{pod.url}/inbox", create, pod.clock.now(), signer="simon")
    assert status == 403, data
    _, posts = await pod.call("GET", "/api/v1/streams/mentions", alice, expect=200)
    assert "still here" not in json.dumps(posts)


async def test_a_follower_whose_handle_domain_is_blocked_is_sent_no_posts(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> None:
    """simon@{domain} followed alice, then his handle's domain was blocked: her posts for her
    followers are not sent to his actor's inbox, though its host is not blocked."""
    _split(domain, fedi)
    pod = await make_pod(data_dir=tmp_path / "a")
    alice = await pod.register("alice")
    follow = fedi.activity("simon", "Follow", f"{pod.url}/users/alice")
    status, _ = await fedi.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="simon")
    assert status == 202
    pod = await _restarted_blocking(make_pod, pod, tmp_path / "a", domain.host)
    for visibility in ("followers", "public"):
        body = {"body": "for my followers", "visibility": visibility}
        await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    rows = await pod.app[DB].fetchall(
        "SELECT d.inbox FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
        " WHERE o.activity_type = 'Create'"
    )
    assert [r[0] for r in rows] == []


async def test_a_file_on_the_actor_host_cannot_take_the_hosts_handle_of_a_split_account(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod
) -> None:
    """simon is known as simon@{domain}; a file on fedi names itself `simon`, with another key.
    fedi's WebFinger gives simon@{fedi} to simon's actor: the file is refused, as it is where
    simon is known under fedi's handle, rather than stored as simon@{fedi}."""
    _split(domain, fedi)
    pod = await make_pod()
    alice = await pod.register("alice")
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 200
    upload, status = await fedi.follow_as_file("simon", pod.url, "alice", pod.clock.now())
    assert status == 401
    row = await pod.app[DB].fetchone("SELECT count(*) FROM remote_actors WHERE uri = ?", (upload,))
    assert row[0] == 0
    _, followers = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/followers", alice, expect=200
    )
    assert followers == []


async def test_a_reshare_of_a_post_by_an_account_whose_handle_domain_is_blocked_is_not_taken(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> None:
    """fedi's `other`, followed by alice, reshares a public post of simon@{domain}, whose handle's
    domain was blocked since simon was first seen: it is not stored, as a post that lives on a
    blocked domain is not."""
    _split(domain, fedi)
    pod, _ = await _known_then_blocked(make_pod, domain, fedi, tmp_path)

    note = fedi.note("simon", "from a blocked handle", [AS_PUBLIC])
    fedi.documents[urlsplit(note["id"]).path] = {"@context": AS_CONTEXT, **note}
    announce = fedi.activity("other", "Announce", note["id"])
    status, data = await fedi.post(f"{pod.url}/inbox", announce, pod.clock.now(), signer="other")
    assert status in (202, 403, 422), data
    row = await pod.app[DB].fetchone("SELECT count(*) FROM posts WHERE ap_id = ?", (note["id"],))
    assert row[0] == 0


async def _known_then_blocked(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> tuple[Any, Any]:
    """A pod whose alice looked simon@{domain} up, then restarted with the domain blocked, and
    alice following fedi's `other`, who accepted."""
    pod = await make_pod(data_dir=tmp_path / "a")
    alice = await pod.register("alice")
    status, _ = await _lookup(pod, alice, f"simon@{domain.host}")
    assert status == 200
    pod = await _restarted_blocking(make_pod, pod, tmp_path / "a", domain.host)
    await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": fedi.handle("other")}, expect=201
    )
    follow = (await wait_for(lambda: _follows(fedi, "other")))[0]
    accept = fedi.activity("other", "Accept", follow)
    status, _ = await fedi.post(f"{pod.url}/inbox", accept, pod.clock.now(), signer="other")
    assert status == 202
    return pod, alice


async def test_a_move_to_an_account_whose_handle_domain_is_blocked_is_not_followed(
    make_pod: PodFactory, domain: HandleDomain, fedi: HostilePod, tmp_path: Any
) -> None:
    """alice follows fedi's `other`, who moves to simon@{domain} (whose document names it), known
    before his handle's domain was blocked: alice does not ask to follow him, as she could
    not by hand, and as a move to an actor on a blocked domain is not followed."""
    _split(domain, fedi)
    fedi.overrides["simon"]["alsoKnownAs"] = [fedi.actor("other")]
    pod, alice = await _known_then_blocked(make_pod, domain, fedi, tmp_path)

    move = fedi.activity("other", "Move", fedi.actor("other"), target=fedi.actor("simon"))
    status, _ = await fedi.post(f"{pod.url}/inbox", move, pod.clock.now(), signer="other")
    assert status in (202, 403, 422)
    rows = await pod.app[DB].fetchall(
        "SELECT b.username FROM follows f JOIN identities b ON b.guid = f.followee_guid"
    )
    assert [r[0] for r in rows] == ["other"]
    resp, _ = await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": f"simon@{domain.host}"}
    )
    assert resp.status == 403

"""WebFinger and host-meta: the pure resource parser, then the routes of real pods."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest

from federation.webfinger import MalformedResource, jrd, parse_resource
from tests.conftest import PodFactory
from tests.support import Pod, free_port

HOST = "pod.example:8443"
URL = "https://pod.example:8443"
XRD_NS = "{http://docs.oasis-open.org/ns/xri/xrd-1.0}"


@pytest.mark.parametrize(
    ("resource", "username"),
    [
        ("acct:alice@pod.example:8443", "alice"),
        ("alice@pod.example:8443", "alice"),
        ("ACCT:Alice@POD.example:8443", "Alice"),
        ("  acct:alice@pod.example:8443 ", "alice"),
        ("https://pod.example:8443/users/alice", "alice"),
        ("HTTPS://POD.EXAMPLE:8443/users/bob_2", "bob_2"),
        # The instance actor is named after the host, port and all.
        ("acct:pod.example:8443@pod.example:8443", "pod.example:8443"),
        ("acct:POD.example:8443@pod.example:8443", "POD.example:8443"),
    ],
)
def test_parse_local_resources(resource: str, username: str) -> None:
    assert parse_resource(resource, HOST, URL) == username


@pytest.mark.parametrize(
    "resource",
    [
        "acct:alice@other.example",
        "acct:alice@pod.example",  # same name, other port: another authority
        "acct:alice@pod.example:8444",
        "acct:pod.example:8443@other.example",
        "http://pod.example:8443/users/alice",  # other scheme, other origin
        "https://other.example/users/alice",
        "https://pod.example:8443/@alice",
        "https://pod.example:8443/users/alice/",
        "https://pod.example:8443/users/alice?x=1",
        "https://pod.example:8443/users/alice#main-key",
    ],
)
def test_parse_resources_that_are_not_ours(resource: str) -> None:
    assert parse_resource(resource, HOST, URL) is None


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "   ",
        "alice",
        "acct:alice",
        "acct:@pod.example:8443",
        "acct:alice@",
        "acct:alice@bob@pod.example:8443",
        "@alice@pod.example:8443",
        "acct:al ice@pod.example:8443",
        "acct:al<i>ce@pod.example:8443",
        "acct:alice@pod example",
        "acct:alice@pod.example:port",
        "acct:other.example:8443@pod.example:8443",  # a host's name, but not ours
        "mailto:alice@pod.example:8443",
        "acct:" + "a" * 500 + "@pod.example:8443",
        "https://",
        "https://pod.example:99999/users/alice",
        "https://[::1/users/alice",
        "https://pod.example:8443/users/al%20ice",
    ],
)
def test_parse_malformed_resources(resource: str) -> None:
    with pytest.raises(MalformedResource):
        parse_resource(resource, HOST, URL)


def test_jrd_shape() -> None:
    assert jrd("alice", HOST, URL) == {
        "subject": "acct:alice@pod.example:8443",
        "aliases": ["https://pod.example:8443/users/alice"],
        "links": [
            {
                "rel": "self",
                "type": "application/activity+json",
                "href": "https://pod.example:8443/users/alice",
            },
            {
                "rel": "http://webfinger.net/rel/profile-page",
                "type": "text/html",
                "href": "https://pod.example:8443/users/alice",
            },
        ],
    }


async def finger(pod: Pod, resource: str, expect: int) -> Any:
    _, body = await pod.call(
        "GET", f"/.well-known/webfinger?resource={quote(resource, safe='')}", expect=expect
    )
    return body


async def test_acct_resolves(pod: Pod) -> None:
    await pod.register("alice")
    resp, body = await pod.call(
        "GET", f"/.well-known/webfinger?resource=acct:alice@{pod.host}", expect=200
    )
    assert resp.content_type == "application/jrd+json"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    actor = f"{pod.url}/users/alice"
    assert body == {
        "subject": f"acct:alice@{pod.host}",
        "aliases": [actor],
        "links": [
            {"rel": "self", "type": "application/activity+json", "href": actor},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor},
        ],
    }


async def test_case_and_prefix_variants_answer_with_the_canonical_subject(pod: Pod) -> None:
    await pod.register("Alice")
    for resource in (f"alice@{pod.host}", f"acct:ALICE@{pod.host.upper()}"):
        body = await finger(pod, resource, 200)
        assert body["subject"] == f"acct:Alice@{pod.host}"


async def test_actor_url_resolves(pod: Pod) -> None:
    await pod.register("alice")
    body = await finger(pod, f"{pod.url}/users/alice", 200)
    assert body["subject"] == f"acct:alice@{pod.host}"
    assert body["aliases"] == [f"{pod.url}/users/alice"]


async def test_instance_actor_resolves(pod: Pod) -> None:
    """Mastodon reads `acct:{preferredUsername}@{host}` of every actor whose key it fetches,
    ours included, and wants it to point back at the actor."""
    _, actor = await pod.call("GET", "/actor", expect=200)
    handle = f"{actor['preferredUsername']}@{pod.host}"
    assert handle == f"{pod.host}@{pod.host}"
    body = await finger(pod, f"acct:{handle}", 200)
    assert body["subject"] == f"acct:{handle}"
    assert [link["href"] for link in body["links"] if link["rel"] == "self"] == [actor["id"]]


async def test_a_pod_on_an_idn_host_is_named_in_ascii(make_pod: PodFactory) -> None:
    """Other servers ask WebFinger for `acct:name@xn--…` (a host is IDNA-encoded before it is
    looked up, ours too when a handle is read): a public URL in another script, or with a
    trailing dot or upper case, is the same host, named in that one form in handles and ids."""
    port = free_port()
    pod = await make_pod(port=port, server={"public_url": f"http://Bücher.test.:{port}"})
    host = f"xn--bcher-kva.test:{port}"
    assert (pod.host, pod.url) == (host, f"http://{host}")
    wire = f"http://127.0.0.1:{port}"  # the name resolves nowhere; the server is here
    query = {"resource": f"acct:{host}@{host}"}
    async with pod.http.get(f"{wire}/.well-known/webfinger", params=query) as resp:
        assert resp.status == 200
        body = await resp.json(content_type=None)
    assert body["subject"] == f"acct:{host}@{host}"
    async with pod.http.get(f"{wire}/actor", headers={"Accept": "application/activity+json"}) as r:
        actor = await r.json(content_type=None)
    assert (actor["id"], actor["preferredUsername"]) == (f"http://{host}/actor", host)
    assert [link["href"] for link in body["links"] if link["rel"] == "self"] == [actor["id"]]


async def test_our_host_with_its_default_port_is_ours(make_pod: PodFactory) -> None:
    """`alice@hearth.test:443` is alice of a pod at https://hearth.test: a lookup, a follow or
    a mention finds her here, rather than asking WebFinger of a host by that name."""
    port = free_port()
    pod = await make_pod(port=port, server={"public_url": "https://hearth.test"})
    # The pod as its clients reach it here: its public name resolves nowhere.
    server = pod.config.server.model_copy(update={"public_url": f"http://127.0.0.1:{port}"})
    wire = replace(pod, config=pod.config.model_copy(update={"server": server}))
    alice, bob = await wire.register("alice"), await wire.register("bob")
    for acct in ("alice@hearth.test:443", "@Alice@HEARTH.test:443", "alice@hearth.test:80"):
        _, found = await wire.call("GET", f"/api/v1/lookup?acct={quote(acct)}", bob, expect=200)
        assert found["id"] == alice.identity_id
    _, follow = await wire.call(
        "POST", "/api/v1/follows", bob, json={"target": "alice@hearth.test:443"}, expect=201
    )
    assert follow["identity"]["id"] == alice.identity_id
    _, post = await wire.call(
        "POST", "/api/v1/posts", bob,
        json={"body": "hi @alice@hearth.test:443", "visibility": "direct"}, expect=201,
    )  # fmt: skip
    await wire.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)


async def test_public_spaces_resolve_to_their_group_and_private_ones_to_nothing(
    pod: Pod,
) -> None:
    """Identities come first in the namespace the names share; a private space's name tells
    nobody that it exists."""
    alice = await pod.register("alice")
    groups = {}
    for name, visibility in (("garden", "public"), ("hidden", "private")):
        _, space = await pod.call(
            "POST", "/api/v1/spaces", alice,
            json={"displayName": name.title(), "name": name, "visibility": visibility},
            expect=201,
        )  # fmt: skip
        groups[name] = space["uri"]
    body = await finger(pod, f"acct:garden@{pod.host}", 200)
    assert body["subject"] == f"acct:garden@{pod.host}"
    assert [link["href"] for link in body["links"] if link["rel"] == "self"] == [groups["garden"]]
    await finger(pod, f"acct:hidden@{pod.host}", 404)
    assert (await finger(pod, f"acct:alice@{pod.host}", 200))["aliases"] == [
        f"{pod.url}/users/alice"
    ]


async def test_rel_narrows_links(pod: Pod) -> None:
    await pod.register("alice")
    _, body = await pod.call(
        "GET",
        f"/.well-known/webfinger?resource=acct:alice@{pod.host}&rel=self",
        expect=200,
    )
    assert [link["rel"] for link in body["links"]] == ["self"]
    assert body["subject"] == f"acct:alice@{pod.host}"


async def test_unknown_user_and_foreign_host_are_404(pod: Pod) -> None:
    await pod.register("alice")
    for resource in (
        f"acct:nobody@{pod.host}",
        f"{pod.url}/users/nobody",
        "acct:alice@elsewhere.example",
        "https://elsewhere.example/users/alice",
        f"acct:{'x' * 40}@{pod.host}",  # well formed, but no local name is that long
    ):
        body = await finger(pod, resource, 404)
        assert body["error"] == "not_found"


@pytest.mark.parametrize(
    "resource",
    ["", "alice", "acct:alice", "acct:al ice@h", "acct:a@b@c", "x" * 501, "acct:<b>@h"],
)
async def test_malformed_resource_is_400(pod: Pod, resource: str) -> None:
    body = await finger(pod, resource, 400)
    assert body["error"] == "invalid_resource"
    assert body["code"] == 400


async def test_missing_or_repeated_resource_is_400(pod: Pod) -> None:
    await pod.register("alice")
    await pod.call("GET", "/.well-known/webfinger", expect=400)
    acct = f"acct:alice@{pod.host}"
    await pod.call("GET", f"/.well-known/webfinger?resource={acct}&resource={acct}", expect=400)


async def test_host_meta_xml(pod: Pod) -> None:
    resp, _ = await pod.call("GET", "/.well-known/host-meta", expect=200)
    assert resp.content_type == "application/xrd+xml"
    async with pod.http.get(f"{pod.url}/.well-known/host-meta") as again:
        root = ElementTree.fromstring(await again.read())
    assert root.tag == f"{XRD_NS}XRD"
    links = root.findall(f"{XRD_NS}Link")
    assert [(link.get("rel"), link.get("template")) for link in links] == [
        ("lrdd", f"{pod.url}/.well-known/webfinger?resource={{uri}}")
    ]


async def test_host_meta_json(pod: Pod) -> None:
    resp, body = await pod.call("GET", "/.well-known/host-meta.json", expect=200)
    assert resp.content_type == "application/jrd+json"
    assert body == {
        "links": [{"rel": "lrdd", "template": f"{pod.url}/.well-known/webfinger?resource={{uri}}"}]
    }


async def test_two_pods_answer_only_for_their_own_users(make_pod: PodFactory) -> None:
    one = await make_pod()
    two = await make_pod()
    await one.register("alice")
    await two.register("bob")

    assert (await finger(one, f"acct:alice@{one.host}", 200))["subject"] == (
        f"acct:alice@{one.host}"
    )
    assert (await finger(two, f"acct:bob@{two.host}", 200))["subject"] == (f"acct:bob@{two.host}")
    # Each pod refuses the other's handles and actor URLs, and its own host for the other's user.
    await finger(one, f"acct:bob@{two.host}", 404)
    await finger(two, f"acct:alice@{one.host}", 404)
    await finger(one, f"{two.url}/users/bob", 404)
    await finger(two, f"{one.url}/users/alice", 404)
    await finger(one, f"acct:bob@{one.host}", 404)
    await finger(two, f"acct:alice@{two.host}", 404)

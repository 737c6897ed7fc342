"""What a pod publishes about its people to anyone who asks: actors, their collections and
posts, as other servers read them, and what stays out of them."""

from __future__ import annotations

from typing import Any

import pytest
from pyld import jsonld

from federation.jsonld import _loader as context_loader
from node.store import remote_actors as actor_store
from tests.hostile import HostilePod, sign_cavage
from tests.sharing.helpers import share as share_with
from tests.spaces.support import make_space
from tests.support import Pod

AS_JSON = {"Accept": "application/activity+json"}


async def _get(pod: Pod, url: str) -> tuple[int, Any]:
    async with pod.http.get(url, headers=AS_JSON) as resp:
        return resp.status, await resp.json(content_type=None)


async def _followed_by_mallory(pod: Pod, hostile: HostilePod) -> None:
    follow = hostile.activity("mallory", "Follow", f"{pod.url}/users/alice")
    status, _ = await hostile.post(f"{pod.url}/inbox", follow, pod.clock.now(), signer="mallory")
    assert status == 202


async def _signed_get(pod: Pod, hostile: HostilePod, url: str) -> tuple[int, str | None]:
    """mallory's signed GET of `url`: (status, Cache-Control)."""
    headers = sign_cavage(
        "GET", url, None, hostile.key_id("mallory"), hostile.keys["mallory"], pod.clock.now(),
        covered=("(request-target)", "host", "date"),
    )  # fmt: skip
    async with pod.http.get(url, headers=headers) as resp:
        return resp.status, resp.headers.get("Cache-Control")


async def test_what_only_a_signer_may_read_is_kept_from_shared_caches(
    pod: Pod, hostile: HostilePod
) -> None:
    alice = await pod.register("alice")
    await _followed_by_mallory(pod, hostile)
    for visibility, cache in (("followers", "private"), ("public", None)):
        body = {"body": "hi", "visibility": visibility}
        _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
        for url in (post["uri"], f"{post['uri']}/activity"):
            assert await _signed_get(pod, hostile, url) == (200, cache)
    # What alice shares with mallory, too.
    share = await share_with(pod, alice, hostile.handle("mallory"))
    items = f"{pod.url}/shares/{share['id']}/items"
    assert await _signed_get(pod, hostile, items) == (200, "private")


async def test_every_collection_an_actor_names_answers(pod: Pod) -> None:
    """Servers that read an actor (crawlers, Mastodon's account refresh) GET the collections
    it names; each one there is an OrderedCollection at its own id."""
    alice = await pod.register("alice")
    space = await make_space(pod, alice, displayName="Open")
    for actor_url in (f"{pod.url}/users/alice", f"{pod.url}/actor", space["uri"]):
        status, actor = await _get(pod, actor_url)
        assert status == 200
        named = [actor[k] for k in ("outbox", "followers", "following") if k in actor]
        assert "outbox" in actor
        for url in named:
            status, collection = await _get(pod, url)
            assert status == 200, url
            assert (collection["type"], collection["id"]) == ("OrderedCollection", url)


async def test_showing_a_post_never_looks_up_whom_it_would_be_sent_to(
    pod: Pod, hostile: HostilePod, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Serving a post (at its id, as its Create, in an outbox page of forty) never lists the
    inboxes of its author's followers: with thousands of them, every anonymous GET of an
    outbox page would scan them forty times."""
    alice = await pod.register("alice")
    await _followed_by_mallory(pod, hostile)
    lookups: list[str] = []
    real = actor_store.follower_inboxes

    async def follower_inboxes(q: Any, followee_guid: str, *args: Any) -> list[str]:
        lookups.append(followee_guid)
        return await real(q, followee_guid, *args)

    monkeypatch.setattr(actor_store, "follower_inboxes", follower_inboxes)
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    assert lookups == [alice.identity_id]  # sending it does
    for url in (post["uri"], f"{post['uri']}/activity", f"{pod.url}/users/alice/outbox?page=first"):
        status, _ = await _get(pod, url)
        assert status == 200
    assert await _signed_get(pod, hostile, post["uri"]) == (200, None)
    assert lookups == [alice.identity_id]


def _undefined_terms(doc: dict[str, Any]) -> set[str]:
    """The properties and types of `doc` that its own @context leaves undefined: a JSON-LD
    reader (Friendica compacts what it reads) sees them as blank-node names, not as the
    terms Mastodon defines."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key.startswith("_:"):
                    found.add(key[2:])
                if key == "@type":
                    found.update(t[2:] for t in value if t.startswith("_:"))
                walk(value)

    walk(jsonld.expand(doc, {"documentLoader": context_loader}))
    return found


async def test_every_term_a_published_document_uses_is_defined(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    profile = {"locked": True, "discoverable": False,
               "fields": [{"name": "site", "value": "https://alice.example"}]}  # fmt: skip
    await pod.call("PATCH", "/api/v1/identity/current", alice, json=profile, expect=200)
    body = {"body": "hello #garden @bob", "contentWarning": "plants"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    space = await make_space(pod, alice, displayName="Open")
    for url in (
        f"{pod.url}/users/alice",
        f"{pod.url}/actor",
        space["uri"],
        post["uri"],
        f"{post['uri']}/activity",
        f"{pod.url}/users/alice/outbox?page=first",
    ):
        status, doc = await _get(pod, url)
        assert status == 200
        assert _undefined_terms(doc) == set(), url


async def test_a_posts_source_is_its_markdown_and_says_so(pod: Pod) -> None:
    """The body is CommonMark (rendered into `content`): its `source` names that type, so a
    server that reads sources (Pleroma, Akkoma) does not show `**` as written."""
    alice = await pod.register("alice")
    body = {"body": "a **bold** word"}
    _, post = await pod.call("POST", "/api/v1/posts", alice, json=body, expect=201)
    status, note = await _get(pod, post["uri"])
    assert status == 200
    assert "<strong>bold</strong>" in note["content"]
    assert note["source"] == {"content": "a **bold** word", "mediaType": "text/markdown"}

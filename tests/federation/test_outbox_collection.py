"""An identity's outbox: its public posts, newest first, as Create activities whose @context
declares the terms their Notes use."""

from __future__ import annotations

from federation.convert import note_from_as
from federation.jsonld import normalize
from tests.support import Pod

AS_JSON = {"Accept": "application/activity+json"}


async def test_the_outbox_pages_public_posts_with_the_terms_they_use(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    for fields in (
        {"body": "plain"},
        {"body": "the twist", "contentWarning": "spoilers"},
        {"body": "for followers", "visibility": "followers"},
        {"body": "for bob", "visibility": "direct", "recipients": ["bob"]},
    ):
        await pod.call("POST", "/api/v1/posts", alice, json=fields, expect=201)
    async with pod.http.get(f"{pod.url}/users/alice/outbox", headers=AS_JSON) as resp:
        outbox = await resp.json(content_type=None)
    assert (outbox["type"], outbox["totalItems"]) == ("OrderedCollection", 2)
    async with pod.http.get(outbox["first"], headers=AS_JSON) as resp:
        page = await resp.json(content_type=None)
    assert page["type"] == "OrderedCollectionPage" and page["partOf"] == outbox["id"]
    notes = [item["object"] for item in page["orderedItems"]]
    assert [n["content"] for n in notes] == ["<p>the twist</p>", "<p>plain</p>"]
    assert {"sensitive": "as:sensitive"} in page["@context"]
    # Read back as another pod reads it: the warning and the flag come through.
    read = note_from_as(normalize(page)["orderedItems"][0]["object"])
    assert (read.summary_html, read.sensitive) == ("spoilers", True)

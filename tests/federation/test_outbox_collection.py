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


async def test_an_outbox_items_id_is_its_create_and_a_deleted_post_is_gone(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")  # the private post's recipient
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    _, private = await pod.call(
        "POST", "/api/v1/posts", alice, json={"body": "psst", "visibility": "direct",
                                             "recipients": ["bob"]}, expect=201,
    )  # fmt: skip
    async with pod.http.get(f"{pod.url}/users/alice/outbox?page=first", headers=AS_JSON) as resp:
        [item] = (await resp.json(content_type=None))["orderedItems"]
    async with pod.http.get(item["id"], headers=AS_JSON) as resp:
        assert resp.status == 200
        create = await resp.json(content_type=None)
    assert (create["type"], create["id"]) == ("Create", item["id"])
    assert create["object"]["id"] == post["uri"] and create["actor"] == item["actor"]
    # Who may not read the post may not read its Create either.
    for url in (private["uri"], f"{private['uri']}/activity"):
        async with pod.http.get(url, headers=AS_JSON) as resp:
            assert resp.status == 404
    # Deleted: 410 at both, where a post never made is 404.
    await pod.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)
    for url in (post["uri"], f"{post['uri']}/activity"):
        async with pod.http.get(url, headers=AS_JSON) as resp:
            assert resp.status == 410
            assert (await resp.json(content_type=None))["error"] == "gone"
    async with pod.http.get(f"{pod.url}/posts/{'0' * 32}", headers=AS_JSON) as resp:
        assert resp.status == 404

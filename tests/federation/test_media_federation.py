"""Attachments across pods: Images with blurhash, size and alt text; remote bytes never fetched."""

from __future__ import annotations

from typing import Any

from federation.convert import attachments_from_as, note_from_as
from tests.api.test_media_flow import image_bytes, upload
from tests.federation.test_flows import follow_accepted, stream
from tests.support import wait_for


async def test_post_with_an_image_reaches_another_pod(make_pod: Any) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(a, alice, f"bob@{b.host}")

    picture = await upload(b, bob, image_bytes("PNG", (80, 60)))
    await b.call(
        "PATCH", f"/api/v1/media/{picture['id']}", bob, json={"description": "A red sunset"},
        expect=200,
    )  # fmt: skip
    _, post = await b.call(
        "POST", "/api/v1/posts", bob, json={"body": "sunset", "attachmentIds": [picture["id"]]},
        expect=201,
    )  # fmt: skip

    async def arrived() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    remote = (await wait_for(arrived))[0]
    assert remote["local"] is False
    [attachment] = remote["attachments"]
    assert attachment == {
        "id": None,  # not media of this pod
        "type": "Image",
        "contentType": "image/png",
        "url": picture["publicDownloadUrl"],  # on pod B: shown by its URL
        "width": 80,
        "height": 60,
        "blurHash": picture["blurHash"],
        "description": "A red sunset",
    }
    # Pod A stored the description of the picture, never its bytes.
    stored = [p for p in a.config.media_path.rglob("*") if p.is_file()]
    assert stored == []

    # An edit carries the attachments again; they stay.
    await b.call("PATCH", f"/api/v1/posts/{post['id']}", bob, json={"body": "sunset!"}, expect=200)

    async def edited() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["body"] == "sunset!"]

    assert (await wait_for(edited))[0]["attachments"] == [attachment]


async def test_media_changes_reach_the_pods_that_show_it(make_pod: Any) -> None:
    """A new description, or deleting the picture, is sent as an Update of every post that
    shows it and of the profile wearing it, so other pods stop showing what is gone."""
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(a, alice, f"bob@{b.host}")
    picture = await upload(b, bob, image_bytes("PNG", (80, 60)))
    kept = await upload(b, bob, image_bytes("PNG", (20, 20)))
    _, post = await b.call(
        "POST", "/api/v1/posts", bob,
        json={"body": "two", "attachmentIds": [picture["id"], kept["id"]]}, expect=201,
    )  # fmt: skip
    await b.call(
        "PATCH", "/api/v1/identity/current", bob, json={"avatarId": picture["id"]}, expect=200
    )

    async def remote_post() -> dict[str, Any] | None:
        return next((p for p in await stream(a, alice) if p["uri"] == post["uri"]), None)

    async def remote_bob() -> dict[str, Any]:
        _, found = await a.call("GET", f"/api/v1/lookup?acct=bob@{b.host}", alice, expect=200)
        return found

    async def descriptions() -> list[str] | None:
        found = await remote_post()
        return [x["description"] for x in found["attachments"]] if found else None

    assert await wait_for(descriptions) == ["", ""]

    async def avatar() -> str | None:
        return (await remote_bob())["avatarUrl"]

    assert await wait_for(avatar)

    await b.call(
        "PATCH", f"/api/v1/media/{picture['id']}", bob, json={"description": "A red sunset"},
        expect=200,
    )  # fmt: skip
    assert await wait_for(lambda: _changed(descriptions, ["", ""])) == ["A red sunset", ""]

    await b.call("DELETE", f"/api/v1/media/{picture['id']}", bob, expect=204)

    async def urls() -> list[str] | None:
        found = await remote_post()
        return [x["url"] for x in found["attachments"]] if found else None

    assert await wait_for(lambda: _changed(urls, None, lambda u: len(u) == 1)) == [
        kept["publicDownloadUrl"]
    ]

    async def avatar_gone() -> bool:
        return (await remote_bob())["avatarUrl"] is None

    assert await wait_for(avatar_gone)
    # On pod B the post is marked edited, as its copies are.
    _, mine = await b.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)
    assert mine["updatedAt"] > mine["createdAt"]
    assert [x["url"] for x in mine["attachments"]] == [kept["publicDownloadUrl"]]


async def _changed(read: Any, old: Any, done: Any = None) -> Any:
    """What `read()` gives once it differs from `old` (and passes `done`), else None."""
    value = await read()
    if value is None or value == old or (done is not None and not done(value)):
        return None
    return value


async def test_comment_with_an_image_reaches_the_posts_author(make_pod: Any) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(a, alice, f"bob@{b.host}")
    _, post = await b.call("POST", "/api/v1/posts", bob, json={"body": "q?"}, expect=201)

    async def copy() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    remote = (await wait_for(copy))[0]
    picture = await upload(a, alice, image_bytes("JPEG", (30, 40)), "image/jpeg", "a.jpg")
    await a.call(
        "POST", "/api/v1/posts", alice,
        json={"body": "answer", "inReplyTo": remote["id"], "attachmentIds": [picture["id"]]},
        expect=201,
    )  # fmt: skip

    _, found = await b.call("GET", f"/api/v1/lookup?acct=alice@{a.host}", bob, expect=200)

    async def comment() -> list[dict[str, Any]]:
        _, items = await b.call("GET", f"/api/v1/identities/{found['id']}/posts", bob)
        return items if isinstance(items, list) else []

    reply = (await wait_for(comment))[0]
    assert reply["attachments"][0]["url"] == picture["publicDownloadUrl"]
    assert (reply["attachments"][0]["width"], reply["attachments"][0]["height"]) == (30, 40)


def test_remote_attachments_are_checked_not_trusted() -> None:
    items = attachments_from_as(
        [
            {"type": "Image", "url": "javascript:alert(1)", "mediaType": "image/png"},
            {"type": "Image"},  # no URL
            {"type": "Hashtag", "href": "https://x.example/tags/a"},  # not an attachment
            "https://x.example/bare-string",
            {
                "type": "Document",
                "url": [
                    {"type": "Link", "href": "https://x.example/a.webp", "mediaType": "image/webp"}
                ],
                "width": 10**9,
                "height": True,
                "blurhash": "<script>",
                "name": "n" * 5000,
            },
            {
                "type": "Image",
                "mediaType": "image/jpeg",
                "url": "https://x.example/b.jpg",
                "width": 640,
                "height": 480,
                "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                "name": "alt",
            },
        ]
    )
    assert [i.url for i in items] == ["https://x.example/a.webp", "https://x.example/b.jpg"]
    odd, good = items
    assert (odd.kind, odd.media_type, odd.width, odd.height, odd.blurhash) == (
        "Document",
        "image/webp",
        None,
        None,
        None,
    )
    assert len(odd.name) == 1500
    assert (good.width, good.height, good.blurhash, good.name) == (
        640,
        480,
        "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        "alt",
    )
    many = [{"type": "Image", "url": f"https://x.example/{i}.png"} for i in range(50)]
    assert len(attachments_from_as(many)) == 8
    note = note_from_as(
        {
            "type": "Note",
            "id": "https://x.example/n/1",
            "attributedTo": "https://x.example/u/a",
            "content": "hi",
            "attachment": {"type": "Image", "url": "https://x.example/c.gif"},
        }
    )
    assert [a.media_type for a in note.attachments] == ["application/octet-stream"]

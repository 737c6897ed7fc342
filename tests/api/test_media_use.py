"""Media in use: attachments on posts and comments, avatars, alt text; only your own ready media."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.api.test_media_flow import announce, image_bytes, put, upload
from tests.api.test_sessions import app_token
from tests.support import Pod, User


async def post(pod: Pod, user: User, expect: int = 201, **body: Any) -> dict[str, Any]:
    _, data = await pod.call("POST", "/api/v1/posts", user, json=body, expect=expect)
    return data


async def test_post_with_attachments(pod: Pod) -> None:
    alice = await pod.register("alice")
    first = await upload(pod, alice, image_bytes(size=(64, 48)))
    second = await upload(pod, alice, image_bytes("JPEG", (20, 30)), "image/jpeg", "b.jpg")
    await pod.call(
        "PATCH", f"/api/v1/media/{first['id']}", alice, json={"description": "A red field"},
        expect=200,
    )  # fmt: skip
    created = await post(pod, alice, body="look", attachmentIds=[second["id"], first["id"]])
    assert [a["id"] for a in created["attachments"]] == [second["id"], first["id"]]
    a = created["attachments"][1]
    assert a == {
        "id": first["id"],
        "type": "Image",
        "contentType": "image/png",
        "url": first["publicDownloadUrl"],
        "width": 64,
        "height": 48,
        "blurHash": first["blurHash"],
        "description": "A red field",
    }
    _, again = await pod.call("GET", f"/api/v1/posts/{created['id']}", alice, expect=200)
    assert again["attachments"] == created["attachments"]
    # A later change of the alt text shows on the post.
    await pod.call(
        "PATCH", f"/api/v1/media/{second['id']}", alice, json={"description": "tall"}, expect=200
    )
    _, again = await pod.call("GET", f"/api/v1/posts/{created['id']}", alice, expect=200)
    assert again["attachments"][0]["description"] == "tall"
    # A picture alone is a post; nothing at all is not.
    alone = await post(pod, alice, body="", attachmentIds=[first["id"]])
    assert alone["attachments"][0]["id"] == first["id"]
    err = await post(pod, alice, expect=422, body="  ")
    assert "body" in err["fields"]
    plain = await post(pod, alice, body="no pictures")
    assert plain["attachments"] == []


async def test_comments_take_attachments(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    parent = await post(pod, alice, body="show me")
    picture = await upload(pod, bob)
    comment = await post(
        pod, bob, body="here", inReplyTo=parent["id"], attachmentIds=[picture["id"]]
    )
    assert comment["inReplyTo"] == parent["id"]
    assert comment["attachments"][0]["url"] == picture["publicDownloadUrl"]


async def test_only_own_ready_media_can_be_attached(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    bobs = await upload(pod, bob)
    err = await post(pod, alice, expect=422, body="mine?", attachmentIds=[bobs["id"]])
    assert err["error"] == "validation_failed"
    message = err["fields"]["attachmentIds"]
    assert "no such media" in message and "ready" not in message  # as if it did not exist
    err = await post(pod, alice, expect=422, body="x", attachmentIds=["0" * 32])
    assert err["fields"]["attachmentIds"] == message.replace(bobs["id"], "0" * 32)
    pending = await announce(pod, alice)
    err = await post(pod, alice, expect=422, body="x", attachmentIds=[pending["media"]["id"]])
    assert "not ready (pending)" in err["fields"]["attachmentIds"]
    mine = await upload(pod, alice)
    err = await post(pod, alice, expect=422, body="x", attachmentIds=[mine["id"], mine["id"]])
    assert "twice" in err["fields"]["attachmentIds"]
    five = [mine["id"]] * 5
    await post(pod, alice, expect=422, body="x", attachmentIds=five)
    await post(pod, alice, expect=422, body="x", attachmentIds=["not-a-guid"])
    _, posts = await pod.call("GET", "/api/v1/identities/current/posts", alice, expect=200)
    assert posts == []  # nothing was half-created


async def test_deleting_media_removes_it_from_posts(pod: Pod) -> None:
    alice = await pod.register("alice")
    item = await upload(pod, alice)
    created = await post(pod, alice, body="soon gone", attachmentIds=[item["id"]])
    await pod.call("DELETE", f"/api/v1/media/{item['id']}", alice, expect=204)
    _, again = await pod.call("GET", f"/api/v1/posts/{created['id']}", alice, expect=200)
    assert again["attachments"] == []
    async with pod.http.get(item["publicDownloadUrl"]) as got:
        assert got.status == 404


async def test_media_of_posts_that_are_not_public_needs_private_modify(pod: Pod) -> None:
    """Alt text and removal change the posts showing the media, so they need what changing
    those posts needs."""
    alice, _ = await pod.register("alice"), await pod.register("bob")
    hidden = [await upload(pod, alice, image_bytes(color=(i, 2, 3))) for i in range(2)]
    shown = await upload(pod, alice, image_bytes(color=(4, 5, 6)))
    loose = await upload(pod, alice, image_bytes(color=(7, 8, 9)))
    direct = await post(pod, alice, body="for @bob", visibility="direct",
                        attachmentIds=[hidden[0]["id"]])  # fmt: skip
    followers = await post(pod, alice, body="friends", visibility="followers",
                           attachmentIds=[hidden[1]["id"]])  # fmt: skip
    await post(pod, alice, body="everyone", attachmentIds=[shown["id"]])
    token, _ = await app_token(pod, alice, {"media"})
    app = replace(alice, token=token)
    for item in hidden:
        for method, kw in (("PATCH", {"json": {"description": "changed"}}), ("DELETE", {})):
            _, err = await pod.call(method, f"/api/v1/media/{item['id']}", app, expect=403, **kw)
            assert err["error"] == "insufficient_scope" and "private:modify" in err["message"]
    for created in (direct, followers):
        _, again = await pod.call("GET", f"/api/v1/posts/{created['id']}", alice, expect=200)
        assert again["attachments"] == created["attachments"]  # untouched
    # Media on public posts only, or on none, takes the media scope alone.
    for item in (shown, loose):
        path = f"/api/v1/media/{item['id']}"
        await pod.call("PATCH", path, app, json={"description": "fine"}, expect=200)
        await pod.call("DELETE", path, app, expect=204)
    token, _ = await app_token(pod, alice, {"media", "private:modify"})
    app = replace(alice, token=token)
    await pod.call("PATCH", f"/api/v1/media/{hidden[0]['id']}", app, json={"description": "ok"},
                   expect=200)  # fmt: skip
    await pod.call("DELETE", f"/api/v1/media/{hidden[1]['id']}", app, expect=204)
    _, again = await pod.call("GET", f"/api/v1/posts/{followers['id']}", alice, expect=200)
    assert again["attachments"] == []


async def test_avatar(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["avatarUrl"] is None
    picture = await upload(pod, alice)
    _, me = await pod.call(
        "PATCH", "/api/v1/identity/current", alice, json={"avatarId": picture["id"]}, expect=200
    )
    assert me["avatarUrl"] == picture["publicDownloadUrl"]
    _, seen = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}", bob, expect=200)
    assert seen["avatarUrl"] == picture["publicDownloadUrl"]
    created = await post(pod, alice, body="with a face")
    assert created["author"]["avatarUrl"] == picture["publicDownloadUrl"]
    # Someone else's picture, or one not processed, cannot be an avatar.
    _, err = await pod.call(
        "PATCH", "/api/v1/identity/current", bob, json={"avatarId": picture["id"]}, expect=422
    )
    assert "avatarId" in err["fields"]
    pending = await announce(pod, bob)
    await pod.call(
        "PATCH", "/api/v1/identity/current", bob, json={"avatarId": pending["media"]["id"]},
        expect=422,
    )  # fmt: skip
    # Other profile changes leave it; null removes it.
    _, me = await pod.call("PATCH", "/api/v1/identity/current", alice, json={"bio": "hi"},
                           expect=200)  # fmt: skip
    assert me["avatarUrl"] == picture["publicDownloadUrl"]
    _, me = await pod.call(
        "PATCH", "/api/v1/identity/current", alice, json={"avatarId": None}, expect=200
    )
    assert me["avatarUrl"] is None


async def test_upload_response_is_usable_without_a_token(pod: Pod) -> None:
    """The PUT answers with the media as it stands; the uploader polls GET for the rest."""
    alice = await pod.register("alice")
    ticket = await announce(pod, alice)
    resp, body = await put(pod, ticket, image_bytes())
    assert resp.status == 200
    assert body["id"] == ticket["media"]["id"] and body["filename"] == "photo.png"

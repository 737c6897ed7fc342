"""A remote actor's avatar (its `icon`) shows with its identity and posts, and follows its
Updates; what is not an http(s) URL is not shown."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import HostilePod, new_key
from tests.support import Pod, User


@pytest.fixture
async def hostile() -> AsyncIterator[HostilePod]:
    pod = await HostilePod().start()
    yield pod
    await pod.close()


async def _author(pod: Pod, alice: User, note_id: str) -> dict[str, Any]:
    guid = await pod.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (note_id,))
    _, post = await pod.call("GET", f"/api/v1/posts/{guid}", alice, expect=200)
    _, ident = await pod.call("GET", f"/api/v1/identities/{post['author']['id']}", alice,
                              expect=200)  # fmt: skip
    assert ident["avatarUrl"] == post["author"]["avatarUrl"]
    # Lists keep rendered posts; the author's avatar changing must show in them too.
    _, mentions = await pod.call("GET", "/api/v1/streams/mentions", alice, expect=200)
    assert [p["author"]["avatarUrl"] for p in mentions] == [ident["avatarUrl"]]
    return ident


async def test_remote_avatars_show_and_follow_updates(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod()
    alice = await pod.register("alice")
    alice_uri = f"{pod.url}/users/alice"
    icon = {"type": "Image", "mediaType": "image/png", "url": "https://cdn.example/m.png"}
    hostile.add_actor("mallory", new_key(), icon=icon)

    note = hostile.note(
        "mallory", "hello", [alice_uri], tag=[{"type": "Mention", "href": alice_uri}]
    )
    status, _ = await hostile.post(
        f"{pod.url}/inbox", hostile.activity("mallory", "Create", note), pod.clock.now(),
        signer="mallory",
    )  # fmt: skip
    assert status == 202
    assert (await _author(pod, alice, note["id"]))["avatarUrl"] == "https://cdn.example/m.png"

    async def updated(icon: Any) -> dict[str, Any]:
        hostile.overrides["mallory"]["icon"] = icon
        update = hostile.activity("mallory", "Update", hostile.actor_doc("mallory"))
        status, _ = await hostile.post(
            f"{pod.url}/inbox", update, pod.clock.now(), signer="mallory"
        )
        assert status == 202
        return await _author(pod, alice, note["id"])

    # Several images, the URL as a Link: the first one's href.
    link = {"type": "Link", "href": "https://cdn.example/m2.webp", "mediaType": "image/webp"}
    images = [{"type": "Image", "url": [link]}, {"type": "Image", "url": "https://cdn.example/x"}]
    assert (await updated(images))["avatarUrl"] == "https://cdn.example/m2.webp"
    for junk in ("javascript:alert(1)", {"url": "data:image/png;base64,AAAA"}, 42, None):
        assert (await updated(junk))["avatarUrl"] is None, junk

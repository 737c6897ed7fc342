"""Text that may not be empty may not be made of characters that show nothing either: zero-width
spaces, a byte-order mark, directional marks, the word joiner, controls (NUL among them), or
those mixed with whitespace. Each is refused as an empty value is, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest

from tests.social.helpers import API, get_post, items, post
from tests.support import Pod, Trio, User

INVISIBLE = [
    "\u200b",
    "\ufeff",
    "\u200e\u200f",
    "\u2060",
    "\x00",
    "\x07\x1b",
    " \u200b\t\u2028\u00a0\u3000\u2029\n\u200d ",
    # Letters and marks that show nothing: the Hangul fillers, a variation selector alone,
    # the combining grapheme joiner, the blank Braille pattern.
    "\u3164",
    "\u115f\u1160 \uffa0",
    "\ufe0f\u034f",
    "\u2800",
]


async def refused(pod: Pod, method: str, path: str, user: User, body: dict[str, Any]) -> str:
    """The field the 422 names (exactly one)."""
    resp, err = await pod.call(method, f"{API}{path}", user, json=body)
    assert resp.status == 422, (body, err)
    assert err["error"] == "validation_failed", err
    (field,) = err["fields"]
    return field


@pytest.mark.parametrize("text", INVISIBLE)
async def test_posts_comments_and_edits(trio: Trio, text: str) -> None:
    pod, alice = trio.pod, trio.alice
    assert await refused(pod, "POST", "/posts", alice, {"body": text}) == "body"
    assert await items(pod, alice, f"/identities/{alice.identity_id}/posts") == []

    parent = await post(pod, alice, "a post")
    reply = {"body": text, "inReplyTo": parent["id"]}
    assert await refused(pod, "POST", "/posts", trio.bob, reply) == "body"
    assert (await get_post(pod, alice, parent["id"]))["counts"]["comments"] == 0
    assert await items(pod, alice, f"/posts/{parent['id']}/comments") == []

    patch = {"body": text}
    assert await refused(pod, "PATCH", f"/posts/{parent['id']}", alice, patch) == "body"
    kept = await get_post(pod, alice, parent["id"])
    assert kept["body"] == "a post" and kept["updatedAt"] == parent["updatedAt"]


async def test_visible_text_keeps_its_invisible_characters(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    body = "\u200bhi\u2060 there\u200e"
    out = await post(pod, alice, body)
    assert (await get_post(pod, alice, out["id"]))["body"] == body
    _, edited = await pod.call(
        "PATCH", f"{API}/posts/{out['id']}", alice, json={"body": "\ufeffx"}, expect=200
    )
    assert edited["body"] == "\ufeffx"


@pytest.mark.parametrize("text", INVISIBLE)
async def test_space_names(trio: Trio, text: str) -> None:
    pod, alice = trio.pod, trio.alice
    body = {"displayName": text, "name": "roses"}
    assert await refused(pod, "POST", "/spaces", alice, body) == "displayName"
    assert await items(pod, alice, "/spaces") == []

    _, space = await pod.call(
        "POST", f"{API}/spaces", alice, json={"displayName": "Roses"}, expect=201
    )
    patch = {"displayName": text}
    assert await refused(pod, "PATCH", f"/spaces/{space['id']}", alice, patch) == "displayName"
    assert (await items(pod, alice, f"/spaces/{space['id']}"))["displayName"] == "Roses"


@pytest.mark.parametrize("text", INVISIBLE)
async def test_label_names(trio: Trio, text: str) -> None:
    pod, alice = trio.pod, trio.alice
    assert await refused(pod, "POST", "/labels", alice, {"name": text}) == "name"
    assert await items(pod, alice, "/labels") == []

    _, label = await pod.call("POST", f"{API}/labels", alice, json={"name": "work"}, expect=201)
    assert await refused(pod, "PATCH", f"/labels/{label['id']}", alice, {"name": text}) == "name"
    assert (await items(pod, alice, f"/labels/{label['id']}"))["name"] == "work"


@pytest.mark.parametrize("text", INVISIBLE)
async def test_display_names(trio: Trio, text: str) -> None:
    """A display name may be empty (clients show the username then), not one that shows
    nothing: clients would show its holder as no one."""
    pod, alice = trio.pod, trio.alice
    patch = {"displayName": text}
    assert await refused(pod, "PATCH", "/identity/current", alice, patch) == "displayName"
    _, me = await pod.call("GET", f"{API}/identity/current", alice, expect=200)
    assert me["displayName"] == "alice"
    _, me = await pod.call(
        "PATCH", f"{API}/identity/current", alice, json={"displayName": ""}, expect=200
    )
    assert me["displayName"] == ""

"""Content warnings, as Mastodon has them: a plain-text warning shown in place of the post and a
`sensitive` flag (always set with a warning, or alone for the media), written on create and
edit and shown on every post, alone or in a list (where posts are kept rendered per revision)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from node.appkeys import DB
from tests.social.helpers import API, follow, get_post, items, post
from tests.support import Pod, Trio, User


def warning_of(out: dict[str, Any]) -> tuple[str, bool]:
    return out["contentWarning"], out["sensitive"]


async def listed(pod: Pod, user: User, path: str, guid: str) -> dict[str, Any]:
    (found,) = [p for p in await items(pod, user, path) if p["id"] == guid]
    return found


async def patch(pod: Pod, user: User, guid: str, **fields: Any) -> dict[str, Any]:
    _, out = await pod.call("PATCH", f"{API}/posts/{guid}", user, json=fields, expect=200)
    return out


async def test_a_warning_and_the_flag_show_on_every_post(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    warned = await post(pod, bob, "the ending", contentWarning="  spoilers: film \n")
    flagged = await post(pod, bob, "a picture", sensitive=True)
    plain = await post(pod, bob, "nothing to hide")
    # The warning is kept stripped, and a warning makes the post sensitive.
    assert warning_of(warned) == ("spoilers: film", True)
    assert warning_of(flagged) == ("", True)
    assert warning_of(plain) == ("", False)
    for _ in range(2):  # rendered, then kept
        for path in ("/streams/main", "/identities/current/posts"):
            reader = alice if path == "/streams/main" else bob
            for one in (warned, flagged, plain):
                seen = await listed(pod, reader, path, one["id"])
                assert warning_of(seen) == warning_of(one), path
                assert seen == await get_post(pod, reader, one["id"])
    # A warning of nothing a reader can see is no warning, as an empty one: it does not hide
    # the post behind a blank.
    blank = await post(pod, bob, "in plain view", contentWarning=" \u200b\ufeff\u2060 ")
    assert warning_of(blank) == ("", False)
    edited = await patch(pod, bob, plain["id"], contentWarning="\u200e\x00")
    assert warning_of(edited) == ("", False)
    # The warning is text, never markup.
    odd = await post(pod, bob, "x", contentWarning="<b>bold</b> & co")
    assert odd["contentWarning"] == "<b>bold</b> & co"


async def test_editing_the_warning_shows_in_the_next_read(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    mine = await post(pod, bob, "the ending")
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("", False)

    pod.clock.advance(timedelta(seconds=1))
    out = await patch(pod, bob, mine["id"], contentWarning=" spoilers ")
    assert warning_of(out) == ("spoilers", True)
    assert out["body"] == "the ending" and out["updatedAt"] > mine["updatedAt"]  # an edit
    read = await listed(pod, alice, "/streams/main", mine["id"])
    assert warning_of(read) == ("spoilers", True)
    assert read["updatedAt"] == out["updatedAt"]

    # A new text leaves the warning as it was; `sensitive` false cannot hide a warning's flag.
    assert warning_of(await patch(pod, bob, mine["id"], body="the end")) == ("spoilers", True)
    assert warning_of(await patch(pod, bob, mine["id"], sensitive=False)) == ("spoilers", True)
    # An empty warning takes it off, and the flag with it unless it is given.
    assert warning_of(await patch(pod, bob, mine["id"], contentWarning="")) == ("", False)
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("", False)
    # The flag alone, set and taken off.
    assert warning_of(await patch(pod, bob, mine["id"], sensitive=True)) == ("", True)
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("", True)
    both = await patch(pod, bob, mine["id"], contentWarning="  ", sensitive=True)
    assert warning_of(both) == ("", True)
    assert warning_of(await patch(pod, bob, mine["id"], sensitive=False)) == ("", False)
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("", False)


async def test_a_change_of_the_columns_alone_renders_the_post_again(trio: Trio) -> None:
    """The revision follows the warning and the flag themselves, as it follows the text: a
    write that changes only them (and not `updated_at`) still shows in the next read."""
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await follow(pod, alice, "bob")
    mine = await post(pod, bob, "quiet")
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("", False)
    async with pod.app[DB].transaction() as tx:
        await tx.execute(
            "UPDATE posts SET content_warning = 'loud', sensitive = 1 WHERE guid = ?",
            (mine["id"],),
        )
    assert warning_of(await listed(pod, alice, "/streams/main", mine["id"])) == ("loud", True)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"contentWarning": "w" * 501}, "contentWarning"),
        ({"contentWarning": 5}, "contentWarning"),
        ({"contentWarning": None}, "contentWarning"),
        ({"sensitive": "true"}, "sensitive"),
        ({"sensitive": 1}, "sensitive"),
    ],
)
async def test_bad_warnings_are_refused(trio: Trio, fields: dict[str, Any], field: str) -> None:
    pod, bob = trio.pod, trio.bob
    _, err = await pod.call("POST", f"{API}/posts", bob, json={"body": "hi", **fields}, expect=422)
    assert field in err["fields"], err
    mine = await post(pod, bob, "hi", contentWarning="w" * 500)
    assert len(mine["contentWarning"]) == 500
    if fields.get("contentWarning", "") is not None:  # null leaves it as it is on an edit
        _, err = await pod.call("PATCH", f"{API}/posts/{mine['id']}", bob, json=fields, expect=422)
        assert field in err["fields"], err
    assert warning_of(await get_post(pod, bob, mine["id"])) == ("w" * 500, True)

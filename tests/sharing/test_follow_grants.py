"""Follows are read grants: an accepted follow lets the follower read followers-only posts, and
ending the follow in any way (unfollow, removal, rejection) ends that access. Local pods."""

from __future__ import annotations

from tests.sharing.helpers import SHARING, author_stream, can_read, post, share
from tests.support import Pod, Trio, User


async def _follow(pod: Pod, who: User, target: User, expect: int = 201) -> dict:
    _, out = await pod.call(
        "POST", "/api/v1/follows", who, json={"target": target.username}, expect=expect
    )
    return out


async def _lock(pod: Pod, who: User) -> None:
    _, me = await pod.call(
        "PATCH", "/api/v1/identity/current", who, json={"locked": True}, expect=200
    )
    assert me["locked"] is True


async def _main(pod: Pod, who: User) -> list[str]:
    _, items = await pod.call("GET", "/api/v1/streams/main", who, expect=200)
    return [p["id"] for p in items]


async def test_following_an_open_profile_grants_read_at_once(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    friends = await post(pod, alice, "friends only", "followers")
    hello = await post(pod, alice, "hello", "public")
    to_carol = await post(pod, alice, "for carol", "direct", to=[carol.identity_id])
    assert not await can_read(pod, bob, friends["id"])

    out = await _follow(pod, bob, alice)
    assert out["state"] == "accepted"
    assert await can_read(pod, bob, friends["id"])
    assert not await can_read(pod, bob, to_carol["id"])  # a follow is not addressing
    assert await author_stream(pod, bob, alice) == [hello["id"], friends["id"]]
    assert await _main(pod, bob) == [hello["id"], friends["id"]]
    # Carol does not follow: she reads the public post and what is addressed to her.
    assert await author_stream(pod, carol, alice) == [to_carol["id"], hello["id"]]
    # Read only: the follow grant gives no write or delete.
    path = f"/api/v1/posts/{friends['id']}"
    await pod.call("PATCH", path, bob, json={"body": "edited"}, expect=403)
    await pod.call("DELETE", path, bob, expect=403)
    # New followers-only posts are covered as they come.
    later = await post(pod, alice, "later", "followers")
    assert await can_read(pod, bob, later["id"])
    # A follow grant is not an explicit share: it is not listed under /sharing.
    for who, side in ((alice, "outgoing"), (bob, "incoming")):
        _, listed = await pod.call("GET", f"{SHARING}/{side}", who, expect=200)
        assert listed == []
    # Following again changes nothing.
    await _follow(pod, bob, alice, expect=200)
    assert await can_read(pod, bob, friends["id"])


async def test_unfollow_revokes(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    friends = await post(pod, alice, "friends only")
    await _follow(pod, bob, alice)
    assert await can_read(pod, bob, friends["id"])
    await pod.call("DELETE", f"/api/v1/follows/{alice.identity_id}", bob, expect=204)
    assert not await can_read(pod, bob, friends["id"])
    assert await author_stream(pod, bob, alice) == []
    await pod.call("DELETE", f"/api/v1/follows/{alice.identity_id}", bob, expect=404)
    # Following again grants again.
    await _follow(pod, bob, alice)
    assert await can_read(pod, bob, friends["id"])


async def test_locked_profile_grants_on_approval_and_removal_revokes(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await _lock(pod, alice)
    friends = await post(pod, alice, "friends only")
    request = await _follow(pod, bob, alice)
    assert request["state"] == "pending"
    assert not await can_read(pod, bob, friends["id"])
    assert await author_stream(pod, bob, alice) == []

    _, pending = await pod.call("GET", "/api/v1/follows/requests", alice, expect=200)
    assert [r["id"] for r in pending] == [request["id"]]
    # Only the followee answers.
    await pod.call("POST", f"/api/v1/follows/requests/{request['id']}/approve", bob, expect=404)
    _, answered = await pod.call(
        "POST", f"/api/v1/follows/requests/{request['id']}/approve", alice, expect=200
    )
    assert answered["state"] == "accepted"
    assert await can_read(pod, bob, friends["id"])
    assert await author_stream(pod, bob, alice) == [friends["id"]]

    await pod.call("DELETE", f"/api/v1/followers/{bob.identity_id}", alice, expect=204)
    assert not await can_read(pod, bob, friends["id"])
    assert await author_stream(pod, bob, alice) == []
    _, followers = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/followers", alice, expect=200
    )
    assert followers == []
    await pod.call("DELETE", f"/api/v1/followers/{bob.identity_id}", alice, expect=404)


async def test_rejected_follow_grants_nothing(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await _lock(pod, alice)
    friends = await post(pod, alice, "friends only")
    request = await _follow(pod, bob, alice)
    _, answered = await pod.call(
        "POST", f"/api/v1/follows/requests/{request['id']}/reject", alice, expect=200
    )
    assert answered["state"] == "rejected"
    assert not await can_read(pod, bob, friends["id"])
    # A rejected request cannot be approved afterwards.
    await pod.call("POST", f"/api/v1/follows/requests/{request['id']}/approve", alice, expect=404)
    assert not await can_read(pod, bob, friends["id"])
    # Asking again starts a new request; approving that one grants.
    again = await _follow(pod, bob, alice)
    assert again["state"] == "pending" and again["id"] != request["id"]
    await pod.call("POST", f"/api/v1/follows/requests/{again['id']}/approve", alice, expect=200)
    assert await can_read(pod, bob, friends["id"])


async def test_removing_a_pending_follower_withdraws_the_request(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await _lock(pod, alice)
    friends = await post(pod, alice, "friends only")
    request = await _follow(pod, bob, alice)
    await pod.call("DELETE", f"/api/v1/followers/{bob.identity_id}", alice, expect=204)
    await pod.call("POST", f"/api/v1/follows/requests/{request['id']}/approve", alice, expect=404)
    assert not await can_read(pod, bob, friends["id"])


async def test_follow_and_share_grants_add_up(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    friends = await post(pod, alice, "friends only")
    hers = await post(pod, alice, "for carol", "direct", to=[trio.carol.identity_id])
    await _follow(pod, bob, alice)
    sid = (await share(pod, alice, bob, scope="specific_items", item_ids=[hers["id"]]))["id"]
    assert await can_read(pod, bob, friends["id"]) and await can_read(pod, bob, hers["id"])
    # Ending the explicit share leaves the follow's access, and the other way round.
    await pod.call("DELETE", f"{SHARING}/{sid}", alice, expect=204)
    assert await can_read(pod, bob, friends["id"]) and not await can_read(pod, bob, hers["id"])
    sid = (await share(pod, alice, bob, scope="specific_items", item_ids=[friends["id"]]))["id"]
    await pod.call("DELETE", f"/api/v1/follows/{alice.identity_id}", bob, expect=204)
    assert await can_read(pod, bob, friends["id"])
    await pod.call("DELETE", f"{SHARING}/{sid}", bob, expect=204)
    assert not await can_read(pod, bob, friends["id"])


async def test_a_follow_grant_cannot_be_reshared(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    friends = await post(pod, alice, "friends only")
    await _follow(pod, bob, alice)
    # Bob has no share id for it, and a re-share of nothing of his own is not alice's items.
    await share(pod, bob, carol)
    assert not await can_read(pod, carol, friends["id"])


async def test_unlocking_approves_the_waiting_requests(trio: Trio) -> None:
    """As on Mastodon: once an identity takes followers without asking, nobody answers the
    requests left waiting, so they are approved with the change (and grant as approvals do)."""
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    await _lock(pod, alice)
    friends = await post(pod, alice, "friends only")
    await _follow(pod, bob, alice)
    await _follow(pod, carol, alice)
    # Locking again, or changing anything else, approves nothing.
    await _lock(pod, alice)
    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"bio": "hi"}, expect=200)
    _, pending = await pod.call("GET", "/api/v1/follows/requests", alice, expect=200)
    assert len(pending) == 2
    assert not await can_read(pod, bob, friends["id"])

    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"locked": False}, expect=200)
    _, pending = await pod.call("GET", "/api/v1/follows/requests", alice, expect=200)
    assert pending == []
    _, followers = await pod.call(
        "GET", f"/api/v1/identities/{alice.identity_id}/followers", bob, expect=200
    )
    assert sorted(f["identity"]["id"] for f in followers) == sorted(
        [bob.identity_id, carol.identity_id]
    )
    assert all(f["state"] == "accepted" for f in followers)
    assert await can_read(pod, bob, friends["id"])
    assert await can_read(pod, carol, friends["id"])
    _, told = await pod.call("GET", "/api/v1/notifications", bob, expect=200)
    assert [(n["kind"], n["actor"]["id"]) for n in told] == [("follow.accepted", alice.identity_id)]
    _, told = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert [n["kind"] for n in told] == []  # the requests are answered

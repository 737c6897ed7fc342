"""Two and three pods exchanging follows, posts, edits, deletes, likes and reshares."""

from __future__ import annotations

from typing import Any

import pytest

from federation.client import FetchError
from federation.routes import FEDERATION
from node.appkeys import DB
from tests.support import Pod, User, wait_for


async def stream(pod: Pod, user: User) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", "/api/v1/streams/main", user, expect=200)
    return items


async def follow(pod: Pod, user: User, handle: str) -> dict[str, Any]:
    resp, data = await pod.call("POST", "/api/v1/follows", user, json={"target": handle})
    assert resp.status in (200, 201), data
    return data


async def follow_accepted(pod: Pod, user: User, handle: str) -> None:
    """Follow and wait until the remote side has answered with Accept."""
    await follow(pod, user, handle)

    async def accepted() -> bool:
        _, following = await pod.call(
            "GET", "/api/v1/identities/current/following", user, expect=200
        )
        return any(f["identity"]["handle"] == handle for f in following)

    await wait_for(accepted)


async def three_pods(make_pod) -> list[tuple[Pod, User]]:
    """Pods a, b and c, with alice, bob and carol on them."""
    pods = []
    for name in ("alice", "bob", "carol"):
        pod = await make_pod()
        pods.append((pod, await pod.register(name)))
    return pods


async def test_follow_post_edit_delete_propagate(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")

    answer = await follow(a, alice, f"bob@{b.host}")
    assert answer["state"] == "pending"
    assert answer["identity"]["handle"] == f"bob@{b.host}"

    async def accepted() -> bool:
        _, following = await a.call(
            "GET", "/api/v1/identities/current/following", alice, expect=200
        )
        return bool(following) and following[0]["state"] == "accepted"

    await wait_for(accepted)
    _, followers = await b.call("GET", "/api/v1/identities/current/followers", bob, expect=200)
    assert [f["identity"]["handle"] for f in followers] == [f"alice@{a.host}"]

    _, post = await b.call("POST", "/api/v1/posts", bob, json={"body": "hello from B"}, expect=201)

    async def arrived() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    remote = (await wait_for(arrived))[0]
    assert remote["body"] == "hello from B"
    assert remote["author"]["handle"] == f"bob@{b.host}"
    assert remote["local"] is False

    await b.call("PATCH", f"/api/v1/posts/{post['id']}", bob, json={"body": "edited"}, expect=200)

    async def edited() -> bool:
        return any(p["body"] == "edited" for p in await stream(a, alice))

    await wait_for(edited)
    await b.call("DELETE", f"/api/v1/posts/{post['id']}", bob, expect=204)

    async def gone() -> bool:
        return not [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    await wait_for(gone)
    await a.call("GET", f"/api/v1/posts/{remote['id']}", alice, expect=404)


async def test_content_warnings_travel_in_create_and_update(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(a, alice, f"bob@{b.host}")
    warning = "the <end> & all"
    _, post = await b.call(
        "POST", "/api/v1/posts", bob, json={"body": "the twist", "contentWarning": warning},
        expect=201,
    )  # fmt: skip

    async def on_a() -> tuple[str, bool] | None:
        found = [p for p in await stream(a, alice) if p["uri"] == post["uri"]]
        return (found[0]["contentWarning"], found[0]["sensitive"]) if found else None

    await wait_for(lambda: _equals(on_a, (warning, True)))
    # As Mastodon sends it: the warning as HTML text in `summary`, and `sensitive`.
    fed_a = a.app[FEDERATION]
    doc = await fed_a.client.get_json(post["uri"])
    assert (doc["summary"], doc["sensitive"]) == ("the &lt;end&gt; &amp; all", True)
    assert {"sensitive": "as:sensitive"} in doc["@context"]

    edits = [
        ({"contentWarning": "", "sensitive": True}, ("", True)),  # the flag alone
        ({"contentWarning": "still the end"}, ("still the end", True)),
        ({"contentWarning": ""}, ("", False)),
    ]
    for change, expected in edits:
        await b.call("PATCH", f"/api/v1/posts/{post['id']}", bob, json=change, expect=200)
        await wait_for(lambda expected=expected: _equals(on_a, expected))


async def test_locked_identity_approves_remote_follow(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await b.call("PATCH", "/api/v1/identity/current", bob, json={"locked": True}, expect=200)

    assert (await follow(a, alice, f"bob@{b.host}"))["state"] == "pending"

    async def requested() -> list[dict[str, Any]]:
        _, items = await b.call("GET", "/api/v1/follows/requests", bob, expect=200)
        return items

    request = (await wait_for(requested))[0]
    assert request["identity"]["handle"] == f"alice@{a.host}"
    _, followers = await b.call("GET", "/api/v1/identities/current/followers", bob, expect=200)
    assert followers == []

    # A followers-only post before approval does not reach alice.
    await b.call(
        "POST", "/api/v1/posts", bob, json={"body": "early", "visibility": "followers"}, expect=201
    )
    await b.call("POST", f"/api/v1/follows/requests/{request['id']}/approve", bob, expect=200)

    async def accepted() -> bool:
        _, following = await a.call(
            "GET", "/api/v1/identities/current/following", alice, expect=200
        )
        return bool(following) and following[0]["state"] == "accepted"

    await wait_for(accepted)
    _, post = await b.call(
        "POST",
        "/api/v1/posts",
        bob,
        json={"body": "for followers", "visibility": "followers"},
        expect=201,
    )

    async def arrived() -> list[str]:
        return [p["body"] for p in await stream(a, alice)]

    assert await wait_for(arrived) == ["for followers"]
    assert post["visibility"] == "followers"


async def test_rejected_request_is_forgotten_on_both_sides(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await b.call("PATCH", "/api/v1/identity/current", bob, json={"locked": True}, expect=200)
    await follow(a, alice, f"bob@{b.host}")

    async def requested() -> list[dict[str, Any]]:
        _, items = await b.call("GET", "/api/v1/follows/requests", bob, expect=200)
        return items

    request = (await wait_for(requested))[0]
    assert await _follow_rows(a) == 1
    await b.call("POST", f"/api/v1/follows/requests/{request['id']}/reject", bob, expect=200)

    async def dropped() -> bool:
        return await _follow_rows(a) == 0

    await wait_for(dropped)
    _, items = await b.call("GET", "/api/v1/follows/requests", bob, expect=200)
    assert items == []
    # Asking again works: a new request appears.
    assert (await follow(a, alice, f"bob@{b.host}"))["state"] == "pending"
    await wait_for(requested)


async def _follow_rows(pod: Pod) -> int:
    return await pod.app[DB].fetchval("SELECT count(*) FROM follows")


async def test_like_and_reshare_arrive_and_are_undone(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(a, alice, f"bob@{b.host}")
    _, post = await b.call("POST", "/api/v1/posts", bob, json={"body": "like me"}, expect=201)

    async def remote_copy() -> list[dict[str, Any]]:
        return [p for p in await stream(a, alice) if p["uri"] == post["uri"]]

    copy = (await wait_for(remote_copy))[0]
    _, liked = await a.call("POST", f"/api/v1/posts/{copy['id']}/like", alice, expect=200)
    assert liked["liked"] is True and liked["counts"]["likes"] == 1
    await a.call("POST", f"/api/v1/posts/{copy['id']}/reshare", alice, expect=200)
    # Liking twice is idempotent.
    await a.call("POST", f"/api/v1/posts/{copy['id']}/like", alice, expect=200)

    async def counts() -> dict[str, int]:
        _, seen = await b.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)
        return seen["counts"]

    await wait_for(
        lambda: _equals(counts, {"likes": 1, "reshares": 1, "comments": 0, "reactions": 0})
    )
    await a.call("DELETE", f"/api/v1/posts/{copy['id']}/like", alice, expect=200)
    await a.call("DELETE", f"/api/v1/posts/{copy['id']}/reshare", alice, expect=200)
    await wait_for(
        lambda: _equals(counts, {"likes": 0, "reshares": 0, "comments": 0, "reactions": 0})
    )
    await a.call("DELETE", f"/api/v1/posts/{copy['id']}/like", alice, expect=404)


async def _equals(get: Any, expected: Any) -> bool:
    return await get() == expected


async def test_followers_only_posts_reach_followers_and_no_one_else(make_pod) -> None:
    (a, alice), (b, bob), (c, carol) = await three_pods(make_pod)
    await follow_accepted(a, alice, f"bob@{b.host}")
    await c.call("GET", f"/api/v1/lookup?acct=bob@{b.host}", carol, expect=200)
    _, secret = await b.call(
        "POST",
        "/api/v1/posts",
        bob,
        json={"body": "followers only", "visibility": "followers"},
        expect=201,
    )
    _, public = await b.call("POST", "/api/v1/posts", bob, json={"body": "everyone"}, expect=201)

    async def both() -> bool:
        return {p["body"] for p in await stream(a, alice)} == {"followers only", "everyone"}

    await wait_for(both)
    # Nothing was delivered to C, and C's signed fetches see only the public post.
    assert await stream(c, carol) == []
    fed_c = c.app[FEDERATION]
    assert (await fed_c.client.get_json(public["uri"]))["content"] == "<p>everyone</p>"
    with pytest.raises(FetchError) as err:
        await fed_c.client.get_json(secret["uri"], signer=fed_c.urls.actor("carol"))
    assert err.value.status == 404
    # Alice's pod fetching as alice (a follower) may read it.
    fed_a = a.app[FEDERATION]
    doc = await fed_a.client.get_json(secret["uri"], signer=fed_a.urls.actor("alice"))
    assert doc["id"] == secret["uri"]
    # Unsigned fetch of the private post: 404 as well.
    async with c.http.get(secret["uri"], headers={"Accept": "application/activity+json"}) as resp:
        assert resp.status == 404


async def test_three_pods_direct_post_reaches_only_its_recipient(make_pod) -> None:
    (a, alice), (b, bob), (c, carol) = await three_pods(make_pod)
    await follow_accepted(b, bob, f"alice@{a.host}")
    await follow_accepted(c, carol, f"alice@{a.host}")
    direct = {"body": "just bob", "visibility": "direct", "recipients": [f"bob@{b.host}"]}
    await a.call("POST", "/api/v1/posts", alice, json=direct, expect=201)
    await a.call("POST", "/api/v1/posts", alice, json={"body": "all"}, expect=201)

    async def bob_has_both() -> bool:
        return {p["body"] for p in await stream(b, bob)} == {"just bob", "all"}

    async def carol_has_public() -> bool:
        return [p["body"] for p in await stream(c, carol)] == ["all"]

    await wait_for(bob_has_both)
    await wait_for(carol_has_public)
    await wait_for(lambda: _no_pending(a))
    assert [p["body"] for p in await stream(c, carol)] == ["all"]


async def _no_pending(pod: Pod) -> bool:
    return (
        await pod.app[DB].fetchval("SELECT count(*) FROM deliveries WHERE state != 'delivered'")
        == 0
    )


async def test_a_profile_edit_reaches_the_pods_of_followers(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(b, bob, f"alice@{a.host}")
    _, following = await b.call("GET", "/api/v1/identities/current/following", bob, expect=200)
    on_b = following[0]["identity"]["id"]

    async def profile() -> tuple[str, str]:
        _, ident = await b.call("GET", f"/api/v1/identities/{on_b}", bob, expect=200)
        return ident["displayName"], ident["bio"]

    before = await profile()
    # Plain text with what HTML would take as markup: it arrives as written.
    bio = "I <3 clay & <b>glaze</b>\nsecond line"
    changes = {"displayName": "Alice of A", "bio": bio}
    await a.call("PATCH", "/api/v1/identity/current", alice, json=changes, expect=200)
    await wait_for(lambda: _equals(profile, ("Alice of A", bio)))
    assert before != ("Alice of A", bio)
    assert await a.app[DB].fetchval("SELECT count(*) FROM outbox WHERE activity_type = 'Update'")
    # Nobody follows bob remotely: his edit is sent nowhere.
    await b.call("PATCH", "/api/v1/identity/current", bob, json={"bio": "b"}, expect=200)
    assert await b.app[DB].fetchval("SELECT count(*) FROM outbox") == 1  # his Follow only


async def test_profile_text_is_sent_as_escaped_html(pod) -> None:
    """Other servers read an actor's summary and field values as HTML: plain text is escaped,
    its line breaks kept, and nothing in it becomes markup."""
    alice = await pod.register("alice")
    profile = {
        "bio": 'x <img src=x onerror="alert(1)">\n\nnext',
        "fields": [{"name": "site", "value": '<a href="javascript:alert(1)">me</a>'}],
    }
    await pod.call("PATCH", "/api/v1/identity/current", alice, json=profile, expect=200)
    async with pod.http.get(
        f"{pod.url}/users/alice", headers={"Accept": "application/activity+json"}
    ) as resp:
        actor = await resp.json(content_type=None)
    assert actor["summary"] == "<p>x &lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p><p>next</p>"
    [field] = actor["attachment"]
    assert field["value"] == "&lt;a href=&quot;javascript:alert(1)&quot;&gt;me&lt;/a&gt;"


async def test_edits_and_deletes_reach_the_pods_that_liked_or_reshared_the_post(make_pod) -> None:
    (a, alice), (b, bob), (c, carol) = await three_pods(make_pod)
    await follow_accepted(b, bob, f"alice@{a.host}")
    await follow_accepted(c, carol, f"bob@{b.host}")
    _, post = await a.call("POST", "/api/v1/posts", alice, json={"body": "soon gone"}, expect=201)

    async def copy_on(pod: Pod, user: User) -> list[dict[str, Any]]:
        return [p for p in await stream(pod, user) if p["uri"] == post["uri"]]

    bobs = (await wait_for(lambda: copy_on(b, bob)))[0]
    # Bob reshares it: carol's pod, which does not follow alice, fetches it.
    await b.call("POST", f"/api/v1/posts/{bobs['id']}/reshare", bob, expect=200)

    async def fetched() -> Any:
        return await c.app[DB].fetchval("SELECT guid FROM posts WHERE ap_id = ?", (post["uri"],))

    # Not in carol's stream (she follows no one who wrote it), but hers to read and like.
    carols = {"id": await wait_for(fetched)}
    await c.call("POST", f"/api/v1/posts/{carols['id']}/like", carol, expect=200)

    async def likes() -> int:
        _, seen = await a.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        return seen["counts"]["likes"]

    await wait_for(likes)
    await a.call("PATCH", f"/api/v1/posts/{post['id']}", alice, json={"body": "fixed"}, expect=200)

    async def edited(pod: Pod, user: User, guid: str) -> bool:
        _, seen = await pod.call("GET", f"/api/v1/posts/{guid}", user, expect=200)
        return seen["body"] == "fixed"

    await wait_for(lambda: edited(b, bob, bobs["id"]))
    await wait_for(lambda: edited(c, carol, carols["id"]))
    await a.call("DELETE", f"/api/v1/posts/{post['id']}", alice, expect=204)

    async def gone(pod: Pod, user: User, guid: str) -> bool:
        resp, _ = await pod.call("GET", f"/api/v1/posts/{guid}", user)
        return resp.status == 404

    await wait_for(lambda: gone(b, bob, bobs["id"]))
    await wait_for(lambda: gone(c, carol, carols["id"]))

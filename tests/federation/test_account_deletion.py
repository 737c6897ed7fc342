"""Deleting an account tells other pods (a signed Delete of each of its actors), sends nothing
else it had queued, and retires its names, so no one else becomes the actor they know."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from federation.routes import FEDERATION
from federation.urls import AS_PUBLIC
from node.appkeys import DB
from tests.conftest import PodFactory
from tests.federation.test_flows import follow_accepted, stream
from tests.hostile import HostilePod, new_key
from tests.spaces.support import join, make_space, post_in, space_posts
from tests.support import Pod, User, wait_for

AS = {"Accept": "application/activity+json"}
PASSWORD = "correct horse battery"


async def _delete_account(pod: Pod, user: User) -> None:
    await pod.call(
        "DELETE", "/api/v1/accounts/current", user, json={"password": PASSWORD}, expect=204
    )


async def _handles(pod: Pod, user: User, side: str) -> list[str]:
    _, items = await pod.call("GET", f"/api/v1/identities/current/{side}", user, expect=200)
    return [f["identity"]["handle"] for f in items]


async def _without(pod: Pod, user: User, handle: str) -> bool:
    known = await _handles(pod, user, "followers") + await _handles(pod, user, "following")
    return handle not in known


async def test_other_pods_forget_a_deleted_account_and_its_name_stays_taken(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    handle = f"alice@{a.host}"
    await follow_accepted(a, alice, f"bob@{b.host}")
    await follow_accepted(b, bob, handle)
    _, post = await a.call("POST", "/api/v1/posts", alice, json={"body": "by alice"}, expect=201)

    async def copy_on_b() -> list[dict[str, Any]]:
        return [p for p in await stream(b, bob) if p["uri"] == post["uri"]]

    copy = (await wait_for(copy_on_b))[0]
    _, old_actor = await a.call("GET", "/users/alice", headers=AS, expect=200)

    await _delete_account(a, alice)
    # B forgets her both ways, and her posts.
    await wait_for(lambda: _without(b, bob, handle))
    assert await copy_on_b() == []
    await b.call("GET", f"/api/v1/posts/{copy['id']}", bob, expect=404)
    assert not await b.app[DB].fetchval(
        "SELECT count(*) FROM posts p JOIN remote_actors a ON a.identity_guid = p.author_guid"
        " WHERE a.uri = ?",
        (old_actor["id"],),
    )

    # The Delete was signed with her key and accepted; nothing else of hers is kept to send.
    async def sent() -> list[tuple[str, str, str]]:
        rows = await a.app[DB].fetchall(
            "SELECT o.activity_type, json_extract(o.body, '$.object'), d.state FROM outbox o"
            " JOIN deliveries d ON d.outbox_guid = o.guid WHERE o.actor_uri = ?",
            (old_actor["id"],),
        )
        return [tuple(r) for r in rows]

    await wait_for(lambda: _equals(sent, [("Delete", old_actor["id"], "delivered")]))

    # On A the actor is gone, and the name cannot be taken again, by an account or identity.
    await a.call("GET", "/users/alice", headers=AS, expect=410)
    resp, _ = await a.call("GET", f"/.well-known/webfinger?resource=acct:{handle}")
    assert resp.status in (404, 410)
    _, err = await a.call(
        "POST", "/api/v1/accounts",
        json={"username": "Alice", "email": "new@example.org", "password": PASSWORD},
        expect=409,
    )  # fmt: skip
    assert err["error"] == "username_taken"
    carol = await a.register("carol")
    _, err = await a.call(
        "POST", "/api/v1/identities", carol, json={"username": "alice"}, expect=409
    )
    assert err["error"] == "username_taken"


async def test_members_of_her_spaces_on_other_pods_hear_of_it(make_pod) -> None:
    a, c = await make_pod(), await make_pod()
    alice, dave, carol = (
        await a.register("alice"),
        await a.register("dave"),
        await c.register("carol"),
    )
    space = await make_space(a, dave, displayName="Potters")
    await join(a, alice, space["id"])
    await c.call("POST", "/api/v1/spaces/join", carol, json={"target": space["uri"]}, expect=202)

    async def on_c() -> str | None:
        _, spaces = await c.call("GET", "/api/v1/spaces", carol, expect=200)
        return next((s["id"] for s in spaces if s["uri"] == space["uri"]), None)

    space_on_c = await wait_for(on_c)

    async def bodies() -> list[str]:
        return [p["body"] for p in await space_posts(c, carol, space_on_c)]

    await post_in(a, alice, space["id"], "glazes")
    await wait_for(lambda: _contains(bodies, "glazes"))
    await _delete_account(a, alice)
    await wait_for(lambda: _lacks(bodies, "glazes"))


async def _equals(get: Any, expected: Any) -> bool:
    return await get() == expected


async def _contains(get: Any, item: Any) -> bool:
    return item in await get()


async def _lacks(get: Any, item: Any) -> bool:
    return item not in await get()


async def test_a_deleted_remote_member_leaves_our_spaces_and_its_application_ends(
    make_pod,
) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob, erin = await a.register("alice"), await b.register("bob"), await b.register("erin")
    open_space = await make_space(a, alice, displayName="Potters")
    asking = await make_space(a, alice, displayName="Glazers", joinMode="application")
    await b.call("POST", "/api/v1/spaces/join", bob, json={"target": open_space["uri"]}, expect=202)
    await b.call("POST", "/api/v1/spaces/join", erin, json={"target": asking["uri"]}, expect=202)

    async def members() -> list[str]:
        path = f"/api/v1/spaces/{open_space['id']}/members"
        _, items = await a.call("GET", path, alice, expect=200)
        return [m["identity"]["handle"] for m in items]

    async def count() -> int:
        _, view = await a.call("GET", f"/api/v1/spaces/{open_space['id']}", alice, expect=200)
        return int(view["memberCount"])

    async def applicants(state: str) -> list[str]:
        path = f"/api/v1/spaces/{asking['id']}/applications?state={state}"
        _, items = await a.call("GET", path, alice, expect=200)
        return [x["applicant"]["handle"] for x in items]

    await wait_for(lambda: _contains(members, f"bob@{b.host}"))
    assert await count() == 2
    await wait_for(lambda: _equals(lambda: applicants("pending"), [f"erin@{b.host}"]))

    await _delete_account(b, bob)
    await _delete_account(b, erin)
    await wait_for(lambda: _equals(members, [f"alice@{a.host}"]))
    assert await count() == 1
    await wait_for(lambda: _equals(lambda: applicants("pending"), []))
    assert await applicants("withdrawn") == [f"erin@{b.host}"]


async def test_a_remote_account_deleting_itself_takes_its_profile_and_its_traces(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """Once a remote actor deleted itself, what it was and did here goes with it, as on
    Mastodon: its profile (name, bio, fields, avatar), its likes, reshares and reactions on
    our posts, and what told us of them; its profile is not served any more."""
    pod = await make_pod()
    alice = await pod.register("alice")
    icon = {"type": "Image", "mediaType": "image/png", "url": "https://cdn.example/eve.png"}
    field = {"type": "PropertyValue", "name": "Pronouns", "value": "she/her"}
    hostile.add_actor("eve", new_key(), summary="<p>Hello, I am Eve</p>", attachment=[field],
                      icon=icon)  # fmt: skip
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    async def send(activity: dict[str, Any]) -> None:
        status, data = await hostile.post(
            f"{pod.url}/inbox", activity, pod.clock.now(), signer="eve"
        )
        assert status == 202, data

    for kind, extra in (("Like", {}), ("Announce", {"to": [AS_PUBLIC]}),
                        ("EmojiReact", {"content": "👍"})):  # fmt: skip
        await send(hostile.activity("eve", kind, post["uri"], **extra))

    async def seen() -> tuple[dict[str, Any], list[str]]:
        _, view = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
        return view["counts"], sorted(n["kind"] for n in notes)

    counts, kinds = await seen()
    assert (counts["likes"], counts["reshares"], counts["reactions"]) == (1, 1, 1)
    assert kinds == ["like", "reaction", "reshare"]
    handle = hostile.handle("eve")
    _, eve = await pod.call("GET", "/api/v1/lookup", alice, params={"acct": handle}, expect=200)
    assert (eve["bio"], eve["avatarUrl"]) == ("Hello, I am Eve", icon["url"])
    assert eve["fields"] == [{"name": "Pronouns", "value": "she/her"}]

    await send(hostile.activity("eve", "Delete", hostile.actor("eve"), to=[AS_PUBLIC]))
    counts, kinds = await seen()
    assert (counts["likes"], counts["reshares"], counts["reactions"]) == (0, 0, 0)
    assert kinds == []
    await pod.call("GET", f"/api/v1/identities/{eve['id']}", alice, expect=404)
    db = pod.app[DB]
    row = await db.fetchone(
        "SELECT display_name, bio, fields FROM identities WHERE guid = ?", (eve["id"],)
    )
    assert tuple(row) == ("", "", "[]")
    for table in ("remote_avatars", "interactions", "reactions", "notifications"):
        assert await db.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_a_remote_account_that_deleted_itself_no_longer_acts(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """Its key went with it: what it signs afterwards is refused unless its pod serves it
    again (as Mastodon refetches the key, and is told 410)."""
    pod = await make_pod()
    alice = await pod.register("alice")
    hostile.add_actor("eve", new_key())
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    async def send(activity: dict[str, Any]) -> tuple[int, Any]:
        return await hostile.post(f"{pod.url}/inbox", activity, pod.clock.now(), signer="eve")

    assert (await send(hostile.activity("eve", "Like", post["uri"])))[0] == 202
    status, _ = await send(hostile.activity("eve", "Delete", hostile.actor("eve"), to=[AS_PUBLIC]))
    assert status == 202
    key = hostile.keys.pop("eve")  # her pod answers 404 for her now; her key still signs
    body = json.dumps(hostile.activity("eve", "Like", post["uri"])).encode()
    headers = hostile.signed(f"{pod.url}/inbox", body, pod.clock.now(), signer="eve", key=key)
    status, data = await hostile.send(f"{pod.url}/inbox", body, headers)
    assert status == 401, data

    async def likes() -> int:
        _, view = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        return int(view["counts"]["likes"])

    assert await likes() == 0
    # Mastodon sends its Delete to every inbox it knows: once gone, it is taken unverified
    # (nothing is left to do), rather than refused for a key that is gone and retried.
    fetches = hostile.fetches("/users/eve")
    again = json.dumps(hostile.activity("eve", "Delete", hostile.actor("eve"))).encode()
    headers = hostile.signed(f"{pod.url}/inbox", again, pod.clock.now(), signer="eve", key=key)
    assert (await hostile.send(f"{pod.url}/inbox", again, headers))[0] == 202
    assert hostile.fetches("/users/eve") == fetches

    # Served again (the deletion undone): she acts again, once a key that failed to fetch
    # may be fetched again.
    hostile.keys["eve"] = key
    pod.clock.advance(timedelta(seconds=pod.config.federation.key_refetch_interval_seconds))
    assert (await send(hostile.activity("eve", "Like", post["uri"])))[0] == 202
    assert await likes() == 1


async def test_an_account_whose_inbox_said_gone_still_takes_its_traces_when_it_deletes_itself(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """Its own inbox answered 410 first (its pod deleted it, and sends the Delete later): it
    is marked gone for deliveries, but its Delete, signed with the key we hold, still takes
    its likes and profile."""
    pod = await make_pod()
    alice = await pod.register("alice")
    hostile.add_actor("eve", new_key(), summary="<p>Hello, I am Eve</p>")
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)

    async def send(activity: dict[str, Any]) -> None:
        status, data = await hostile.post(
            f"{pod.url}/inbox", activity, pod.clock.now(), signer="eve"
        )
        assert status == 202, data

    async def likes() -> int:
        _, view = await pod.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
        return int(view["counts"]["likes"])

    await send(hostile.activity("eve", "Like", post["uri"]))
    assert await likes() == 1
    hostile.answers = [410]
    await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": hostile.handle("eve")}, expect=201
    )
    await pod.app[FEDERATION].worker.run_once()
    assert hostile.requests[-1] == "POST /users/eve/inbox"
    assert await pod.app[DB].fetchval("SELECT gone_at FROM remote_actors") is not None

    await send(hostile.activity("eve", "Delete", hostile.actor("eve"), to=[AS_PUBLIC]))
    assert await likes() == 0
    assert await pod.app[DB].fetchval("SELECT bio FROM identities WHERE domain IS NOT NULL") == ""


async def test_notifications_and_follow_requests_of_an_actor_whose_inbox_said_gone_still_load(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """An actor whose own inbox answered 410 is not asked for again by its profile, but what
    it did here is still shown: a notification it caused, a request it made, do not turn the
    whole list (or the answer to the request) into a 404."""
    pod = await make_pod()
    alice = await pod.register("alice")
    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"locked": True}, expect=200)
    hostile.add_actor("eve", new_key())
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    for activity in (hostile.activity("eve", "Like", post["uri"]),
                     hostile.activity("eve", "Follow", f"{pod.url}/users/alice")):  # fmt: skip
        status, data = await hostile.post(
            f"{pod.url}/inbox", activity, pod.clock.now(), signer="eve"
        )
        assert status == 202, data
    _, requests = await pod.call("GET", "/api/v1/follows/requests", alice, expect=200)
    [request] = requests
    # alice's Follow goes to eve's own inbox, which says she is gone.
    hostile.answers = [410]
    await pod.call(
        "POST", "/api/v1/follows", alice, json={"target": hostile.handle("eve")}, expect=201
    )
    await pod.app[FEDERATION].worker.run_once()
    assert await pod.app[DB].fetchval("SELECT gone_at FROM remote_actors") is not None

    _, notes = await pod.call("GET", "/api/v1/notifications", alice, expect=200)
    assert sorted(n["kind"] for n in notes) == ["follow.request", "like"]
    await pod.call("POST", f"/api/v1/follows/requests/{request['id']}/approve", alice, expect=200)


async def test_an_actor_whose_inbox_said_gone_no_longer_acts_with_a_cached_key(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """A delivery's 410 marks the actor gone: its key, cached since it last signed, is trusted
    no more than after a Delete of itself."""
    pod = await make_pod()
    alice = await pod.register("alice")
    key = new_key()
    hostile.add_actor("eve", key, endpoints={})  # her own inbox only: its 410 is hers
    fed = pod.app[FEDERATION]

    async def send(activity: dict[str, Any]) -> int:
        status, _ = await hostile.post(f"{pod.url}/inbox", activity, pod.clock.now(), signer="eve")
        return status

    assert await send(hostile.activity("eve", "Follow", f"{pod.url}/users/alice")) == 202
    hostile.answers = [202, 410]  # her Accept, then the post
    await fed.worker.run_once()
    _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await fed.worker.run_once()
    assert await fed.db.fetchval("SELECT gone_at FROM remote_actors") is not None

    del hostile.keys["eve"]  # her pod serves her no more; her key still signs
    body = json.dumps(hostile.activity("eve", "Like", post["uri"])).encode()
    headers = hostile.signed(f"{pod.url}/inbox", body, pod.clock.now(), signer="eve", key=key)
    status, data = await hostile.send(f"{pod.url}/inbox", body, headers)
    assert status == 401, data


async def test_pods_her_posts_named_hear_of_it(make_pod) -> None:
    """Whom her direct posts and replies reached without any follow between them hold her
    posts and her profile: they hear of the deletion too."""
    a, b = await make_pod(), await make_pod()
    alice = await a.register("alice")
    await b.register("bob")
    body = {"body": "just for you", "visibility": "direct", "recipients": [f"bob@{b.host}"]}
    _, post = await a.call("POST", "/api/v1/posts", alice, json=body, expect=201)

    async def copy_on_b() -> list[str]:
        rows = await b.app[DB].fetchall("SELECT ap_id FROM posts WHERE ap_id = ?", (post["uri"],))
        return [r[0] for r in rows]

    await wait_for(copy_on_b)
    await _delete_account(a, alice)

    async def forgotten() -> bool:
        return await copy_on_b() == []

    await wait_for(forgotten)

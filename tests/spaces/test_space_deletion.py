"""Deleting a space across pods: its posts are deleted everywhere they went (members' pods,
their authors' followers), each leaving a tombstone, and those waiting to join are told. A
member's own public post stays on the member's pod, outside the space: the Group never deletes
what another pod's people wrote there."""

from __future__ import annotations

from typing import Any

from node.appkeys import DB
from tests.spaces.support import make_invite, make_space, post_in, space_posts
from tests.support import Pod, User, wait_for


async def _role(pod: Pod, user: User, space_id: str) -> str | None:
    resp, data = await pod.call("GET", f"/api/v1/spaces/{space_id}", user)
    return data.get("role") if resp.status == 200 else "hidden"


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def _ask(pod: Pod, user: User, body: dict[str, Any]) -> dict[str, Any]:
    _, data = await pod.call("POST", "/api/v1/spaces/join", user, json=body, expect=202)
    return data["space"]


async def _stream(pod: Pod, user: User) -> list[str]:
    _, items = await pod.call("GET", "/api/v1/streams/main", user, expect=200)
    return [p["body"] for p in items]


async def _pending_follows(pod: Pod, user: User) -> int:
    return int(
        await pod.app[DB].fetchval(
            "SELECT count(*) FROM follows WHERE state = 'pending' AND follower_guid = ?",
            (user.identity_id,),
        )
    )


async def _tombstoned(pod: Pod, ap_id: str) -> bool:
    return bool(await pod.app[DB].fetchval("SELECT 1 FROM tombstones WHERE ap_id = ?", (ap_id,)))


async def test_deleting_a_space_deletes_its_posts_everywhere(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice = await a.register("alice")
    bob, dave = await b.register("bob"), await b.register("dave")
    carol, erin = await c.register("carol"), await c.register("erin")
    # carol follows alice (not the space); dave follows bob.
    await c.call("POST", "/api/v1/follows", carol, json={"target": f"alice@{a.host}"})
    await b.call("POST", "/api/v1/follows", dave, json={"target": "bob"})
    space = await make_space(a, alice, joinMode="application")
    invite = await make_invite(a, alice, space["id"], joinModeOverride="instant")
    on_b = await _ask(b, bob, {"target": invite["link"]})
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "member"))
    # erin on C applies, and waits.
    on_c = await _ask(c, erin, {"target": space["uri"], "message": "me too"})

    async def applied() -> list[dict[str, Any]]:
        _, items = await a.call(
            "GET", f"/api/v1/spaces/{space['id']}/applications?state=pending", alice
        )
        return items

    await wait_for(applied)
    assert await _pending_follows(c, erin) == 1

    mine = await post_in(a, alice, space["id"], "alice in the space")
    bobs = await post_in(b, bob, on_b["id"], "bob in the space")

    async def everywhere() -> bool:
        return (
            len(await space_posts(a, alice, space["id"])) == 2
            and len(await space_posts(b, bob, on_b["id"])) == 2
            and "alice in the space" in await _stream(c, carol)
            and "bob in the space" in await _stream(b, dave)
        )

    await wait_for(everywhere)
    copies_on_b = {p["body"]: p["id"] for p in await space_posts(b, bob, on_b["id"])}

    await a.call("DELETE", f"/api/v1/spaces/{space['id']}", alice, expect=204)
    await a.call("GET", f"/api/v1/posts/{mine['id']}", alice, expect=404)
    assert await _tombstoned(a, mine["uri"]) and await _tombstoned(a, bobs["uri"])

    # Members' pods: the space is gone, with everything its Group brought there.
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "hidden"))
    theirs = copies_on_b["alice in the space"]
    for who in (bob, dave):
        await b.call("GET", f"/api/v1/posts/{theirs}", who, expect=404)
    assert await _tombstoned(b, mine["uri"])
    # bob's own post is his, not the Group's to delete: a public one stays on his pod, outside
    # the space, for the followers it also went to.
    _, kept = await b.call("GET", f"/api/v1/posts/{copies_on_b['bob in the space']}", dave,
                           expect=200)  # fmt: skip
    assert kept["spaceId"] is None
    assert "bob in the space" in await _stream(b, dave)

    # alice's followers elsewhere had her post from her, not the space: it is deleted there too.
    await wait_for(lambda: _is(_stream(c, carol), []))
    assert await _tombstoned(c, mine["uri"])
    # erin's request is answered: her pod no longer shows it pending.
    await wait_for(lambda: _is(_pending_follows(c, erin), 0))
    assert await _role(c, erin, on_c["id"]) is None

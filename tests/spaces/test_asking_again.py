"""Asking to join a space again, or joining by invite, while an application is pending: the
application follows the latest Follow, and closes when its applicant gets in another way."""

from __future__ import annotations

from typing import Any

from node.appkeys import DB
from tests.spaces.support import join, make_invite, make_space
from tests.support import Pod, User, wait_for


async def _ask(pod: Pod, user: User, body: dict[str, Any]) -> dict[str, Any]:
    _, data = await pod.call("POST", "/api/v1/spaces/join", user, json=body, expect=202)
    return data["space"]


async def _role(pod: Pod, user: User, space_id: str) -> str | None:
    resp, data = await pod.call("GET", f"/api/v1/spaces/{space_id}", user)
    return data.get("role") if resp.status == 200 else "hidden"


async def _apps(pod: Pod, user: User, space_id: str, state: str) -> list[dict[str, Any]]:
    _, items = await pod.call(
        "GET", f"/api/v1/spaces/{space_id}/applications?state={state}", user, expect=200
    )
    return items


async def _members(pod: Pod, user: User, space_id: str) -> set[str]:
    _, items = await pod.call("GET", f"/api/v1/spaces/{space_id}/members", user, expect=200)
    return {m["identity"]["handle"] for m in items}


async def _delivered(pod: Pod) -> bool:
    """Everything the pod sent has been taken by its receivers (and so handled there)."""
    return not await pod.app[DB].fetchval(
        "SELECT count(*) FROM deliveries WHERE state != 'delivered'"
    )


async def _asked_twice(make_pod: Any) -> tuple[Pod, Pod, User, User, dict, dict, dict]:
    """bob on B applies to alice's space on A, then asks again (a new Follow)."""
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    space = await make_space(a, alice, joinMode="application")
    on_b = await _ask(b, bob, {"target": space["uri"], "message": "first"})
    [app] = await wait_for(lambda: _apps(a, alice, space["id"], "pending"))
    await _ask(b, bob, {"target": space["uri"], "message": "second"})
    await wait_for(lambda: _delivered(b))
    return a, b, alice, bob, space, on_b, app


async def test_leaving_after_asking_again_withdraws_the_application(make_pod) -> None:
    a, b, alice, bob, space, on_b, app = await _asked_twice(make_pod)
    assert [x["id"] for x in await _apps(a, alice, space["id"], "pending")] == [app["id"]]
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", bob, expect=204)

    async def withdrawn() -> list[str]:
        return [x["id"] for x in await _apps(a, alice, space["id"], "withdrawn")]

    assert await wait_for(withdrawn) == [app["id"]]
    assert await _apps(a, alice, space["id"], "pending") == []
    base = f"/api/v1/spaces/{space['id']}/applications/{app['id']}"
    resp, err = await a.call("POST", f"{base}/approve", alice)
    assert (resp.status, err["error"]) == (409, "application_decided")
    assert await _members(a, alice, space["id"]) == {f"alice@{a.host}"}
    assert await _role(b, bob, on_b["id"]) is None


async def test_asking_again_then_approved_then_leaving(make_pod) -> None:
    a, b, alice, bob, space, on_b, app = await _asked_twice(make_pod)
    base = f"/api/v1/spaces/{space['id']}/applications/{app['id']}"
    await a.call("POST", f"{base}/approve", alice, expect=200)
    # The Accept names the Follow B still has: bob is a member on both sides.
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "member"))
    assert await _members(a, alice, space["id"]) == {f"alice@{a.host}", f"bob@{b.host}"}

    # Leaving undoes that Follow, and A lets him go (and stops relaying to B).
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", bob, expect=204)

    async def members_on_a() -> set[str]:
        return await _members(a, alice, space["id"])

    await wait_for(lambda: _is(members_on_a(), {f"alice@{a.host}"}))


async def test_asking_again_with_a_refused_code_closes_the_application(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    space = await make_space(a, alice, joinMode="application")
    on_b = await _ask(b, bob, {"target": space["uri"]})
    [app] = await wait_for(lambda: _apps(a, alice, space["id"], "pending"))
    # A code that is no good: the Group's Reject ends bob's request on B, and on A too.
    await _ask(b, bob, {"target": space["uri"], "code": "no-such-code"})

    async def withdrawn() -> list[str]:
        return [x["id"] for x in await _apps(a, alice, space["id"], "withdrawn")]

    assert await wait_for(withdrawn) == [app["id"]]
    assert await _role(b, bob, on_b["id"]) is None


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected


async def test_joining_by_invite_closes_a_remote_application(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    space = await make_space(a, alice, joinMode="application")
    on_b = await _ask(b, bob, {"target": space["uri"], "message": "let me in"})
    [app] = await wait_for(lambda: _apps(a, alice, space["id"], "pending"))
    invite = await make_invite(a, alice, space["id"], joinModeOverride="instant")
    await _ask(b, bob, {"target": invite["link"]})
    await wait_for(lambda: _is(_role(b, bob, on_b["id"]), "member"))

    assert await _apps(a, alice, space["id"], "pending") == []
    [closed] = await _apps(a, alice, space["id"], "withdrawn")
    assert closed["id"] == app["id"]
    base = f"/api/v1/spaces/{space['id']}/applications/{app['id']}"
    for verb in ("reject", "approve"):
        resp, err = await a.call("POST", f"{base}/{verb}", alice)
        assert (resp.status, err["error"]) == (409, "application_decided")

    # bob stays a member on both sides, and leaving (an Undo of the invite's Follow) works.
    await wait_for(lambda: _delivered(a))
    assert await _role(b, bob, on_b["id"]) == "member"
    await b.call("POST", f"/api/v1/spaces/{on_b['id']}/leave", bob, expect=204)

    async def members_on_a() -> set[str]:
        return await _members(a, alice, space["id"])

    await wait_for(lambda: _is(members_on_a(), {f"alice@{a.host}"}))


async def test_joining_by_invite_closes_a_local_application(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, joinMode="application")
    _, app = await pod.call(
        "POST", f"/api/v1/spaces/{space['id']}/applications", bob, json={"message": "hi"},
        expect=201,
    )  # fmt: skip
    invite = await make_invite(pod, alice, space["id"], joinModeOverride="instant")
    data = await join(pod, bob, space["id"], code=invite["code"])
    assert data["state"] == "member"
    assert await _apps(pod, alice, space["id"], "pending") == []
    [closed] = await _apps(pod, alice, space["id"], "withdrawn")
    assert closed["id"] == app["id"]


async def test_an_application_of_a_member_is_not_decided(pod: Pod) -> None:
    """An application left pending by an older version, its applicant a member since: deciding
    it would change nothing but the record of how they joined, so it is refused."""
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, joinMode="application")
    _, app = await pod.call(
        "POST", f"/api/v1/spaces/{space['id']}/applications", bob, json={}, expect=201
    )
    invite = await make_invite(pod, alice, space["id"], joinModeOverride="instant")
    await join(pod, bob, space["id"], code=invite["code"])
    async with pod.app[DB].transaction() as tx:
        await tx.execute(
            "UPDATE space_applications SET state = 'pending' WHERE guid = ?", (app["id"],)
        )
    base = f"/api/v1/spaces/{space['id']}/applications/{app['id']}"
    for verb in ("reject", "approve"):
        resp, err = await pod.call("POST", f"{base}/{verb}", alice)
        assert (resp.status, err["error"]) == (409, "already_member")
    _, seen = await pod.call("GET", f"/api/v1/spaces/{space['id']}", bob, expect=200)
    assert seen["role"] == "member"

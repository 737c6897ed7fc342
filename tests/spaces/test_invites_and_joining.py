"""One invite per admin: make, read, regenerate, revoke; joining by mode and by code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.spaces.support import join, make_invite, make_space, notifications
from tests.support import TIME_RE, Pod


async def test_invite_lifecycle(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, joinMode="invite")
    path = f"/api/v1/spaces/{space['id']}/my-invite"
    await pod.call("GET", path, alice, expect=404)
    invite = await make_invite(
        pod, alice, space["id"], maxUses=10, expiresInMinutes=60, joinModeOverride="instant"
    )
    assert invite["spaceId"] == space["id"]
    assert invite["maxUses"] == 10 and invite["uses"] == 0
    assert invite["joinModeOverride"] == "instant" and TIME_RE.match(invite["expiresAt"])
    assert invite["link"] == f"{space['uri']}?invite={invite['code']}"
    _, again = await pod.call("GET", path, alice, expect=200)
    assert again == invite

    # Regenerating replaces the code: the old one stops working.
    fresh = await make_invite(pod, alice, space["id"])
    assert fresh["code"] != invite["code"]
    assert fresh["maxUses"] is None and fresh["expiresAt"] is None
    err = await join(pod, bob, space["id"], 403, code=invite["code"])
    assert err["error"] == "invite_invalid"

    await pod.call("DELETE", path, alice, expect=204)
    await pod.call("DELETE", path, alice, expect=404)
    await pod.call("GET", path, alice, expect=404)
    err = await join(pod, bob, space["id"], 403, code=fresh["code"])
    assert err["error"] == "invite_invalid"


async def test_each_admin_has_their_own_invite(pod: Pod) -> None:
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    space = await make_space(pod, alice)
    await join(pod, bob, space["id"])
    resp, err = await pod.call("POST", f"/api/v1/spaces/{space['id']}/my-invite", bob, json={})
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    await pod.call(
        "PATCH", f"/api/v1/spaces/{space['id']}/members/{bob.identity_id}", alice,
        json={"role": "admin"}, expect=200,
    )  # fmt: skip
    mine, bobs = (
        await make_invite(pod, alice, space["id"]),
        await make_invite(pod, bob, space["id"]),
    )
    assert mine["code"] != bobs["code"]
    # Demoted, bob's invite stops working.
    await pod.call(
        "PATCH", f"/api/v1/spaces/{space['id']}/members/{bob.identity_id}", alice,
        json={"role": "member"}, expect=200,
    )  # fmt: skip
    await pod.call(
        "PATCH", f"/api/v1/spaces/{space['id']}", alice, json={"joinMode": "invite"}, expect=200
    )
    assert (await join(pod, carol, space["id"], 403, code=bobs["code"]))["error"] == (
        "invite_invalid"
    )
    assert (await join(pod, carol, space["id"], code=mine["code"]))["state"] == "member"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maxUses": 0}, "maxUses"),
        ({"maxUses": -1}, "maxUses"),
        ({"maxUses": 1_000_000}, "maxUses"),
        ({"maxUses": "5"}, "maxUses"),
        ({"expiresInMinutes": 0}, "expiresInMinutes"),
        ({"expiresInMinutes": 10**9}, "expiresInMinutes"),
        ({"joinModeOverride": "closed"}, "joinModeOverride"),
        ({"joinModeOverride": "invite"}, "joinModeOverride"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invite_validation(pod: Pod, body: dict, field: str) -> None:
    alice = await pod.register("alice")
    space = await make_space(pod, alice)
    resp, err = await pod.call("POST", f"/api/v1/spaces/{space['id']}/my-invite", alice, json=body)
    assert resp.status == 422 and field in err["fields"], err


async def test_join_modes_without_a_code(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    instant = await make_space(pod, alice, joinMode="instant")
    joined = await join(pod, bob, instant["id"])
    assert joined["state"] == "member" and joined["space"]["role"] == "member"
    assert joined["space"]["memberCount"] == 2 and joined["application"] is None
    err = await join(pod, bob, instant["id"], 409)
    assert err["error"] == "already_member"
    # No body at all works for an instant space.
    carol = await pod.register("carol")
    resp, data = await pod.call("POST", f"/api/v1/spaces/{instant['id']}/join", carol)
    assert resp.status == 200 and data["state"] == "member"

    for mode, code in [("invite", "invite_required"), ("closed", "space_closed")]:
        space = await make_space(pod, alice, joinMode=mode)
        assert (await join(pod, bob, space["id"], 403))["error"] == code, mode
    # Joining a space that takes applications files one (202).
    space = await make_space(pod, alice, joinMode="application")
    answer = await join(pod, bob, space["id"], 202, message="me too")
    assert answer["state"] == "pending" and answer["application"]["message"] == "me too"


async def test_admins_hear_of_joins(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice)
    await join(pod, bob, space["id"])
    [note] = await notifications(pod, alice)
    assert note["kind"] == "space.joined" and note["subjectId"] == space["id"]
    assert note["actor"]["id"] == bob.identity_id
    assert note["detail"]["spaceId"] == space["id"]


async def test_codes_respect_uses_expiry_and_override(pod: Pod) -> None:
    alice = await pod.register("alice")
    people = [await pod.register(n) for n in ("bob", "carol", "dave", "erin")]
    bob, carol, dave, erin = people
    space = await make_space(pod, alice, joinMode="closed")
    err = await join(pod, bob, space["id"], 403)
    assert err["error"] == "space_closed"

    # Without an override a code follows the space's mode: a closed space stays closed.
    plain = await make_invite(pod, alice, space["id"])
    assert (await join(pod, bob, space["id"], 403, code=plain["code"]))["error"] == "space_closed"

    invite = await make_invite(pod, alice, space["id"], maxUses=2, joinModeOverride="instant")
    assert (await join(pod, bob, space["id"], code=invite["code"]))["state"] == "member"
    assert (await join(pod, carol, space["id"], code=invite["code"]))["state"] == "member"
    err = await join(pod, dave, space["id"], 403, code=invite["code"])
    assert err["error"] == "invite_used_up"
    _, seen = await pod.call("GET", f"/api/v1/spaces/{space['id']}/my-invite", alice)
    assert seen["uses"] == 2

    timed = await make_invite(
        pod, alice, space["id"], expiresInMinutes=5, joinModeOverride="instant"
    )
    pod.clock.advance(timedelta(minutes=6))
    err = await join(pod, dave, space["id"], 403, code=timed["code"])
    assert err["error"] == "invite_expired"

    # An override of 'application' turns the code into an application.
    apply = await make_invite(pod, alice, space["id"], joinModeOverride="application")
    answer = await join(pod, erin, space["id"], 202, code=apply["code"], message="please")
    assert answer["state"] == "pending"
    assert answer["application"]["message"] == "please"
    assert answer["space"]["role"] is None
    err = await join(pod, erin, space["id"], 409, code=apply["code"])
    assert err["error"] == "application_pending"
    err = await join(pod, erin, space["id"], 403, code="no-such-code")
    assert err["error"] == "invite_invalid"


async def test_a_code_opens_a_private_space(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, visibility="private", joinMode="invite")
    invite = await make_invite(pod, alice, space["id"])
    # A wrong code does not reveal that the space exists.
    assert (await join(pod, bob, space["id"], 404, code="wrong"))["error"] == "not_found"
    assert (await join(pod, bob, space["id"], 404))["error"] == "not_found"
    joined = await join(pod, bob, space["id"], code=invite["code"])
    assert joined["state"] == "member" and joined["space"]["memberCount"] == 2
    await pod.call("GET", f"/api/v1/spaces/{space['id']}", bob, expect=200)


async def test_join_by_target(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob, carol, dave, erin = [await pod.register(n) for n in ("bob", "carol", "dave", "erin")]
    space = await make_space(pod, alice, name="growers", joinMode="invite")
    invite = await make_invite(pod, alice, space["id"])
    path = "/api/v1/spaces/join"
    # The link alone, the code alone, a handle with a code, the space's id with a code.
    for user, body in [
        (bob, {"target": invite["link"]}),
        (carol, {"code": invite["code"]}),
        (dave, {"target": f"growers@{pod.host}", "code": invite["code"]}),
        (erin, {"target": space["id"], "code": invite["code"]}),
    ]:
        _, data = await pod.call("POST", path, user, json=body, expect=200)
        assert data["state"] == "member" and data["space"]["id"] == space["id"]
    frank = await pod.register("frank")
    for body, status in [
        ({}, 422),
        ({"code": "nope"}, 422),
        ({"target": "nobody"}, 404),
        ({"target": f"{pod.url}/groups/{'0' * 32}"}, 404),
        ({"target": "bad handle!"}, 422),
        ({"target": "http://[zz]/groups/x"}, 422),  # not a URL
        ({"target": "https://[::1/groups/x?invite=y"}, 422),
        ({"target": "growers"}, 403),  # an invite-only space, no code
        ({"target": "growers", "code": "x" * 101}, 422),
    ]:
        resp, err = await pod.call("POST", path, frank, json=body)
        assert resp.status == status, (body, err)

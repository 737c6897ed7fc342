"""Applications (submit, list, approve, reject, withdraw) and members (list, roles, remove,
leave; the last admin stays)."""

from __future__ import annotations

from typing import Any

from tests.spaces.support import join, make_space, notifications
from tests.support import GUID_RE, Pod, User, parse_links


async def _apply(pod: Pod, user: User, space_id: str, message: str = "") -> dict[str, Any]:
    _, app = await pod.call(
        "POST", f"/api/v1/spaces/{space_id}/applications", user, json={"message": message},
        expect=201,
    )  # fmt: skip
    return app


async def _apps(pod: Pod, user: User, space_id: str, query: str = "") -> list[dict[str, Any]]:
    _, items = await pod.call(
        "GET", f"/api/v1/spaces/{space_id}/applications{query}", user, expect=200
    )
    return items


async def test_application_approved(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    space = await make_space(pod, alice, joinMode="application")
    app = await _apply(pod, bob, space["id"], "I grow roses")
    assert GUID_RE.match(app["id"]) and app["state"] == "pending"
    assert app["message"] == "I grow roses" and app["applicant"]["id"] == bob.identity_id
    assert app["spaceId"] == space["id"]

    [note] = await notifications(pod, alice)
    assert (note["kind"], note["subjectId"]) == ("space.application", app["id"])
    assert note["actor"]["id"] == bob.identity_id and note["detail"]["spaceId"] == space["id"]

    resp, err = await pod.call(
        "POST", f"/api/v1/spaces/{space['id']}/applications", bob, json={"message": "again"}
    )
    assert (resp.status, err["error"]) == (409, "application_pending")
    # Not yet a member: the members list is closed to bob.
    resp, _ = await pod.call("GET", f"/api/v1/spaces/{space['id']}/members", bob)
    assert resp.status == 403

    base = f"/api/v1/spaces/{space['id']}/applications/{app['id']}"
    resp, err = await pod.call("POST", f"{base}/approve", bob)
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    _, done = await pod.call("POST", f"{base}/approve", alice, expect=200)
    assert done["state"] == "approved"
    resp, err = await pod.call("POST", f"{base}/reject", alice)
    assert (resp.status, err["error"]) == (409, "application_decided")

    _, seen = await pod.call("GET", f"/api/v1/spaces/{space['id']}", bob, expect=200)
    assert seen["role"] == "member"
    [note] = await notifications(pod, bob)
    assert (note["kind"], note["subjectId"]) == ("space.approved", space["id"])
    assert note["detail"]["applicationId"] == app["id"]


async def test_application_rejected_and_withdrawn(pod: Pod) -> None:
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    space = await make_space(pod, alice, joinMode="application")
    bobs = await _apply(pod, bob, space["id"])
    carols = await _apply(pod, carol, space["id"], "hello")
    base = f"/api/v1/spaces/{space['id']}/applications"

    # Admins see all, applicants their own.
    assert {a["id"] for a in await _apps(pod, alice, space["id"])} == {carols["id"], bobs["id"]}
    assert [a["id"] for a in await _apps(pod, bob, space["id"])] == [bobs["id"]]
    resp, page = await pod.call("GET", f"{base}?per_page=1", alice, expect=200)
    assert len(page) == 1 and "next" in parse_links(resp.headers["Link"])

    _, rejected = await pod.call("POST", f"{base}/{bobs['id']}/reject", alice, expect=200)
    assert rejected["state"] == "rejected"
    assert [n["kind"] for n in await notifications(pod, bob)] == ["space.rejected"]
    _, seen = await pod.call("GET", f"/api/v1/spaces/{space['id']}", bob, expect=200)
    assert seen["role"] is None

    # Someone else's application cannot be withdrawn; one's own can, once.
    resp, _ = await pod.call("POST", f"{base}/{carols['id']}/withdraw", bob)
    assert resp.status == 404
    _, gone = await pod.call("POST", f"{base}/{carols['id']}/withdraw", carol, expect=200)
    assert gone["state"] == "withdrawn"
    resp, err = await pod.call("POST", f"{base}/{carols['id']}/withdraw", carol)
    assert (resp.status, err["error"]) == (409, "application_decided")
    resp, _ = await pod.call("POST", f"{base}/{carols['id']}/approve", alice)
    assert resp.status == 409

    pending = await _apps(pod, alice, space["id"], "?state=pending")
    assert pending == []
    states = {a["applicant"]["id"]: a["state"] for a in await _apps(pod, alice, space["id"])}
    assert states == {bob.identity_id: "rejected", carol.identity_id: "withdrawn"}
    resp, err = await pod.call("GET", f"{base}?state=maybe", alice)
    assert resp.status == 422

    # After a rejection one may apply again.
    again = await _apply(pod, bob, space["id"], "second try")
    assert again["id"] != bobs["id"]
    for path in (f"{base}/{'0' * 32}/approve", f"{base}/nope/approve"):
        resp, _ = await pod.call("POST", path, alice)
        assert resp.status == 404


async def test_applications_need_application_mode(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    for mode in ("instant", "invite", "closed"):
        space = await make_space(pod, alice, joinMode=mode)
        resp, err = await pod.call(
            "POST", f"/api/v1/spaces/{space['id']}/applications", bob, json={"message": ""}
        )
        assert (resp.status, err["error"]) == (403, "applications_closed"), mode
    space = await make_space(pod, alice, joinMode="application")
    resp, err = await pod.call("POST", f"/api/v1/spaces/{space['id']}/applications", alice, json={})
    assert (resp.status, err["error"]) == (409, "already_member")
    resp, err = await pod.call(
        "POST", f"/api/v1/spaces/{space['id']}/applications", bob, json={"message": "m" * 2001}
    )
    assert resp.status == 422


async def test_members_roles_remove_and_leave(pod: Pod) -> None:
    alice, bob, carol = [await pod.register(n) for n in ("alice", "bob", "carol")]
    space = await make_space(pod, alice)
    sid = space["id"]
    await join(pod, bob, sid)
    await join(pod, carol, sid)

    _, members = await pod.call("GET", f"/api/v1/spaces/{sid}/members", bob, expect=200)
    assert {m["identity"]["id"]: m["role"] for m in members} == {
        carol.identity_id: "member",
        bob.identity_id: "member",
        alice.identity_id: "admin",
    }
    resp, page = await pod.call("GET", f"/api/v1/spaces/{sid}/members?per_page=2", bob)
    assert len(page) == 2 and "next" in parse_links(resp.headers["Link"])

    member = f"/api/v1/spaces/{sid}/members"
    resp, err = await pod.call(
        "PATCH", f"{member}/{carol.identity_id}", bob, json={"role": "admin"}
    )
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    for body in ({"role": "owner"}, {}, {"role": None}):
        resp, _ = await pod.call("PATCH", f"{member}/{carol.identity_id}", alice, json=body)
        assert resp.status == 422, body
    resp, _ = await pod.call("PATCH", f"{member}/{'0' * 32}", alice, json={"role": "admin"})
    assert resp.status == 404
    _, made = await pod.call(
        "PATCH", f"{member}/{bob.identity_id}", alice, json={"role": "admin"}, expect=200
    )
    assert made["role"] == "admin" and made["identity"]["id"] == bob.identity_id

    # Admins remove members; members cannot.
    resp, err = await pod.call("DELETE", f"{member}/{bob.identity_id}", carol)
    assert (resp.status, err["error"]) == (403, "not_an_admin")
    await pod.call("DELETE", f"{member}/{carol.identity_id}", bob, expect=204)
    await pod.call("DELETE", f"{member}/{carol.identity_id}", bob, expect=404)
    _, seen = await pod.call("GET", f"/api/v1/spaces/{sid}", carol, expect=200)
    assert seen["role"] is None

    # Two admins: one may leave. Then the last one may not, nor be demoted.
    await pod.call("POST", f"/api/v1/spaces/{sid}/leave", alice, expect=204)
    resp, err = await pod.call("POST", f"/api/v1/spaces/{sid}/leave", bob)
    assert (resp.status, err["error"]) == (409, "last_admin")
    resp, err = await pod.call("DELETE", f"{member}/{bob.identity_id}", bob)
    assert (resp.status, err["error"]) == (409, "last_admin")
    resp, err = await pod.call("PATCH", f"{member}/{bob.identity_id}", bob, json={"role": "member"})
    assert (resp.status, err["error"]) == (409, "last_admin")
    # Leaving twice, or a space one is not in: 403 (the space is public).
    resp, err = await pod.call("POST", f"/api/v1/spaces/{sid}/leave", alice)
    assert (resp.status, err["error"]) == (403, "not_a_member")

    await join(pod, carol, sid)
    await pod.call("POST", f"/api/v1/spaces/{sid}/leave", carol, expect=204)
    _, mine = await pod.call("GET", "/api/v1/spaces", carol, expect=200)
    assert mine == []

"""alice@A shares her `family` items with bob@B; bob reads exactly those through his pod."""

from __future__ import annotations

from typing import Any

from tests.federation.test_flows import stream
from tests.support import Pod, User, wait_for


async def _label(pod: Pod, user: User, name: str) -> str:
    _, label = await pod.call("POST", "/api/v1/labels", user, json={"name": name}, expect=201)
    return label["id"]


async def _post(
    pod: Pod,
    user: User,
    body: str,
    labels: list[str],
    visibility: str = "direct",
    to: list[str] | None = None,
) -> dict[str, Any]:
    payload: dict[str, Any] = {"body": body, "visibility": visibility, "labelIds": labels}
    if visibility == "direct":
        payload["recipients"] = to or []
    _, post = await pod.call("POST", "/api/v1/posts", user, json=payload, expect=201)
    return post


async def _incoming(pod: Pod, user: User) -> list[dict[str, Any]]:
    _, items = await pod.call("GET", "/api/v1/sharing/incoming", user, expect=200)
    return items


async def test_family_items_shared_across_pods(make_pod) -> None:
    a, b, c = await make_pod(), await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    carol = await c.register("carol")
    family = await _label(a, alice, "family")
    work = await _label(a, alice, "work")
    # Followers-only posts: nobody follows alice, so only a grant lets anyone read them.
    kids = await _post(a, alice, "the kids' drawings", [family], "followers")
    trip = await _post(a, alice, "trip photos", [family, work], "followers")
    plain = await _post(a, alice, "unlabelled thoughts", [], "followers")
    office = await _post(a, alice, "office party", [work], "followers")

    _, share = await a.call(
        "POST", "/api/v1/sharing", alice,
        json={"shared_with": f"bob@{b.host}", "scope": "specific_tags", "tag_ids": [family]},
        expect=201,
    )  # fmt: skip
    assert share["sharedWith"]["handle"] == f"bob@{b.host}"
    assert share["tags"] == [{"id": family, "name": "family"}]

    incoming = (await wait_for(lambda: _incoming(b, bob)))[0]
    assert incoming["owner"]["handle"] == f"alice@{a.host}"
    assert incoming["remote"] is True and incoming["canRead"] and not incoming["canWrite"]
    assert [t["name"] for t in incoming["tags"]] == ["family"]
    _, badge = await b.call("GET", "/api/v1/notifications/badge", bob, expect=200)
    assert badge == {"unread": 1}

    sid = incoming["id"]
    _, items = await b.call("GET", f"/api/v1/sharing/{sid}/items", bob, expect=200)
    assert sorted(i["body"] for i in items) == ["the kids' drawings", "trip photos"]
    _, one = await b.call(
        "GET", f"/api/v1/sharing/{sid}/item", bob, params={"item": kids["uri"]}, expect=200
    )
    assert one["body"] == "the kids' drawings"
    for hidden in (plain, office):
        await b.call(
            "GET", f"/api/v1/sharing/{sid}/item", bob, params={"item": hidden["uri"]}, expect=404
        )
    # An item on another origin is never fetched with bob's key.
    await b.call(
        "GET",
        f"/api/v1/sharing/{sid}/item",
        bob,
        params={"item": f"{c.url}/posts/{'a' * 32}"},
        expect=404,
    )

    # Read-only: bob cannot write, and alice's post is unchanged.
    await b.call(
        "PATCH", f"/api/v1/sharing/{sid}/item", bob, params={"item": trip["uri"]},
        json={"body": "defaced"}, expect=403,
    )  # fmt: skip
    _, same = await a.call("GET", f"/api/v1/posts/{trip['id']}", alice, expect=200)
    assert same["body"] == "trip photos"

    # Carol, with no grant, sees nothing of alice's even with a signed fetch of the pod.
    _, carol_stream = await c.call("GET", "/api/v1/streams/main", carol, expect=200)
    assert carol_stream == []

    # Revocation stops reads at once: the owner's pod decides, whatever bob's copy says.
    await a.call("DELETE", f"/api/v1/sharing/{share['id']}", alice, expect=204)
    await b.call(
        "GET", f"/api/v1/sharing/{sid}/item", bob, params={"item": kids["uri"]}, expect=404
    )

    async def copy_gone() -> bool:
        return await _incoming(b, bob) == []

    await wait_for(copy_gone)
    assert await stream(b, bob) == []


async def test_write_grant_lets_a_remote_grantee_edit(make_pod) -> None:
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    family = await _label(a, alice, "family")
    post = await _post(a, alice, "shopping list", [family], "followers")
    await a.call(
        "POST", "/api/v1/sharing", alice,
        json={"shared_with": f"bob@{b.host}", "scope": "specific_items", "item_ids": [post["id"]],
              "can_write": True},
        expect=201,
    )  # fmt: skip
    sid = (await wait_for(lambda: _incoming(b, bob)))[0]["id"]
    # Empty, or only zero-width and space characters: bob's pod says so (422), as alice's
    # would, rather than sending the edit and reporting the item as missing.
    for blank in ("", " \u200b\n\ufeff"):
        _, err = await b.call(
            "PATCH", f"/api/v1/sharing/{sid}/item", bob, params={"item": post["uri"]},
            json={"body": blank}, expect=422,
        )  # fmt: skip
        assert err["error"] == "validation_failed" and list(err["fields"]) == ["body"]
    _, seen = await a.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
    assert seen["body"] == "shopping list" and seen["updatedAt"] == post["updatedAt"]
    _, edited = await b.call(
        "PATCH", f"/api/v1/sharing/{sid}/item", bob, params={"item": post["uri"]},
        json={"body": "shopping list\n\nand milk"}, expect=200,
    )  # fmt: skip
    assert edited["body"] == "shopping list\n\nand milk"
    _, seen = await a.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)
    assert seen["body"] == "shopping list\n\nand milk"
    # No delete right.
    await b.call(
        "DELETE", f"/api/v1/sharing/{sid}/item", bob, params={"item": post["uri"]}, expect=403
    )
    await a.call("GET", f"/api/v1/posts/{post['id']}", alice, expect=200)


async def test_re_share_to_another_pod_comes_from_the_owner(make_pod) -> None:
    # The grantee's pod takes a share only from the actor it is attributed to (its owner).
    a, b = await make_pod(), await make_pod()
    alice, bob = await a.register("alice"), await a.register("bob")
    carol = await b.register("carol")
    family = await _label(a, alice, "family")
    kids = await _post(a, alice, "the kids' drawings", [family], "followers")
    _, parent = await a.call(
        "POST", "/api/v1/sharing", alice,
        json={"shared_with": bob.identity_id, "scope": "specific_tags", "tag_ids": [family],
              "can_share": True},
        expect=201,
    )  # fmt: skip
    _, child = await a.call(
        "POST", "/api/v1/sharing", bob,
        json={"shared_with": f"carol@{b.host}", "scope": "specific_items",
              "item_ids": [kids["id"]], "parent_id": parent["id"]},
        expect=201,
    )  # fmt: skip

    incoming = (await wait_for(lambda: _incoming(b, carol)))[0]
    assert incoming["owner"]["handle"] == f"alice@{a.host}"
    _, one = await b.call(
        "GET", f"/api/v1/sharing/{incoming['id']}/item", carol, params={"item": kids["uri"]},
        expect=200,
    )  # fmt: skip
    assert one["body"] == "the kids' drawings"

    # Bob's revocation reaches carol's pod too.
    await a.call("DELETE", f"/api/v1/sharing/{child['id']}", bob, expect=204)

    async def copy_gone() -> bool:
        return await _incoming(b, carol) == []

    await wait_for(copy_gone)

"""/api/v1/sharing on one pod: every route, its validation errors and its permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.sharing.helpers import (
    SHARING,
    app_user,
    author_stream,
    can_read,
    label,
    later,
    notifications,
    post,
    share,
)
from tests.support import GUID_RE, TIME_RE, Trio, parse_links

# --- create, read, list ---------------------------------------------------------------------


async def test_create_then_read_from_both_sides(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    family = await label(pod, alice, "family")
    out = await share(
        pod, alice, f"bob@{pod.host}", scope="specific_tags", tag_ids=[family],
        can_write=True, expires_at="2999-12-31T00:00:00Z",
    )  # fmt: skip
    assert GUID_RE.match(out["id"])
    assert out["owner"]["id"] == alice.identity_id
    assert out["grantedBy"]["id"] == alice.identity_id
    assert out["sharedWith"]["id"] == bob.identity_id
    assert out["sharedWith"]["handle"] == f"bob@{pod.host}"
    assert out["parentId"] is None
    assert out["scope"] == "specific_tags"
    assert out["tags"] == [{"id": family, "name": "family"}]
    assert out["itemIds"] == []
    assert (out["canRead"], out["canWrite"], out["canDelete"], out["canShare"]) == (
        True, True, False, False,
    )  # fmt: skip
    assert out["expiresAt"] == "2999-12-31T00:00:00.000Z"
    assert out["expired"] is False and out["remote"] is False
    assert TIME_RE.match(out["createdAt"]) and out["updatedAt"] == out["createdAt"]

    for who in (alice, bob):
        _, seen = await pod.call("GET", f"{SHARING}/{out['id']}", who, expect=200)
        assert seen == out
    # camelCase input is accepted as well as the seed's snake_case.
    camel = await share(pod, alice, trio.carol, scope="all", canRead=True)
    assert camel["sharedWith"]["id"] == trio.carol.identity_id
    _, mine = await pod.call("GET", f"{SHARING}/outgoing", alice, expect=200)
    assert [s["id"] for s in mine] == [camel["id"], out["id"]]
    _, theirs = await pod.call("GET", f"{SHARING}/incoming", bob, expect=200)
    assert [s["id"] for s in theirs] == [out["id"]]
    for empty in (("outgoing", bob), ("incoming", alice)):
        _, listed = await pod.call("GET", f"{SHARING}/{empty[0]}", empty[1], expect=200)
        assert listed == []


async def test_specific_items_scope(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    one = await post(pod, alice, "one")
    two = await post(pod, alice, "two")
    out = await share(pod, alice, bob, scope="specific_items", item_ids=[one["id"], one["id"]])
    assert out["itemIds"] == [one["id"]] and out["tags"] == []
    assert await can_read(pod, bob, one["id"])
    assert not await can_read(pod, bob, two["id"])


def _body(**fields: Any) -> dict[str, Any]:
    return {"shared_with": "bob", "scope": "all", **fields}


def _plain(key: str) -> str:
    return key.split(".")[0].replace("_", "").lower()


CREATE_ERRORS = [
    ({"scope": "all"}, "validation_failed", "shared_with"),
    (_body(scope="graph"), "scope_reserved", "scope"),
    (_body(scope="everything"), "validation_failed", "scope"),
    (_body(scope="specific_tags"), "validation_failed", "tag_ids"),
    (_body(scope="specific_items"), "validation_failed", "item_ids"),
    (_body(scope="specific_items", item_ids=["nope"]), "validation_failed", "item_ids"),
    (_body(scope="specific_tags", tag_ids=["a" * 32]), "validation_failed", "tag_ids"),
    (_body(can_read=False, can_write=True), "validation_failed", "can_read"),
    (_body(can_read=False, can_share=True), "validation_failed", "can_read"),
    (_body(expires_at="tomorrow"), "validation_failed", "expires_at"),
    (_body(expires_at="2001-01-01T00:00:00Z"), "validation_failed", "expires_at"),
    (_body(expires_at="0001-01-01T00:00:00+01:00"), "validation_failed", "expires_at"),
    (_body(shared_with="alice"), "validation_failed", "shared_with"),
    (_body(can_read="yes"), "validation_failed", "can_read"),
    (_body(tag_ids=["x"] * 201), "validation_failed", "tag_ids"),
    (_body(colour="red"), "validation_failed", "colour"),
    (_body(parent_id="f" * 32), "validation_failed", "parent_id"),
]


async def test_create_validation(trio: Trio) -> None:
    for payload, code, field in CREATE_ERRORS:
        _, err = await trio.pod.call("POST", SHARING, trio.alice, json=payload, expect=422)
        assert err["code"] == 422 and err["error"] == code, payload
        # Body-shape errors name fields in camelCase, the service's checks in the seed's
        # snake_case.
        assert field.replace("_", "") in {_plain(k) for k in err["fields"]}, (payload, err)
    _, listed = await trio.pod.call("GET", f"{SHARING}/outgoing", trio.alice, expect=200)
    assert listed == []


async def test_create_refuses_other_peoples_labels_and_posts(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    bobs_label = await label(pod, bob, "bob's")
    bobs_post = await post(pod, bob, "bob's post", labels=[bobs_label])
    await share(pod, alice, trio.carol, 422, scope="specific_tags", tag_ids=[bobs_label])
    await share(pod, alice, trio.carol, 422, scope="specific_items", item_ids=[bobs_post["id"]])
    assert not await can_read(pod, trio.carol, bobs_post["id"])


async def test_create_other_errors(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    _, err = await pod.call("POST", SHARING, alice, json=_body(shared_with="nobody"), expect=404)
    assert err["error"] == "not_found"
    await pod.call("POST", SHARING, alice, json=_body(shared_with="f" * 32), expect=404)
    await pod.call("POST", SHARING, alice, data=b"{", headers={"Content-Type": "application/json"},
                   expect=400)  # fmt: skip
    await pod.call("POST", SHARING, alice, data=b"{}", headers={"Content-Type": "text/plain"},
                   expect=415)  # fmt: skip
    await pod.call("POST", SHARING, None, json=_body(), expect=401)


async def test_naive_expiry_is_utc(trio: Trio) -> None:
    out = await share(trio.pod, trio.alice, trio.bob, expires_at="2999-06-01T12:00:00")
    assert out["expiresAt"] == "2999-06-01T12:00:00.000Z"
    out = await share(trio.pod, trio.alice, trio.bob, expires_at="2999-06-01T12:00:00+02:00")
    assert out["expiresAt"] == "2999-06-01T10:00:00.000Z"


# --- who may use which share ----------------------------------------------------------------


async def test_app_tokens_get_403_on_every_sharing_route(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    existing = await share(pod, alice, trio.bob)
    app = await app_user(pod, alice)
    sid = existing["id"]
    routes = [
        ("POST", SHARING, {"json": _body()}),
        ("GET", f"{SHARING}/outgoing", {}),
        ("GET", f"{SHARING}/incoming", {}),
        ("GET", f"{SHARING}/{sid}", {}),
        ("PUT", f"{SHARING}/{sid}", {"json": {"can_write": True}}),
        ("DELETE", f"{SHARING}/{sid}", {}),
        ("GET", f"{SHARING}/{sid}/items", {}),
        ("GET", f"{SHARING}/{sid}/item", {"params": {"item": "a" * 32}}),
        ("PATCH", f"{SHARING}/{sid}/item", {"params": {"item": "a" * 32}, "json": {"body": "x"}}),
        ("DELETE", f"{SHARING}/{sid}/item", {"params": {"item": "a" * 32}}),
    ]
    for method, path, kw in routes:
        _, err = await pod.call(method, path, app, expect=403, **kw)
        assert err["error"] == "first_party_only", (method, path)
    # Nothing changed: the share is still there, unchanged.
    _, same = await pod.call("GET", f"{SHARING}/{sid}", alice, expect=200)
    assert same == existing
    # The same app token still reads posts it has the scope for.
    await pod.call("GET", "/api/v1/streams/main", app, expect=200)


async def test_app_tokens_get_403_on_every_route_the_pod_serves_under_sharing(
    trio: Trio,
) -> None:
    # Read from the pod's own routes, so a sharing route added later is held to it too.
    pod, alice = trio.pod, trio.alice
    sid = (await share(pod, alice, trio.bob))["id"]
    app = await app_user(pod, alice)
    served = {
        (route.method, route.resource.canonical)
        for route in pod.app.router.routes()
        if route.resource is not None and route.resource.canonical.startswith(SHARING)
    }
    assert len(served) >= 10
    for method, path in sorted(served):
        kw: dict[str, Any] = {"params": {"item": "a" * 32}}
        if method in ("POST", "PUT", "PATCH"):
            kw["json"] = {}
        _, err = await pod.call(method, path.replace("{guid}", sid), app, expect=403, **kw)
        if method != "HEAD":  # which answers with no body
            assert err["error"] == "first_party_only", (method, path)


async def test_another_identitys_share_is_404(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    p = await post(pod, alice, "for bob")
    sid = (await share(pod, alice, bob, can_write=True, can_delete=True))["id"]
    item = {"params": {"item": p["id"]}}
    for sid_ in (sid, "f" * 32, "not-a-guid"):
        for method, path, kw in [
            ("GET", f"{SHARING}/{sid_}", {}),
            ("PUT", f"{SHARING}/{sid_}", {"json": {"can_write": False}}),
            ("DELETE", f"{SHARING}/{sid_}", {}),
            ("GET", f"{SHARING}/{sid_}/items", {}),
            ("GET", f"{SHARING}/{sid_}/item", item),
            ("PATCH", f"{SHARING}/{sid_}/item", {**item, "json": {"body": "carol was here"}}),
            ("DELETE", f"{SHARING}/{sid_}/item", item),
        ]:
            _, err = await pod.call(method, path, carol, expect=404, **kw)
            assert err["error"] == "not_found", (method, path)
    # The owner reads her own share but cannot read items "through" it: that is the grantee's.
    await pod.call("GET", f"{SHARING}/{sid}/items", alice, expect=404)
    _, still = await pod.call("GET", f"{SHARING}/{sid}", bob, expect=200)
    assert still["canWrite"] and still["canDelete"]
    _, same = await pod.call("GET", f"/api/v1/posts/{p['id']}", alice, expect=200)
    assert same["body"] == "for bob"


async def test_only_the_granter_may_put(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    sid = (await share(pod, alice, bob))["id"]
    _, err = await pod.call("PUT", f"{SHARING}/{sid}", bob, json={"can_write": True}, expect=403)
    assert err["error"] == "not_owner"
    await pod.call("PUT", f"{SHARING}/{sid}", carol, json={"can_write": True}, expect=404)
    _, out = await pod.call("GET", f"{SHARING}/{sid}", alice, expect=200)
    assert out["canWrite"] is False

    pod.clock.advance(timedelta(seconds=1))
    change = {"can_write": True, "expires_at": later(pod, days=1)}
    _, out = await pod.call("PUT", f"{SHARING}/{sid}", alice, json=change, expect=200)
    assert out["canWrite"] is True and out["canRead"] is True and out["scope"] == "all"
    assert out["expiresAt"] is not None and out["updatedAt"] > out["createdAt"]
    # An explicit null clears the expiry; leaving a field out keeps it.
    _, out = await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"expires_at": None},
                            expect=200)  # fmt: skip
    assert out["expiresAt"] is None and out["canWrite"] is True
    # A change to nothing is no change: no new time, nothing told.
    told = len(await notifications(pod, bob))
    pod.clock.advance(timedelta(seconds=1))
    for same in ({}, {"can_write": True, "scope": "all"}):
        _, again = await pod.call("PUT", f"{SHARING}/{sid}", alice, json=same, expect=200)
        assert again == out
    assert len(await notifications(pod, bob)) == told == 3


PUT_ERRORS = [
    ({"scope": "graph"}, "scope"),
    ({"scope": "nope"}, "scope"),
    ({"scope": "specific_tags"}, "tag_ids"),
    ({"scope": "specific_items", "item_ids": ["f" * 32]}, "item_ids"),
    ({"can_read": False}, "can_read"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": "soon"}, "expires_at"),
    ({"can_write": None}, "can_write"),
    ({"tag_ids": None}, "tag_ids"),
    ({"scope": None}, "scope"),
    ({"can_write": 1}, "can_write"),
    ({"owner": "bob"}, "owner"),
]


async def test_put_validation(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    before = await share(pod, alice, trio.bob, can_write=True)
    for change, field in PUT_ERRORS:
        _, err = await pod.call("PUT", f"{SHARING}/{before['id']}", alice, json=change,
                                expect=422)  # fmt: skip
        assert field.replace("_", "") in {_plain(k) for k in err["fields"]}, (change, err)
    _, after = await pod.call("GET", f"{SHARING}/{before['id']}", alice, expect=200)
    assert after == before


async def test_put_changes_scope(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    family, work = await label(pod, alice, "family"), await label(pod, alice, "work")
    kids = await post(pod, alice, "kids", labels=[family])
    desk = await post(pod, alice, "desk", labels=[work])
    sid = (await share(pod, alice, bob, scope="specific_tags", tag_ids=[family]))["id"]
    assert await can_read(pod, bob, kids["id"]) and not await can_read(pod, bob, desk["id"])
    _, out = await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"tag_ids": [work]},
                            expect=200)  # fmt: skip
    assert out["tags"] == [{"id": work, "name": "work"}]
    assert not await can_read(pod, bob, kids["id"]) and await can_read(pod, bob, desk["id"])
    _, out = await pod.call(
        "PUT", f"{SHARING}/{sid}", alice,
        json={"scope": "specific_items", "item_ids": [kids["id"]]}, expect=200,
    )  # fmt: skip
    assert out["scope"] == "specific_items" and out["tags"] == [] and out["itemIds"] == [kids["id"]]
    assert await can_read(pod, bob, kids["id"]) and not await can_read(pod, bob, desk["id"])
    _, out = await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"scope": "all"}, expect=200)
    assert out["itemIds"] == []
    assert await can_read(pod, bob, kids["id"]) and await can_read(pod, bob, desk["id"])


async def test_put_still_works_after_a_shared_item_or_label_is_gone(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    keep, gone = await post(pod, alice, "keep"), await post(pod, alice, "gone")
    items = await share(pod, alice, bob, scope="specific_items", item_ids=[keep["id"], gone["id"]])
    family, old = await label(pod, alice, "family"), await label(pod, alice, "old")
    tags = await share(pod, alice, bob, scope="specific_tags", tag_ids=[family, old])
    await pod.call("DELETE", f"/api/v1/posts/{gone['id']}", alice, expect=204)
    await pod.call("DELETE", f"/api/v1/labels/{old}", alice, expect=204)
    for sid in (items["id"], tags["id"]):
        _, out = await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"can_write": True},
                                expect=200)  # fmt: skip
        assert out["canWrite"] is True
    # The share still names the label it was made with.
    assert sorted((t["id"], t["name"]) for t in out["tags"]) == sorted(
        [(family, "family"), (old, "old")]
    )
    # New ids are still checked.
    await pod.call("PUT", f"{SHARING}/{items['id']}", alice,
                   json={"item_ids": [keep["id"], "e" * 32]}, expect=422)  # fmt: skip


# --- reading and writing through shares -----------------------------------------------------


async def test_reads_through_a_tag_share(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, work = await label(pod, alice, "family"), await label(pod, alice, "work")
    kids = await post(pod, alice, "kids", labels=[family])
    trip = await post(pod, alice, "trip", labels=[family, work])
    desk = await post(pod, alice, "desk", labels=[work])
    plain = await post(pod, alice, "plain")
    hello = await post(pod, alice, "hello world", "public")
    secret = await post(pod, alice, "to carol", "direct", to=[carol.identity_id])
    sid = (await share(pod, alice, bob, scope="specific_tags", tag_ids=[family]))["id"]

    _, items = await pod.call("GET", f"{SHARING}/{sid}/items", bob, expect=200)
    assert [i["id"] for i in items] == [trip["id"], kids["id"]]
    assert items[0]["body"] == "trip" and items[0]["author"] == f"alice@{pod.host}"
    assert items[0]["uri"] == trip["uri"]
    _, one = await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": kids["id"]},
                            expect=200)  # fmt: skip
    assert one["body"] == "kids"
    # Items the share does not cover are not read through it, even public ones.
    for other in (desk, plain, hello, secret):
        await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": other["id"]},
                       expect=404)  # fmt: skip
    await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": "zz"}, expect=404)
    _, err = await pod.call("GET", f"{SHARING}/{sid}/item", bob, expect=400)
    assert err["error"] == "missing_item"

    # Direct reads and the author's stream agree with the grant.
    for p, expected in ((kids, True), (trip, True), (desk, False), (plain, False),
                        (hello, True), (secret, False)):  # fmt: skip
        assert await can_read(pod, bob, p["id"]) is expected, p["body"]
    assert await author_stream(pod, bob, alice) == [hello["id"], trip["id"], kids["id"]]
    assert await author_stream(pod, carol, alice) == [secret["id"], hello["id"]]
    assert set(await author_stream(pod, alice, alice)) == {
        p["id"] for p in (kids, trip, desk, plain, hello, secret)
    }
    # The grantee never sees the owner's private labels.
    _, seen = await pod.call("GET", f"/api/v1/posts/{trip['id']}", bob, expect=200)
    assert seen["labelIds"] == []


async def test_items_paging(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    made = [await post(pod, alice, f"n{i}") for i in range(5)]
    sid = (await share(pod, alice, bob))["id"]
    resp, page = await pod.call("GET", f"{SHARING}/{sid}/items", bob, params={"per_page": "2"},
                                expect=200)  # fmt: skip
    seen = [i["id"] for i in page]
    links = parse_links(resp.headers.get("Link"))
    while "next" in links:
        resp, page = await pod.follow(links["next"], bob)
        seen += [i["id"] for i in page]
        links = parse_links(resp.headers.get("Link"))
    assert seen == [p["id"] for p in reversed(made)]


async def test_read_without_can_read(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    p = await post(pod, alice, "nothing for you")
    sid = (await share(pod, alice, bob, can_read=False))["id"]
    assert not await can_read(pod, bob, p["id"])
    assert await author_stream(pod, bob, alice) == []
    _, err = await pod.call("GET", f"{SHARING}/{sid}/items", bob, expect=403)
    assert err["error"] == "cannot_read"
    await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": p["id"]}, expect=403)
    await pod.call("PATCH", f"/api/v1/posts/{p['id']}", bob, json={"body": "x"}, expect=404)


async def test_write_needs_can_write_and_delete_needs_can_delete(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family = await label(pod, alice, "family")
    p = await post(pod, alice, "shopping list", labels=[family])
    sid = (await share(pod, alice, bob, scope="specific_tags", tag_ids=[family]))["id"]
    path, via = f"/api/v1/posts/{p['id']}", f"{SHARING}/{sid}/item"
    item = {"params": {"item": p["id"]}}

    # Read only: no writes, no deletes, whichever way bob asks.
    _, err = await pod.call("PATCH", path, bob, json={"body": "defaced"}, expect=403)
    assert err["error"] == "forbidden"
    await pod.call("PATCH", via, bob, json={"body": "defaced"}, expect=403, **item)
    await pod.call("DELETE", path, bob, expect=403)
    await pod.call("DELETE", via, bob, expect=403, **item)
    # Carol, with no grant at all, cannot even see it.
    await pod.call("PATCH", path, carol, json={"body": "defaced"}, expect=404)
    await pod.call("DELETE", path, carol, expect=404)
    _, same = await pod.call("GET", path, alice, expect=200)
    assert same["body"] == "shopping list"

    await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"can_write": True}, expect=200)
    _, edited = await pod.call("PATCH", path, bob, json={"body": "shopping list, milk"},
                               expect=200)  # fmt: skip
    assert edited["body"] == "shopping list, milk" and edited["author"]["id"] == alice.identity_id
    _, edited = await pod.call("PATCH", via, bob, json={"body": "and eggs"}, expect=200, **item)
    assert edited["body"] == "and eggs"
    # Writing text is not relabelling: labels stay the author's.
    await pod.call("PATCH", path, bob, json={"labelIds": []}, expect=403)
    _, mine = await pod.call("GET", path, alice, expect=200)
    assert mine["body"] == "and eggs" and mine["labelIds"] == [family]
    await pod.call("DELETE", path, bob, expect=403)

    await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"can_delete": True}, expect=200)
    await pod.call("DELETE", via, bob, expect=204, **item)
    await pod.call("GET", path, alice, expect=404)
    await pod.call("DELETE", path, bob, expect=404)


async def test_writes_outside_the_share_are_refused(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    family = await label(pod, alice, "family")
    inside = await post(pod, alice, "inside", labels=[family])
    outside = await post(pod, alice, "outside", "public")
    sid = (await share(pod, alice, bob, scope="specific_tags", tag_ids=[family], can_write=True,
                       can_delete=True))["id"]  # fmt: skip
    await pod.call("PATCH", f"/api/v1/posts/{outside['id']}", bob, json={"body": "x"}, expect=403)
    await pod.call("DELETE", f"/api/v1/posts/{outside['id']}", bob, expect=403)
    await pod.call("PATCH", f"{SHARING}/{sid}/item", bob, params={"item": outside["id"]},
                   json={"body": "x"}, expect=404)  # fmt: skip
    await pod.call("DELETE", f"{SHARING}/{sid}/item", bob, params={"item": outside["id"]},
                   expect=404)  # fmt: skip
    await pod.call("PATCH", f"/api/v1/posts/{inside['id']}", bob, json={"body": "ok"}, expect=200)
    # Validation of the new text still applies.
    await pod.call("PATCH", f"/api/v1/posts/{inside['id']}", bob, json={"body": " "}, expect=422)
    await pod.call("PATCH", f"{SHARING}/{sid}/item", bob, params={"item": inside["id"]},
                   json={}, expect=422)  # fmt: skip


async def test_use_after_expiry(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    p = await post(pod, alice, "for an hour")
    sid = (await share(pod, alice, bob, can_write=True, expires_at=later(pod, hours=1)))["id"]
    assert await can_read(pod, bob, p["id"])
    await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": p["id"]}, expect=200)

    pod.clock.advance(timedelta(hours=1, minutes=1))  # no job runs: the check compares with now
    assert not await can_read(pod, bob, p["id"])
    assert await author_stream(pod, bob, alice) == []
    await pod.call("PATCH", f"/api/v1/posts/{p['id']}", bob, json={"body": "late"}, expect=404)
    _, err = await pod.call("GET", f"{SHARING}/{sid}/items", bob, expect=403)
    assert err["error"] == "share_expired"
    await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": p["id"]}, expect=403)
    await pod.call("PATCH", f"{SHARING}/{sid}/item", bob, params={"item": p["id"]},
                   json={"body": "late"}, expect=403)  # fmt: skip
    # Still listed on both sides, marked expired; the granter may renew it.
    for who, side in ((alice, "outgoing"), (bob, "incoming")):
        _, listed = await pod.call("GET", f"{SHARING}/{side}", who, expect=200)
        assert [(s["id"], s["expired"]) for s in listed] == [(sid, True)]
    _, renewed = await pod.call(
        "PUT", f"{SHARING}/{sid}", alice, json={"expires_at": later(pod, hours=1)}, expect=200
    )
    assert renewed["expired"] is False
    assert await can_read(pod, bob, p["id"])


async def test_use_after_revoke(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    p = await post(pod, alice, "briefly shared")
    sid = (await share(pod, alice, bob, can_write=True, can_delete=True))["id"]
    assert await can_read(pod, bob, p["id"])
    await pod.call("DELETE", f"{SHARING}/{sid}", alice, expect=204)
    assert not await can_read(pod, bob, p["id"])
    await pod.call("PATCH", f"/api/v1/posts/{p['id']}", bob, json={"body": "x"}, expect=404)
    await pod.call("DELETE", f"/api/v1/posts/{p['id']}", bob, expect=404)
    for who in (alice, bob):
        await pod.call("GET", f"{SHARING}/{sid}", who, expect=404)
    await pod.call("GET", f"{SHARING}/{sid}/items", bob, expect=404)
    await pod.call("GET", f"{SHARING}/{sid}/item", bob, params={"item": p["id"]}, expect=404)
    await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"can_read": True}, expect=404)
    await pod.call("DELETE", f"{SHARING}/{sid}", alice, expect=404)
    kinds = [n["kind"] for n in await notifications(pod, bob)]
    assert kinds == ["share.revoked", "share.received"]


async def test_grantee_declines(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    p = await post(pod, alice, "unwanted")
    sid = (await share(pod, alice, bob))["id"]
    await pod.call("DELETE", f"{SHARING}/{sid}", bob, expect=204)
    assert not await can_read(pod, bob, p["id"])
    for who, side in ((alice, "outgoing"), (bob, "incoming")):
        _, listed = await pod.call("GET", f"{SHARING}/{side}", who, expect=200)
        assert listed == []
    told = await notifications(pod, alice)
    assert [(n["kind"], n["actor"]["id"], n["subjectId"]) for n in told] == [
        ("share.declined", bob.identity_id, sid)
    ]


# --- re-sharing -----------------------------------------------------------------------------


async def _family_setup(trio: Trio, **perms: Any) -> tuple[str, str, dict, dict, str]:
    pod, alice = trio.pod, trio.alice
    family, work = await label(pod, alice, "family"), await label(pod, alice, "work")
    kids = await post(pod, alice, "kids", labels=[family])
    desk = await post(pod, alice, "desk", labels=[work])
    parent = await share(pod, alice, trio.bob, scope="specific_tags", tag_ids=[family], **perms)
    return family, work, kids, desk, parent["id"]


async def test_sub_share_within_rights(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, kids, desk, parent = await _family_setup(trio, can_write=True, can_share=True)
    child = await share(pod, bob, carol, scope="specific_tags", tag_ids=[family],
                        parent_id=parent, can_write=True)  # fmt: skip
    assert child["owner"]["id"] == alice.identity_id
    assert child["grantedBy"]["id"] == bob.identity_id
    assert child["parentId"] == parent
    assert await can_read(pod, carol, kids["id"]) and not await can_read(pod, carol, desk["id"])
    await pod.call("PATCH", f"/api/v1/posts/{kids['id']}", carol, json={"body": "hi"}, expect=200)
    # It is listed as bob's outgoing and carol's incoming; the owner can see and end it.
    _, out = await pod.call("GET", f"{SHARING}/outgoing", bob, expect=200)
    assert [s["id"] for s in out] == [child["id"]]
    _, inc = await pod.call("GET", f"{SHARING}/incoming", carol, expect=200)
    assert [s["id"] for s in inc] == [child["id"]]
    await pod.call("GET", f"{SHARING}/{child['id']}", alice, expect=200)
    # Only bob changes it; alice may not PUT a share she did not grant, but may revoke it.
    await pod.call("PUT", f"{SHARING}/{child['id']}", alice, json={"can_write": False},
                   expect=403)  # fmt: skip
    await pod.call("DELETE", f"{SHARING}/{child['id']}", alice, expect=204)
    assert not await can_read(pod, carol, kids["id"])
    # Items inside the parent's scope can be re-shared one by one.
    one = await share(pod, bob, carol, scope="specific_items", item_ids=[kids["id"]],
                      parent_id=parent)  # fmt: skip
    assert one["itemIds"] == [kids["id"]] and await can_read(pod, carol, kids["id"])


BEYOND = [
    {"can_delete": True},
    {"can_share": True, "can_write": True, "can_delete": True},
    {"scope": "all"},
    {"scope": "specific_tags", "tag_ids": ["WORK"]},
    {"scope": "specific_tags", "tag_ids": ["FAMILY", "WORK"]},
    {"scope": "specific_items", "item_ids": ["DESK"]},
    {"scope": "specific_items", "item_ids": ["KIDS", "DESK"]},
]


async def test_sub_share_beyond_rights(trio: Trio) -> None:
    pod, bob, carol = trio.pod, trio.bob, trio.carol
    family, work, kids, desk, parent = await _family_setup(trio, can_write=True, can_share=True)
    names = {"FAMILY": family, "WORK": work, "KIDS": kids["id"], "DESK": desk["id"]}
    for beyond in BEYOND:
        fields: dict[str, Any] = {"scope": "specific_tags", "tag_ids": [family], **beyond}
        for key in ("tag_ids", "item_ids"):
            if key in fields:
                fields[key] = [names.get(v, v) for v in fields[key]]
        err = await share(pod, bob, carol, 403, parent_id=parent, **fields)
        assert err["error"] == "exceeds_own_rights", beyond
    _, listed = await pod.call("GET", f"{SHARING}/incoming", carol, expect=200)
    assert listed == []
    assert not await can_read(pod, carol, desk["id"])


async def test_sub_share_refusals(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, _, _, parent = await _family_setup(trio)  # no can_share
    body = {"scope": "specific_tags", "tag_ids": [family], "parent_id": parent}
    assert (await share(pod, bob, carol, 403, **body))["error"] == "exceeds_own_rights"
    # Only the grantee re-shares, and never back to the owner or to themselves.
    sharable = (await share(pod, alice, bob, can_share=True))["id"]
    await share(pod, carol, bob, 422, parent_id=sharable)
    await share(pod, alice, carol, 422, parent_id=sharable)
    await share(pod, bob, alice, 422, parent_id=sharable)
    await share(pod, bob, bob, 422, parent_id=sharable)
    # Expiry: inherited when not given, never beyond the parent's.
    limited = (await share(pod, alice, bob, can_share=True, expires_at=later(pod, hours=2)))["id"]
    child = await share(pod, bob, carol, parent_id=limited)
    _, parent_out = await pod.call("GET", f"{SHARING}/{limited}", bob, expect=200)
    assert child["expiresAt"] == parent_out["expiresAt"]
    err = await share(pod, bob, carol, 403, parent_id=limited, expires_at=later(pod, hours=3))
    assert err["error"] == "exceeds_own_rights"
    sooner = await share(pod, bob, carol, parent_id=limited, expires_at=later(pod, hours=1))
    assert sooner["expiresAt"] < parent_out["expiresAt"]
    # An expired parent cannot be re-shared.
    pod.clock.advance(timedelta(hours=3))
    assert (await share(pod, bob, carol, 403, parent_id=limited))["error"] == "exceeds_own_rights"


async def test_sub_share_dies_with_its_parent(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, kids, _, parent = await _family_setup(trio, can_share=True)
    child = (await share(pod, bob, carol, scope="specific_tags", tag_ids=[family],
                         parent_id=parent, can_share=True))["id"]  # fmt: skip
    assert await can_read(pod, carol, kids["id"])
    await pod.call("DELETE", f"{SHARING}/{parent}", alice, expect=204)
    assert not await can_read(pod, carol, kids["id"])
    await pod.call("GET", f"{SHARING}/{child}", carol, expect=404)
    _, listed = await pod.call("GET", f"{SHARING}/outgoing", bob, expect=200)
    assert listed == []
    assert "share.revoked" in [n["kind"] for n in await notifications(pod, carol)]


async def test_sub_share_dies_when_the_grantee_declines_the_parent(trio: Trio) -> None:
    pod, bob, carol = trio.pod, trio.bob, trio.carol
    family, _, kids, _, parent = await _family_setup(trio, can_share=True)
    await share(pod, bob, carol, scope="specific_tags", tag_ids=[family], parent_id=parent)
    await pod.call("DELETE", f"{SHARING}/{parent}", bob, expect=204)
    assert not await can_read(pod, carol, kids["id"])
    _, listed = await pod.call("GET", f"{SHARING}/incoming", carol, expect=200)
    assert listed == []


async def test_sub_share_clamped_when_the_parent_shrinks(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, kids, _, parent = await _family_setup(
        trio, can_write=True, can_delete=True, can_share=True
    )
    child = (await share(pod, bob, carol, scope="specific_tags", tag_ids=[family],
                         parent_id=parent, can_write=True, can_delete=True))["id"]  # fmt: skip
    path = f"/api/v1/posts/{kids['id']}"
    await pod.call("PATCH", path, carol, json={"body": "carol's edit"}, expect=200)

    until = later(pod, hours=1)
    await pod.call("PUT", f"{SHARING}/{parent}", alice,
                   json={"can_write": False, "expires_at": until}, expect=200)  # fmt: skip
    _, clamped = await pod.call("GET", f"{SHARING}/{child}", carol, expect=200)
    assert (clamped["canRead"], clamped["canWrite"], clamped["canDelete"]) == (True, False, True)
    assert clamped["expiresAt"] == until
    await pod.call("PATCH", path, carol, json={"body": "again"}, expect=403)
    assert "share.changed" in [n["kind"] for n in await notifications(pod, carol)]
    # Bob cannot widen his re-share beyond what he now holds.
    await pod.call("PUT", f"{SHARING}/{child}", bob, json={"can_write": True}, expect=403)
    await pod.call("PUT", f"{SHARING}/{child}", bob, json={"expires_at": None}, expect=403)
    # Widening the parent again does not widen the child by itself, nor tell carol anything.
    told = len(await notifications(pod, carol))
    await pod.call("PUT", f"{SHARING}/{parent}", alice, json={"can_write": True}, expect=200)
    _, same = await pod.call("GET", f"{SHARING}/{child}", carol, expect=200)
    assert same == clamped
    assert len(await notifications(pod, carol)) == told
    # A parent that may no longer be re-shared takes its re-shares with it.
    await pod.call("PUT", f"{SHARING}/{parent}", alice, json={"can_share": False}, expect=200)
    await pod.call("GET", f"{SHARING}/{child}", carol, expect=404)
    assert not await can_read(pod, carol, kids["id"])


async def test_sub_share_survives_a_wider_parent_scope(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    _, work, kids, desk, parent = await _family_setup(trio, can_share=True)
    child = (await share(pod, bob, carol, scope="specific_items", item_ids=[kids["id"]],
                         parent_id=parent))["id"]  # fmt: skip
    # Wider: everything alice has. The child still fits and stays.
    await pod.call("PUT", f"{SHARING}/{parent}", alice, json={"scope": "all"}, expect=200)
    await pod.call("GET", f"{SHARING}/{child}", carol, expect=200)
    assert await can_read(pod, carol, kids["id"])
    # Narrower, so that the child no longer fits: it goes.
    await pod.call("PUT", f"{SHARING}/{parent}", alice,
                   json={"scope": "specific_tags", "tag_ids": [work]}, expect=200)  # fmt: skip
    await pod.call("GET", f"{SHARING}/{child}", carol, expect=404)
    assert not await can_read(pod, carol, kids["id"])
    assert await can_read(pod, bob, desk["id"])


async def _reads(trio: Trio, who: Any, share_id: str, item: dict) -> dict[str, Any]:
    """What `who` gets of `item`: directly, in alice's posts, and through the share."""
    pod, path = trio.pod, f"{SHARING}/{share_id}"
    _, listed = await pod.call("GET", f"{path}/items", who, expect=200)
    resp, _ = await pod.call("GET", f"{path}/item", who, params={"item": item["id"]})
    return {
        "post": await can_read(pod, who, item["id"]),
        "stream": item["id"] in await author_stream(pod, who, trio.alice),
        "items": [i["id"] for i in listed],
        "item": resp.status,
    }


@pytest.mark.parametrize("how", ["unlabel", "delete_label"])
async def test_item_re_share_ends_when_the_parent_no_longer_covers_it(trio: Trio, how: str) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, kids, _, parent = await _family_setup(trio, can_write=True, can_share=True)
    dave = await pod.register("dave")
    child = (await share(pod, bob, carol, scope="specific_items", item_ids=[kids["id"]],
                         parent_id=parent, can_write=True, can_share=True))["id"]  # fmt: skip
    grandchild = (await share(pod, carol, dave, scope="specific_items", item_ids=[kids["id"]],
                              parent_id=child))["id"]  # fmt: skip
    covered = {"post": True, "stream": True, "items": [kids["id"]], "item": 200}
    for who, sid in ((bob, parent), (carol, child), (dave, grandchild)):
        assert await _reads(trio, who, sid, kids) == covered

    # The item leaves the parent's scope: the re-shares of it stop granting it at once.
    if how == "unlabel":
        await pod.call("PATCH", f"/api/v1/posts/{kids['id']}", alice, json={"labelIds": []},
                       expect=200)  # fmt: skip
    else:
        await pod.call("DELETE", f"/api/v1/labels/{family}", alice, expect=204)
    gone = {"post": False, "stream": False, "items": [], "item": 404}
    for who, sid in ((bob, parent), (carol, child), (dave, grandchild)):
        assert await _reads(trio, who, sid, kids) == gone, who.username
    path = f"/api/v1/posts/{kids['id']}"
    await pod.call("PATCH", path, carol, json={"body": "carol's edit"}, expect=404)
    await pod.call("PATCH", f"{SHARING}/{child}/item", carol, params={"item": kids["id"]},
                   json={"body": "carol's edit"}, expect=404)  # fmt: skip
    _, same = await pod.call("GET", path, alice, expect=200)
    assert same["body"] == "kids"
    # The re-shares themselves stay, and cover the item again once the parent does.
    if how == "unlabel":
        await pod.call("PATCH", path, alice, json={"labelIds": [family]}, expect=200)
        for who, sid in ((bob, parent), (carol, child), (dave, grandchild)):
            assert await _reads(trio, who, sid, kids) == covered


@pytest.mark.parametrize("how", ["unlabel", "delete_label"])
async def test_item_re_share_can_be_changed_after_its_item_leaves_the_parent(
    trio: Trio, how: str
) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    family, _, kids, _, parent = await _family_setup(trio, can_write=True, can_share=True)
    child = (await share(pod, bob, carol, scope="specific_items", item_ids=[kids["id"]],
                         parent_id=parent, can_write=True))["id"]  # fmt: skip
    if how == "unlabel":
        await pod.call("PATCH", f"/api/v1/posts/{kids['id']}", alice, json={"labelIds": []},
                       expect=200)  # fmt: skip
    else:
        await pod.call("DELETE", f"/api/v1/labels/{family}", alice, expect=204)
    # Bob may still take a right away from his re-share, and give it back: the item it names
    # grants nothing while the parent does not cover it.
    path = f"{SHARING}/{child}"
    _, out = await pod.call("PUT", path, bob, json={"can_write": False}, expect=200)
    assert out["canWrite"] is False and out["itemIds"] == [kids["id"]]
    await pod.call("PUT", path, bob, json={"can_write": True}, expect=200)
    assert not await can_read(pod, carol, kids["id"])
    # Rights and items beyond the parent's are still refused.
    _, err = await pod.call("PUT", path, bob, json={"can_delete": True}, expect=403)
    assert err["error"] == "exceeds_own_rights"
    other = await post(pod, alice, "other")
    _, err = await pod.call("PUT", path, bob, json={"item_ids": [kids["id"], other["id"]]},
                            expect=403)  # fmt: skip
    assert err["error"] == "exceeds_own_rights"


# --- paging ---------------------------------------------------------------------------------


async def test_outgoing_and_incoming_limit_offset(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    made = []
    for _ in range(5):
        made.append((await share(pod, alice, bob))["id"])
        pod.clock.advance(timedelta(milliseconds=1))  # within one millisecond, guids decide
    newest_first = list(reversed(made))
    for who, side in ((alice, "outgoing"), (bob, "incoming")):
        path = f"{SHARING}/{side}"
        resp, page = await pod.call("GET", path, who, params={"limit": "2"}, expect=200)
        assert [s["id"] for s in page] == newest_first[:2]
        assert resp.headers["X-Total-Count"] == "5"
        links = parse_links(resp.headers["Link"])
        assert set(links) == {"first", "next", "last"}
        assert "offset=0" in links["first"] and "offset=4" in links["last"]
        resp, page = await pod.follow(links["next"], who)
        assert [s["id"] for s in page] == newest_first[2:4]
        links = parse_links(resp.headers["Link"])
        assert set(links) == {"first", "previous", "next", "last"}
        resp, page = await pod.follow(links["next"], who)
        assert [s["id"] for s in page] == newest_first[4:]
        links = parse_links(resp.headers["Link"])
        assert set(links) == {"first", "previous", "last"}
        resp, page = await pod.follow(links["previous"], who)
        assert [s["id"] for s in page] == newest_first[2:4]
        _, page = await pod.call("GET", path, who, params={"offset": "3"}, expect=200)
        assert [s["id"] for s in page] == newest_first[3:]
        _, page = await pod.call("GET", path, who, params={"offset": "9"}, expect=200)
        assert page == []
        _, page = await pod.call("GET", path, who, params={"limit": "1000"}, expect=200)
        assert len(page) == 5
        for bad in ({"limit": "0"}, {"limit": "x"}, {"offset": "-1"}, {"offset": "1.5"}):
            _, err = await pod.call("GET", path, who, params=bad, expect=400)
            assert err["error"].startswith("invalid_")


async def test_outgoing_per_page_and_cursor(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    made = [(await share(pod, alice, bob))["id"] for _ in range(5)]
    for who, side in ((alice, "outgoing"), (bob, "incoming")):
        snapshot = list(reversed(made))
        resp, page = await pod.call("GET", f"{SHARING}/{side}", who, params={"per_page": "2"},
                                    expect=200)  # fmt: skip
        seen = [s["id"] for s in page]
        links = parse_links(resp.headers["Link"])
        assert "cursor=" in links["next"] and "per_page=2" in links["next"]
        while "next" in links:
            # A share made meanwhile does not shift the pages already handed out.
            if len(seen) == 2:
                made.append((await share(pod, alice, bob))["id"])
            resp, page = await pod.follow(links["next"], who)
            seen += [s["id"] for s in page]
            links = parse_links(resp.headers["Link"])
        assert seen == snapshot
        await pod.call("GET", f"{SHARING}/{side}", who, params={"cursor": "garbage"}, expect=400)

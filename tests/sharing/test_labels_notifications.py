"""/api/v1/labels, labels on posts, and /api/v1/notifications (share events on one pod)."""

from __future__ import annotations

from datetime import timedelta

from tests.sharing.helpers import (
    SHARING,
    app_user,
    badge,
    can_read,
    label,
    notifications,
    post,
    share,
)
from tests.social.helpers import walk
from tests.support import GUID_RE, TIME_RE, Trio, parse_links

LABELS = "/api/v1/labels"

# --- labels ---------------------------------------------------------------------------------


async def test_label_crud(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    _, made = await pod.call("POST", LABELS, alice, json={"name": " family ", "color": "#2a9d8f"},
                             expect=201)  # fmt: skip
    assert GUID_RE.match(made["id"])
    assert made["name"] == "family" and made["color"] == "#2a9d8f"
    assert TIME_RE.match(made["createdAt"]) and made["updatedAt"] == made["createdAt"]
    pod.clock.advance(timedelta(milliseconds=1))  # within one millisecond, order is by guid
    _, plain = await pod.call("POST", LABELS, alice, json={"name": "work"}, expect=201)
    assert plain["color"] == ""

    _, listed = await pod.call("GET", LABELS, alice, expect=200)
    assert [x["id"] for x in listed] == [plain["id"], made["id"]]
    _, one = await pod.call("GET", f"{LABELS}/{made['id']}", alice, expect=200)
    assert one == made

    pod.clock.advance(timedelta(seconds=1))
    _, renamed = await pod.call("PATCH", f"{LABELS}/{made['id']}", alice,
                                json={"name": "Family"}, expect=200)  # fmt: skip
    assert renamed["name"] == "Family" and renamed["color"] == "#2a9d8f"
    assert renamed["updatedAt"] > renamed["createdAt"]
    _, recoloured = await pod.call("PATCH", f"{LABELS}/{made['id']}", alice,
                                   json={"color": ""}, expect=200)  # fmt: skip
    assert recoloured["name"] == "Family" and recoloured["color"] == ""

    await pod.call("DELETE", f"{LABELS}/{made['id']}", alice, expect=204)
    await pod.call("GET", f"{LABELS}/{made['id']}", alice, expect=404)
    await pod.call("DELETE", f"{LABELS}/{made['id']}", alice, expect=404)
    _, listed = await pod.call("GET", LABELS, alice, expect=200)
    assert [x["id"] for x in listed] == [plain["id"]]


async def test_label_names_are_unique_per_owner(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    first = await label(pod, alice, "family")
    other = await label(pod, alice, "work")
    for name in ("family", "FAMILY", " Family "):
        _, err = await pod.call("POST", LABELS, alice, json={"name": name}, expect=409)
        assert err["error"] == "label_exists"
    _, err = await pod.call("PATCH", f"{LABELS}/{other}", alice, json={"name": "Family"},
                            expect=409)  # fmt: skip
    assert err["error"] == "label_exists"
    # Renaming a label to its own name (another case) is fine; another owner may use the name.
    await pod.call("PATCH", f"{LABELS}/{first}", alice, json={"name": "FAMILY"}, expect=200)
    await label(pod, bob, "family")


async def test_label_names_are_unique_ignoring_case_in_any_script(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    for name, twins in [
        ("Ärger", ["ärger", "ÄRGER"]),
        ("Straße", ["STRASSE", "strasse"]),
        ("Ελλάδα", ["ελλάδα", "ΕΛΛΆΔΑ"]),
        ("caf\u00e9", ["cafe\u0301", "CAF\u00c9"]),  # é composed, and as e + accent
    ]:
        made = await label(pod, alice, name)
        for twin in twins:
            _, err = await pod.call("POST", LABELS, alice, json={"name": twin}, expect=409)
            assert err["error"] == "label_exists", twin
        other = await label(pod, alice, f"other {name}")
        _, err = await pod.call("PATCH", f"{LABELS}/{other}", alice, json={"name": twins[0]},
                                expect=409)  # fmt: skip
        assert err["error"] == "label_exists"
        # Its own name in another case is a rename, not a clash.
        await pod.call("PATCH", f"{LABELS}/{made}", alice, json={"name": twins[0]}, expect=200)


LABEL_ERRORS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 51}, "name"),
    ({"name": 5}, "name"),
    ({"name": "ok", "color": "red"}, "color"),
    ({"name": "ok", "color": "#12345g"}, "color"),
    ({"name": "ok", "color": "#1234567"}, "color"),
    ({"name": "ok", "owner": "bob"}, "owner"),
]


async def test_label_validation(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    existing = await label(pod, alice, "existing")
    for body, field in LABEL_ERRORS:
        _, err = await pod.call("POST", LABELS, alice, json=body, expect=422)
        assert err["error"] == "validation_failed" and field in err["fields"], (body, err)
        if body:
            _, err = await pod.call("PATCH", f"{LABELS}/{existing}", alice, json=body, expect=422)
            assert field in err["fields"], (body, err)
    _, listed = await pod.call("GET", LABELS, alice, expect=200)
    assert [(x["name"], x["color"]) for x in listed] == [("existing", "")]


async def test_someone_elses_label_is_404(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    mine = await label(pod, alice, "mine")
    await pod.call("GET", f"{LABELS}/{mine}", bob, expect=404)
    await pod.call("PATCH", f"{LABELS}/{mine}", bob, json={"name": "ours"}, expect=404)
    await pod.call("DELETE", f"{LABELS}/{mine}", bob, expect=404)
    await pod.call("GET", f"{LABELS}/not-a-guid", bob, expect=404)
    _, listed = await pod.call("GET", LABELS, bob, expect=200)
    assert listed == []
    _, same = await pod.call("GET", f"{LABELS}/{mine}", alice, expect=200)
    assert same["name"] == "mine"


async def test_label_list_pages(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    made = []
    for i in range(5):
        made.append(await label(pod, alice, f"l{i}"))
        pod.clock.advance(timedelta(milliseconds=1))  # within one millisecond, guids decide
    resp, page = await pod.call("GET", LABELS, alice, params={"per_page": "2"}, expect=200)
    seen = [x["id"] for x in page]
    links = parse_links(resp.headers["Link"])
    while "next" in links:
        resp, page = await pod.follow(links["next"], alice)
        seen += [x["id"] for x in page]
        links = parse_links(resp.headers["Link"])
    assert seen == list(reversed(made))


async def test_label_routes_need_private_scopes(trio: Trio) -> None:
    pod, alice = trio.pod, trio.alice
    reader = await app_user(pod, alice, {"private:read"})
    await pod.call("GET", LABELS, reader, expect=200)
    _, err = await pod.call("POST", LABELS, reader, json={"name": "x"}, expect=403)
    assert err["error"] == "insufficient_scope"
    writer = await app_user(pod, alice, {"private:modify"})
    await pod.call("POST", LABELS, writer, json={"name": "x"}, expect=201)
    await pod.call("GET", LABELS, None, expect=401)


# --- labels on posts ------------------------------------------------------------------------


async def test_posts_carry_their_authors_labels(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    family, work = await label(pod, alice, "family"), await label(pod, alice, "work")
    p = await post(pod, alice, "labelled", "public", labels=[work, family, work])
    assert p["labelIds"] == sorted([family, work])
    _, seen = await pod.call("GET", f"/api/v1/posts/{p['id']}", bob, expect=200)
    assert seen["labelIds"] == []  # private to the author
    _, relabelled = await pod.call("PATCH", f"/api/v1/posts/{p['id']}", alice,
                                   json={"labelIds": [family]}, expect=200)  # fmt: skip
    assert relabelled["labelIds"] == [family] and relabelled["body"] == "labelled"
    # Deleting a label takes it off the posts, which stay.
    await pod.call("DELETE", f"{LABELS}/{family}", alice, expect=204)
    _, after = await pod.call("GET", f"/api/v1/posts/{p['id']}", alice, expect=200)
    assert after["labelIds"] == []


async def test_post_with_foreign_or_unknown_label_is_422(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    bobs = await label(pod, bob, "bob's")
    mine = await label(pod, alice, "mine")
    for ids in ([bobs], [mine, bobs], ["f" * 32], ["nope"]):
        _, err = await pod.call("POST", "/api/v1/posts", alice,
                                json={"body": "x", "labelIds": ids}, expect=422)  # fmt: skip
        assert err["error"] == "validation_failed" and "labelIds" in err["fields"]
    p = await post(pod, alice, "mine", labels=[mine])
    _, err = await pod.call("PATCH", f"/api/v1/posts/{p['id']}", alice,
                            json={"labelIds": [bobs]}, expect=422)  # fmt: skip
    assert "labelIds" in err["fields"]
    _, same = await pod.call("GET", f"/api/v1/posts/{p['id']}", alice, expect=200)
    assert same["labelIds"] == [mine]
    _, stream = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}/posts", alice,
                               expect=200)  # fmt: skip
    assert [x["id"] for x in stream] == [p["id"]]


async def test_relabelling_moves_a_post_in_and_out_of_a_tag_share(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    family = await label(pod, alice, "family")
    p = await post(pod, alice, "not yet")
    await share(pod, alice, bob, scope="specific_tags", tag_ids=[family])
    assert not await can_read(pod, bob, p["id"])
    await pod.call("PATCH", f"/api/v1/posts/{p['id']}", alice, json={"labelIds": [family]},
                   expect=200)  # fmt: skip
    assert await can_read(pod, bob, p["id"])
    await pod.call("DELETE", f"{LABELS}/{family}", alice, expect=204)
    assert not await can_read(pod, bob, p["id"])


# --- notifications --------------------------------------------------------------------------


async def test_share_events_notify_the_grantee(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    assert await badge(pod, bob) == 0
    sid = (await share(pod, alice, bob))["id"]
    await pod.call("PUT", f"{SHARING}/{sid}", alice, json={"can_write": True}, expect=200)
    await pod.call("DELETE", f"{SHARING}/{sid}", alice, expect=204)

    items = await notifications(pod, bob)
    assert [n["kind"] for n in items] == ["share.revoked", "share.changed", "share.received"]
    for n in items:
        assert GUID_RE.match(n["id"]) and TIME_RE.match(n["createdAt"])
        assert n["actor"]["id"] == alice.identity_id and n["subjectId"] == sid
        assert n["read"] is False
    assert await badge(pod, bob) == 3
    # Nobody else hears of it.
    assert await notifications(pod, carol) == []
    assert await notifications(pod, alice) == []


async def test_notices_written_together_are_listed_newest_first(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    told = []  # (kind, actor) of bob's notifications in the order they are written
    for _ in range(10):
        sid = (await share(pod, alice, bob, can_share=True))["id"]
        child = (await share(pod, bob, carol, parent_id=sid, can_share=True))["id"]
        await share(pod, carol, bob, parent_id=child)
        # One revocation tells bob twice in one transaction, most likely in one millisecond:
        # first of carol's re-share to him (the innermost goes first), then of alice's share.
        await pod.call("DELETE", f"{SHARING}/{sid}", alice, expect=204)
        told += [("share.received", alice), ("share.received", carol),
                 ("share.revoked", carol), ("share.revoked", alice)]  # fmt: skip
    expected = [(kind, who.identity_id) for kind, who in reversed(told)]
    items = await notifications(pod, bob, per_page="100")
    assert [(n["kind"], n["actor"]["id"]) for n in items] == expected
    # Pages follow the same order.
    pages, _ = await walk(pod, bob, "/notifications", per_page=3)
    assert [n["id"] for page in pages for n in page] == [n["id"] for n in items]


async def test_read_state(trio: Trio) -> None:
    pod, alice, bob, carol = trio.pod, trio.alice, trio.bob, trio.carol
    for _ in range(3):
        await share(pod, alice, bob)
    await share(pod, alice, carol)
    first, second, third = await notifications(pod, bob)

    _, out = await pod.call("POST", f"/api/v1/notifications/{second['id']}/read", bob, expect=200)
    assert out == {"marked": 1}
    assert await badge(pod, bob) == 2
    unread = await notifications(pod, bob, unread="true")
    assert [n["id"] for n in unread] == [first["id"], third["id"]]
    everything = await notifications(pod, bob)
    assert [n["read"] for n in everything] == [False, True, False]
    # Marking it again is harmless; someone else's or an unknown one is not found.
    await pod.call("POST", f"/api/v1/notifications/{second['id']}/read", bob, expect=200)
    assert await badge(pod, bob) == 2
    carols = (await notifications(pod, carol))[0]
    await pod.call("POST", f"/api/v1/notifications/{carols['id']}/read", bob, expect=404)
    await pod.call("POST", f"/api/v1/notifications/{'f' * 32}/read", bob, expect=404)
    assert await badge(pod, carol) == 1

    _, out = await pod.call("POST", "/api/v1/notifications/read", bob, expect=200)
    assert out == {"marked": 2}
    assert await badge(pod, bob) == 0
    assert await notifications(pod, bob, unread="true") == []
    assert all(n["read"] for n in await notifications(pod, bob))
    _, out = await pod.call("POST", "/api/v1/notifications/read", bob, expect=200)
    assert out == {"marked": 0}
    assert await badge(pod, carol) == 1


async def test_notification_pages(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    for _ in range(5):
        await share(pod, alice, bob)
    everything = [n["id"] for n in await notifications(pod, bob)]
    assert len(everything) == 5
    resp, page = await pod.call("GET", "/api/v1/notifications", bob,
                                params={"per_page": "2", "unread": "true"}, expect=200)  # fmt: skip
    seen = [n["id"] for n in page]
    links = parse_links(resp.headers["Link"])
    assert "unread=true" in links["next"]
    while "next" in links:
        resp, page = await pod.follow(links["next"], bob)
        seen += [n["id"] for n in page]
        links = parse_links(resp.headers["Link"])
    assert seen == everything


async def test_notification_routes_need_their_scope(trio: Trio) -> None:
    pod, alice, bob = trio.pod, trio.alice, trio.bob
    await share(pod, alice, bob)
    app = await app_user(pod, bob, {"notifications"})
    assert len(await notifications(pod, app)) == 1
    assert await badge(pod, app) == 1
    other = await app_user(pod, bob, {"public:read"})
    for method, path in (
        ("GET", "/api/v1/notifications"),
        ("GET", "/api/v1/notifications/badge"),
        ("POST", "/api/v1/notifications/read"),
    ):
        _, err = await pod.call(method, path, other, expect=403)
        assert err["error"] == "insufficient_scope"
        await pod.call(method, path, None, expect=401)
    assert await badge(pod, bob) == 1

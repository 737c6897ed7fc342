"""API conventions: JSON only, `.json` paths, the error shape, keyset pagination, isolated pods."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from node.appkeys import DB, SERVICES
from node.clock import ManualClock, iso
from node.store import accounts as account_store
from tests.conftest import PodFactory
from tests.support import GUID_RE, TIME_RE, Pod, User, parse_links

SESSIONS = "/api/v1/sessions"
CHANGELOG = "/api/v1/accounts/current/changelog"


class FrozenClock(ManualClock):
    """Stands still unless advanced: every row written meanwhile shares one timestamp."""

    def __init__(self) -> None:
        super().__init__()
        self._start = datetime.now(UTC)

    def now(self) -> datetime:
        return self._start + self._offset


def cursor(data: Any) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def logins(pod: Pod, username: str, n: int) -> list[str]:
    """Log in n times; returns the new session guids."""
    out = []
    for _ in range(n):
        _, data = await pod.login(username)
        out.append(data["session"]["id"])
    return out


async def all_ids(pod: Pod, user: User, path: str = SESSIONS) -> list[str]:
    _, items = await pod.call("GET", f"{path}?per_page=100", user, expect=200)
    assert len(items) < 100
    return [i["id"] for i in items]


def assert_newest_first(items: list[dict[str, Any]]) -> None:
    keys = [(i["createdAt"], i["id"]) for i in items]
    assert all(a > b for a, b in pairwise(keys)), keys


# --- JSON only ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "",
        "*/*",
        "application/json",
        "application/*",
        "Application/JSON",
        "text/html, application/json;q=0.5",
        "text/html;q=0.9, */*;q=0.1",
    ],
)
async def test_json_accept_headers_are_served(pod: Pod, accept: str | None) -> None:
    alice = await pod.register("alice")
    headers = {} if accept is None else {"Accept": accept}
    resp, data = await pod.call(
        "GET", "/api/v1/identity/current", alice, headers=headers, expect=200
    )
    assert resp.content_type == "application/json"
    assert data["id"] == alice.identity_id


@pytest.mark.parametrize(
    "accept",
    ["text/html", "application/xml", "text/plain, text/html", "application/json;q=0", "image/*"],
)
async def test_other_accept_headers_are_406(pod: Pod, accept: str) -> None:
    alice = await pod.register("alice")
    body = {"username": "alice", "password": alice.password}
    for method, path in [
        ("GET", "/api/v1/identity/current"),
        ("GET", "/api/v1/system/version"),
        ("POST", "/api/v1/sessions"),
        ("GET", "/api/v1/no/such/route"),
    ]:
        resp, data = await pod.call(method, path, alice, headers={"Accept": accept}, json=body)
        assert resp.status == 406, (method, path)
        assert resp.content_type == "application/json"
        assert data == {
            "code": 406,
            "error": "not_acceptable",
            "message": "This API speaks application/json only.",
        }
    # Nothing happened: no session was created by the refused login.
    assert len(await all_ids(pod, alice)) == 1


async def test_json_suffix_works_on_every_kind_of_path(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, data = await pod.call("GET", "/api/v1/system/version.json", expect=200)
    assert data["software"] == "hearth"
    _, data = await pod.call("GET", "/api/v1/identity/current.json", alice, expect=200)
    assert data["id"] == alice.identity_id
    _, data = await pod.call("GET", "/api/v1/accounts/current.json", alice, expect=200)
    assert data["email"] == "alice@example.org"
    _, data = await pod.call("GET", f"/api/v1/identities/{bob.identity_id}.json", alice)
    assert data["id"] == bob.identity_id
    _, data = await pod.call("GET", "/api/v1/identities.json", alice, expect=200)
    assert [i["id"] for i in data] == [alice.identity_id]
    _, data = await pod.call("GET", f"{CHANGELOG}.json?per_page=1", alice, expect=200)
    assert len(data) == 1
    _, login = await pod.call(
        "POST",
        "/api/v1/sessions.json",
        json={"username": "alice", "password": alice.password},
        expect=201,
    )
    guid = login["session"]["id"]
    _, data = await pod.call("GET", f"/api/v1/sessions/{guid}.json", alice, expect=200)
    assert data["id"] == guid
    await pod.call(
        "PATCH", "/api/v1/accounts/current.json", alice, json={"currentPassword": "x"}, expect=403
    )
    await pod.call("DELETE", f"/api/v1/sessions/{guid}.json", alice, expect=204)
    await pod.call("GET", f"/api/v1/sessions/{guid}.json", alice, expect=404)
    # Links built from a .json path keep it.
    resp, _ = await pod.call("GET", f"{CHANGELOG}.json?per_page=1", alice, expect=200)
    assert all(".json?" in url for url in parse_links(resp.headers["Link"]).values())


# --- the error shape ------------------------------------------------------------------------


async def test_unknown_routes_and_methods(pod: Pod) -> None:
    for path in ("/api/v1/nothing", "/api/v2/system/version", "/api/v1/identities/x/y"):
        resp, data = await pod.call("GET", path, expect=404)
        assert resp.content_type == "application/json"
        assert data == {"code": 404, "error": "not_found", "message": "Not found."}
    resp, data = await pod.call("PUT", "/api/v1/system/version", expect=405)
    assert set(data) == {"code", "error", "message"}
    assert data["code"] == 405 and data["error"] == "method_not_allowed"
    assert "GET" in resp.headers["Allow"]


async def test_errors_never_show_internals(pod: Pod) -> None:
    alice = await pod.register("alice")
    cases = [
        (
            "POST",
            "/api/v1/accounts",
            {"data": b"{", "headers": {"Content-Type": "application/json"}},
        ),
        ("POST", "/api/v1/accounts", {"json": {"username": 1}}),
        ("GET", "/api/v1/identities/" + "0" * 32, {}),
        ("GET", f"{SESSIONS}?cursor=%%%", {}),
        ("GET", f"{SESSIONS}?per_page=x", {}),
    ]
    for method, path, kw in cases:
        resp, data = await pod.call(method, path, alice, **kw)
        assert resp.status >= 400
        assert resp.content_type == "application/json"
        assert data["code"] == resp.status
        assert isinstance(data["error"], str) and data["error"].islower()
        assert isinstance(data["message"], str) and data["message"]
        assert set(data) <= {"code", "error", "message", "fields"}
        text = json.dumps(data)
        assert "Traceback" not in text and ".py" not in text


async def test_a_body_that_does_not_decode_as_its_encoding_says_is_400(pod: Pod) -> None:
    alice = await pod.register("alice")
    body = b'{"body": "not gzip at all"}'
    for encoding in (b"gzip", b"deflate"):
        status, _, answer = await pod.raw(
            b"POST /api/v1/posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Encoding: " + encoding + b"\r\n"
            b"Authorization: Bearer " + alice.token.encode() + b"\r\n"
            b"Content-Length: %d" % len(body),
            body,
        )
        assert status == 400, answer
        assert json.loads(answer)["error"] == "bad_request"
    _, posts = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}/posts", alice)
    assert posts == []


async def test_validation_errors_name_fields_in_camel_case(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, data = await pod.call(
        "PATCH",
        "/api/v1/identity/current",
        alice,
        json={"displayName": 5, "bio": 6},
        expect=422,
    )
    assert set(data["fields"]) == {"displayName", "bio"}
    assert all(isinstance(v, str) and v for v in data["fields"].values())


async def test_guids_and_timestamps_have_one_format(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, acct = await pod.call("GET", "/api/v1/accounts/current", alice, expect=200)
    _, ident = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    _, sess = await pod.call("GET", "/api/v1/sessions/current", alice, expect=200)
    _, events = await pod.call("GET", CHANGELOG, alice, expect=200)
    for guid in (
        acct["id"],
        acct["primaryIdentityId"],
        ident["id"],
        sess["id"],
        sess["identityId"],
    ):
        assert GUID_RE.match(guid)
    stamps = [acct["createdAt"], acct["updatedAt"], ident["createdAt"], ident["updatedAt"]]
    stamps += [sess["createdAt"], sess["lastSeenAt"], sess["expiresAt"]]
    stamps += [e["createdAt"] for e in events]
    assert all(TIME_RE.match(s) for s in stamps), stamps


# --- pagination -----------------------------------------------------------------------------


async def test_per_page_default_and_cap(pod: Pod) -> None:
    alice = await pod.register("alice")
    now = pod.clock.now()
    async with pod.app[DB].transaction() as tx:
        for n in range(130):
            stamp = iso(now - timedelta(seconds=n + 1))
            await account_store.add_event(tx, alice.account_id, "test.event", stamp, n=n)
    resp, items = await pod.call("GET", CHANGELOG, alice, expect=200)
    assert len(items) == 20
    assert "per_page=20" in parse_links(resp.headers["Link"])["next"]
    resp, items = await pod.call("GET", f"{CHANGELOG}?per_page=1000", alice, expect=200)
    assert len(items) == 100
    links = parse_links(resp.headers["Link"])
    assert "per_page=100" in links["next"]
    _, rest = await pod.follow(links["next"], alice)
    assert len(rest) == 133 - 100  # 130 + account.created, identity.added, session.created
    _, one = await pod.call("GET", f"{CHANGELOG}?per_page=1", alice, expect=200)
    assert len(one) == 1


@pytest.mark.parametrize("per_page", ["0", "-3", "abc", "1.5", "", "1e3"])
async def test_bad_per_page_is_400(pod: Pod, per_page: str) -> None:
    alice = await pod.register("alice")
    _, data = await pod.call("GET", f"{SESSIONS}?per_page={per_page}", alice, expect=400)
    assert data["error"] == "invalid_per_page"


BAD_CURSORS = [
    "garbage!!",
    "%25%25",
    "@@@@",
    cursor("abc"),
    cursor(["z", "a", "b"]),
    cursor(["a", 1, 2]),
    cursor(["a", "x"]),
    cursor(["a", "x", "y", "z"]),
    cursor(["l", "x"]),
    cursor([]),
    cursor({"a": 1}),
    cursor(7),
    cursor([["a"], "x", "y"]),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    # Lone surrogates, which JSON escapes can spell but SQLite cannot bind.
    cursor(["a", "\ud800", "x"]),
    cursor(["b", "2026-01-01T00:00:00.000Z", "\udfff"]),
]


async def test_bad_cursor_is_400(pod: Pod) -> None:
    alice = await pod.register("alice")
    for path in (SESSIONS, CHANGELOG, "/api/v1/identities"):
        for bad in BAD_CURSORS:
            resp, data = await pod.call("GET", path, alice, params={"cursor": bad})
            assert resp.status == 400, (path, bad, data)
            assert data["error"] == "invalid_cursor"


async def test_link_header_rels(pod: Pod) -> None:
    alice = await pod.register("alice")
    resp, _ = await pod.call("GET", f"{SESSIONS}?per_page=5", alice, expect=200)
    only = parse_links(resp.headers["Link"])
    assert set(only) == {"first"}
    await logins(pod, "alice", 11)  # 12 sessions: pages of 5, 5, 2
    resp, page1 = await pod.call("GET", f"{SESSIONS}?per_page=5&x=keep", alice, expect=200)
    links = parse_links(resp.headers["Link"])
    assert set(links) == {"first", "next", "last"}
    assert all("x=keep" in url and "per_page=5" in url for url in links.values())
    resp, page2 = await pod.follow(links["next"], alice)
    links2 = parse_links(resp.headers["Link"])
    assert set(links2) == {"first", "previous", "next", "last"}
    resp, page3 = await pod.follow(links2["next"], alice)
    links3 = parse_links(resp.headers["Link"])
    assert set(links3) == {"first", "previous", "last"}
    assert (len(page1), len(page2), len(page3)) == (5, 5, 2)
    # `first` is the first page; `last` is the oldest per_page items.
    _, again = await pod.follow(links3["first"], alice)
    assert again == page1
    resp, last = await pod.follow(links["last"], alice)
    every = page1 + page2 + page3
    assert [s["id"] for s in last] == [s["id"] for s in every[-5:]]
    assert set(parse_links(resp.headers["Link"])) == {"first", "previous", "last"}
    # The cursors are opaque, not offsets or ids.
    for url in (links["next"], links2["previous"], links["last"]):
        assert "offset" not in url and "page=" not in url.replace("per_page=", "")
        assert not any(s["id"] in url for s in every)


async def test_links_are_built_on_the_public_url(make_pod: PodFactory) -> None:
    # Behind a reverse proxy: the pod listens on 127.0.0.1:port, clients know the public URL.
    pod = await make_pod(server={"public_url": "https://pod.example.org"})
    url = pod.server.make_url
    body = {"username": "alice", "email": "alice@example.org", "password": "12345678"}
    async with pod.http.post(url("/api/v1/accounts"), json=body) as resp:
        assert resp.status == 201
    tokens = []
    for _ in range(3):
        login = {"username": "alice", "password": "12345678"}
        async with pod.http.post(url("/api/v1/sessions"), json=login) as resp:
            tokens.append((await resp.json())["token"])
    headers = {"Authorization": f"Bearer {tokens[0]}", "Host": "evil.example"}
    path = "/api/v1/sessions.json?per_page=1&q=a%20b"
    async with pod.http.get(url(path), headers=headers) as resp:
        assert resp.status == 200
        links = parse_links(resp.headers["Link"])
    assert set(links) == {"first", "next", "last"}
    for link in links.values():
        assert link.startswith("https://pod.example.org/api/v1/sessions.json?"), link
        assert "q=a" in link and "per_page=1" in link
    # The same links work once the proxy's origin is swapped back for the pod's own.
    nxt = links["next"].replace("https://pod.example.org", "")
    async with pod.http.get(url(nxt), headers=headers) as resp:
        assert resp.status == 200 and len(await resp.json()) == 1
        assert "previous" in parse_links(resp.headers["Link"])


async def follow_all(
    pod: Pod, user: User, start: str, rel: str, between: Any = None
) -> list[list[dict[str, Any]]]:
    """Fetch `start` (a path), then follow `rel` links until there is none.

    `between()` runs between fetches: the concurrent inserts.
    """
    pages: list[list[dict[str, Any]]] = []
    resp, page = await pod.call("GET", start, user, expect=200)
    while True:
        pages.append(page)
        nxt = parse_links(resp.headers.get("Link")).get(rel)
        if nxt is None:
            return pages
        assert len(pages) < 50, "runaway pagination"
        if between is not None:
            await between()
        resp, page = await pod.follow(nxt, user)


@pytest.mark.parametrize("frozen", [False, True])
async def test_next_links_are_stable_under_concurrent_inserts(
    make_pod: PodFactory, frozen: bool
) -> None:
    pod = await make_pod(clock=FrozenClock() if frozen else None)
    alice = await pod.register("alice")
    await logins(pod, "alice", 22)
    before = await all_ids(pod, alice)
    assert len(before) == 23
    added: list[str] = []

    async def insert() -> None:
        added.extend(await logins(pod, "alice", 2))

    pages = await follow_all(pod, alice, f"{SESSIONS}?per_page=5", "next", insert)
    seen = [s["id"] for page in pages for s in page]
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert set(before) <= set(seen), "an item was skipped"
    assert set(seen) <= set(before) | set(added)
    assert all(0 < len(page) <= 5 for page in pages)
    assert_newest_first([s for page in pages for s in page])
    if not frozen:  # newer rows go above the first page, never into the pages that follow
        assert seen == before


@pytest.mark.parametrize("frozen", [False, True])
async def test_previous_links_are_stable_under_concurrent_inserts(
    make_pod: PodFactory, frozen: bool
) -> None:
    pod = await make_pod(clock=FrozenClock() if frozen else None)
    alice = await pod.register("alice")
    await logins(pod, "alice", 16)
    forward = await follow_all(pod, alice, f"{SESSIONS}?per_page=4", "next")
    assert [len(p) for p in forward] == [4, 4, 4, 4, 1]
    before = [s["id"] for page in forward for s in page]
    # From the `last` page, walk back up the `previous` links.
    resp, _ = await pod.call("GET", f"{SESSIONS}?per_page=4", alice, expect=200)
    last_url = parse_links(resp.headers["Link"])["last"]
    added: list[str] = []

    async def insert() -> None:
        added.extend(await logins(pod, "alice", 3))

    pages: list[list[dict[str, Any]]] = []
    resp, page = await pod.follow(last_url, alice)
    while True:
        pages.append(page)
        prev = parse_links(resp.headers["Link"]).get("previous")
        if prev is None:
            break
        assert len(pages) < 50
        await insert()
        resp, page = await pod.follow(prev, alice)
    seen = [s["id"] for page in reversed(pages) for s in page]
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert set(before) <= set(seen), "an item was skipped"
    assert set(seen) <= set(before) | set(added)
    assert_newest_first([s for page in reversed(pages) for s in page])
    if not frozen:
        # Walking back up reaches the rows inserted meanwhile: all of them, above the old ones.
        assert set(seen) == set(before) | set(added)
        assert seen[len(added) :] == before


async def test_changelog_pages_cover_every_event_once(pod: Pod) -> None:
    alice = await pod.register("alice")
    for n in range(7):
        body = {"currentPassword": alice.password, "email": f"a{n}@example.org"}
        await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    everything = await all_ids(pod, alice, CHANGELOG)
    assert len(everything) == 10

    async def insert() -> None:
        await pod.login("alice")

    pages = await follow_all(pod, alice, f"{CHANGELOG}?per_page=3", "next", insert)
    seen = [e["id"] for page in pages for e in page]
    assert len(seen) == len(set(seen)) and set(everything) <= set(seen)


# --- two pods in one process ----------------------------------------------------------------


async def test_two_pods_share_no_state(make_pod: PodFactory) -> None:
    one = await make_pod(auth={"login_max_failures": 2})
    two = await make_pod(instance={"registration": "closed"})
    assert one.url != two.url
    assert one.config.database_path != two.config.database_path
    assert one.app[DB] is not two.app[DB] and one.app[SERVICES] is not two.app[SERVICES]

    alice = await one.register("alice")
    # Pod two has no alice, no session for alice's token, and its own registration mode.
    await two.call("GET", "/api/v1/identity/current", alice, expect=401)
    await two.login("alice", expect=401)
    await two.call(
        "POST",
        "/api/v1/accounts",
        json={"username": "alice", "email": "alice@example.org", "password": "12345678"},
        expect=403,
    )
    _, ident = await one.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert ident["handle"] == f"alice@{one.host}"
    await two.call("GET", f"/api/v1/identities/{ident['id']}", expect=401)

    # A login throttle on pod one does not reach pod two (same client address).
    await one.login("alice", "wrong password", expect=401)
    await one.login("alice", "wrong password", expect=401)
    await one.login("alice", expect=429)
    await two.login("nobody", "wrong password", expect=401)  # not 429

    # A pod with a clock of its own is not moved by another's (by default a test's pods share one).
    three = await make_pod(clock=ManualClock())
    carol = await three.register("carol")
    one.clock.advance(timedelta(days=365))
    await one.call("GET", "/api/v1/identity/current", alice, expect=401)
    await three.call("GET", "/api/v1/identity/current", carol, expect=200)

    # Closing one database leaves the others healthy.
    await one.app[DB].close()
    await one.call("GET", "/api/v1/system/health", expect=503)
    await three.call("GET", "/api/v1/system/health", expect=200)
    await two.call("GET", "/api/v1/system/health", expect=200)


async def test_same_username_on_two_pods(make_pod: PodFactory) -> None:
    one, two = await make_pod(), await make_pod()
    a1, a2 = await one.register("alice"), await two.register("alice")
    assert a1.identity_id != a2.identity_id and a1.account_id != a2.account_id
    _, i1 = await one.call("GET", "/api/v1/identity/current", a1, expect=200)
    _, i2 = await two.call("GET", "/api/v1/identity/current", a2, expect=200)
    assert i1["handle"] != i2["handle"]
    await one.call("GET", "/api/v1/identity/current", a2, expect=401)
    await one.call("GET", f"/api/v1/identities/{a2.identity_id}", a1, expect=404)

"""/api/v1/sessions: log in, list, inspect, switch identity, log out, revoke; tokens and scopes."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

from node.appkeys import DB, SERVICES
from node.clock import parse_iso
from node.errors import ApiError
from node.services.passwords import Passwords
from node.services.principal import SCOPES
from tests.conftest import PodFactory
from tests.support import GUID_RE, TIME_RE, Pod, User, between

PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def app_token(
    pod: Pod, user: User, scopes: set[str], days: float | None = None
) -> tuple[str, str]:
    token, session = await pod.app[SERVICES].sessions.create_app_token(
        user.account_id, user.identity_id, "test app", frozenset(scopes), days
    )
    return token, session.guid


# --- log in ---------------------------------------------------------------------------------


async def test_login_by_username_or_email(pod: Pod) -> None:
    alice = await pod.register("alice")
    for login in ("alice", "ALICE", "alice@example.org", "Alice@Example.org"):
        start = pod.clock.now()
        _, data = await pod.login(login, headers={"User-Agent": "probe/1"})
        end = pod.clock.now()
        session = data["session"]
        assert GUID_RE.match(session["id"])
        assert session["kind"] == "login"
        assert session["identityId"] == alice.identity_id
        assert session["scopes"] == sorted(SCOPES)
        assert session["userAgent"] == "probe/1"
        assert session["current"] is True
        assert TIME_RE.match(session["createdAt"]) and TIME_RE.match(session["expiresAt"])
        assert between(session["createdAt"], start, end)
        lifetime = parse_iso(session["expiresAt"]) - parse_iso(session["createdAt"])
        assert lifetime == timedelta(days=90)
        _, me = await pod.call("GET", "/api/v1/identity/current", headers=bearer(data["token"]))
        assert me["id"] == alice.identity_id
    # Each login is its own session with its own token.
    _, listed = await pod.call("GET", "/api/v1/sessions", alice, expect=200)
    assert len(listed) == 5


async def test_login_by_another_identitys_username(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "ally"}, expect=201)
    _, data = await pod.login("ally")
    assert data["session"]["identityId"] == alice.identity_id  # the primary identity


# Three failures per account and address, and three per address across all logins.
TIGHT = {"login_max_failures": 3, "login_max_failures_per_address": 3, "login_window_seconds": 60}
BEHIND_PROXY = {"trusted_proxies": ["127.0.0.1"]}

FAILED_LOGINS: list[tuple[dict[str, Any], int]] = [
    ({"username": "alice", "password": "wrong password"}, 401),
    ({"username": "nobody", "password": PASSWORD}, 401),
    ({"email": "nobody@example.org", "password": PASSWORD}, 401),
    ({"username": "alice", "password": ""}, 401),
    ({"password": PASSWORD}, 422),
    ({"username": "", "password": PASSWORD}, 422),
    ({"username": "alice"}, 422),
    ({"username": 5, "password": PASSWORD}, 422),
    ({"username": "alice", "password": ["x"]}, 422),
    ({"username": "alice", "password": PASSWORD, "remember": True}, 422),
    ({"username": "a" * 255, "password": PASSWORD}, 422),
    ({"username": "alice", "password": "x" * 1025}, 422),
]


async def test_login_failures(pod: Pod) -> None:
    await pod.register("alice")
    for body, status in FAILED_LOGINS:
        resp, data = await pod.call("POST", "/api/v1/sessions", json=body)
        assert resp.status == status, (body, data)
        if status == 401:
            # Unknown login and wrong password look the same.
            assert data == {
                "code": 401,
                "error": "invalid_credentials",
                "message": "The login or the password is wrong.",
            }
        else:
            assert data["error"] == "validation_failed" and data["fields"], body
    # Only 401s count as failures, and four of them stay under the default limit of five.
    await pod.login("alice")


async def test_login_bad_bodies(pod: Pod) -> None:
    path = "/api/v1/sessions"
    json_type = {"Content-Type": "application/json"}
    await pod.call("POST", path, data=b"{'username': 'a'}", headers=json_type, expect=400)
    await pod.call("POST", path, data=b"null", headers=json_type, expect=400)
    await pod.call("POST", path, data=b'{"username": "a"}', expect=415)


async def test_repeated_failed_logins_are_rate_limited(make_pod: PodFactory) -> None:
    pod = await make_pod(auth={"login_max_failures": 3, "login_window_seconds": 60})
    await pod.register("alice")
    for _ in range(3):
        await pod.login("alice", "wrong password", expect=401)
    pod.clock.advance(timedelta(seconds=10))
    # Throttled now, even with the right password.
    resp, data = await pod.login("alice", PASSWORD, expect=429)
    assert data["code"] == 429 and data["error"] == "rate_limited"
    assert resp.headers["Retry-After"] == "50"
    # The window slides: once it has passed, logging in works again.
    pod.clock.advance(timedelta(seconds=50))
    await pod.login("alice", PASSWORD, expect=201)


async def test_rate_limit_counts_per_address_too(make_pod: PodFactory) -> None:
    pod = await make_pod(auth=TIGHT)
    await pod.register("alice")
    for name in ("nobody", "someone", "anyone"):
        await pod.login(name, "wrong password", expect=401)
    # Three different logins from one address: that address is throttled.
    resp, _ = await pod.login("alice", PASSWORD, expect=429)
    assert 0 < int(resp.headers["Retry-After"]) <= 60


def slow_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each password check takes 0.3 s, so every guess of a burst is in flight at once."""
    verify = Passwords.verify

    async def slow_verify(self: Passwords, password_hash: str | None, password: str) -> bool:
        await asyncio.sleep(0.3)
        return await verify(self, password_hash, password)

    monkeypatch.setattr(Passwords, "verify", slow_verify)


async def test_concurrent_guesses_cannot_all_pass_the_limit(
    make_pod: PodFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    pod = await make_pod(auth={"login_max_failures": 3, "login_window_seconds": 60})
    await pod.register("alice")
    slow_checks(monkeypatch)
    burst = [pod.login("alice", f"guess {n}", expect=None) for n in range(30)]
    statuses = [resp.status for resp, _ in await asyncio.gather(*burst)]
    assert sorted(statuses) == [401] * 3 + [429] * 27
    await pod.login("alice", PASSWORD, expect=429)
    pod.clock.advance(timedelta(seconds=60))
    await pod.login("alice", PASSWORD, expect=201)


async def test_failures_from_one_address_do_not_lock_the_account_out_elsewhere(
    make_pod: PodFactory,
) -> None:
    pod = await make_pod(
        auth={"login_max_failures": 3, "login_window_seconds": 60}, server=BEHIND_PROXY
    )
    await pod.register("alice")
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    for _ in range(3):
        await pod.login("alice", "wrong password", expect=401, headers=attacker)
    await pod.login("alice", PASSWORD, expect=429, headers=attacker)
    # From an address that did not fail, the right password logs alice in.
    await pod.login("alice", PASSWORD, expect=201, headers={"X-Forwarded-For": "198.51.100.7"})
    # The attacker's address may still try other logins, up to the limit per address.
    await pod.login("nobody", "wrong password", expect=401, headers=attacker)


async def test_an_accounts_email_and_usernames_share_one_allowance(
    make_pod: PodFactory,
) -> None:
    pod = await make_pod(
        auth={"login_max_failures": 3, "login_window_seconds": 60}, server=BEHIND_PROXY
    )
    alice = await pod.register("alice")
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "ally"}, expect=201)
    guesser = {"X-Forwarded-For": "203.0.113.5"}
    for login in ("alice", "alice@example.org", "ALLY"):
        await pod.login(login, "wrong password", expect=401, headers=guesser)
    for login in ("alice", "Alice@Example.org", "ally"):
        await pod.login(login, PASSWORD, expect=429, headers=guesser)
    await pod.login("ally", PASSWORD, expect=201, headers={"X-Forwarded-For": "198.51.100.7"})
    # A login that names no account has an allowance of its own.
    for _ in range(3):
        await pod.login("nobody", "wrong password", expect=401, headers=guesser)
    await pod.login("nobody", "wrong password", expect=429, headers=guesser)


async def test_the_processes_of_a_pod_share_its_login_limits(
    make_pod: PodFactory, tmp_path: Path
) -> None:
    # Two apps on one data folder, as the worker processes of one pod.
    auth = {"login_max_failures": 3, "login_window_seconds": 60}
    one = await make_pod(data_dir=tmp_path / "pod", auth=auth)
    other = await make_pod(data_dir=tmp_path / "pod", auth=auth)
    await one.register("alice")
    for _ in range(2):
        await one.login("alice", "wrong password", expect=401)
    # A success at the other clears alice's failures from this address at both.
    await other.login("alice", PASSWORD, expect=201)
    for pod in (one, other, one):
        await pod.login("alice", "wrong password", expect=401)
    # The failures made at either count at both.
    for pod in (other, one):
        resp, _ = await pod.login("alice", PASSWORD, expect=429)
        assert 0 < int(resp.headers["Retry-After"]) <= 60


async def test_a_burst_spread_over_the_processes_of_a_pod_cannot_pass_the_limit(
    make_pod: PodFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth = {"login_max_failures": 3, "login_window_seconds": 60}
    one = await make_pod(data_dir=tmp_path / "pod", auth=auth)
    other = await make_pod(data_dir=tmp_path / "pod", auth=auth)
    await one.register("alice")
    slow_checks(monkeypatch)
    burst = [(one, other)[n % 2].login("alice", f"guess {n}", expect=None) for n in range(20)]
    statuses = [resp.status for resp, _ in await asyncio.gather(*burst)]
    assert sorted(statuses) == [401] * 3 + [429] * 17


async def test_login_failures_outlast_a_restart(make_pod: PodFactory, tmp_path: Path) -> None:
    auth = {"login_max_failures": 3, "login_window_seconds": 60}
    pod = await make_pod(data_dir=tmp_path / "pod", auth=auth)
    await pod.register("alice")
    for _ in range(3):
        await pod.login("alice", "wrong password", expect=401)
    await pod.stop()
    restarted = await make_pod(data_dir=tmp_path / "pod", port=pod.server.port, auth=auth)
    await restarted.login("alice", PASSWORD, expect=429)
    restarted.clock.advance(timedelta(seconds=60))
    await restarted.login("alice", PASSWORD, expect=201)


# --- list and inspect -----------------------------------------------------------------------


async def test_list_sessions_shows_only_the_accounts_own(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, second = await pod.login("alice")
    _, app_guid = await app_token(pod, alice, {"profile"})
    _, items = await pod.call("GET", "/api/v1/sessions", alice, expect=200)
    by_id = {s["id"]: s for s in items}
    assert set(by_id) >= {second["session"]["id"], app_guid}
    assert len(items) == 3
    assert [s["current"] for s in items].count(True) == 1
    assert by_id[app_guid]["kind"] == "app"
    assert by_id[app_guid]["scopes"] == ["profile"]
    assert by_id[app_guid]["name"] == "test app"
    _, theirs = await pod.call("GET", "/api/v1/sessions", bob, expect=200)
    assert len(theirs) == 1 and theirs[0]["id"] not in by_id


async def test_current_session_tracks_last_seen_and_user_agent(pod: Pod) -> None:
    alice = await pod.register("alice")
    path = "/api/v1/sessions/current"
    _, first = await pod.call("GET", path, alice, expect=200)
    assert first["current"] is True
    assert first["lastSeenAt"] == first["createdAt"]
    pod.clock.advance(timedelta(minutes=5))
    start = pod.clock.now()
    _, later = await pod.call("GET", path, alice, headers={"User-Agent": "phone/2"}, expect=200)
    assert between(later["lastSeenAt"], start, pod.clock.now())
    assert later["userAgent"] == "phone/2"
    assert later["createdAt"] == first["createdAt"]
    # By its guid, from another session of the account: the same, but not "current".
    _, other = await pod.login("alice")
    _, seen = await pod.call(
        "GET", f"/api/v1/sessions/{first['id']}", headers=bearer(other["token"]), expect=200
    )
    assert seen["lastSeenAt"] == later["lastSeenAt"] and seen["current"] is False


async def test_headers_that_are_not_utf8_are_no_server_error(pod: Pod) -> None:
    alice = await pod.register("alice")
    login = b'{"username": "alice", "password": "%s"}' % alice.password.encode()
    status, _, body = await pod.raw(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"User-Agent: caf\xe9/1\r\nContent-Length: %d" % len(login),
        login,
    )
    assert status == 201, body
    token = json.loads(body)["token"]
    _, session = await pod.call("GET", "/api/v1/sessions/current", headers=bearer(token))
    assert session["userAgent"] == "caf\ufffd/1"
    # The last-seen update stores the agent too.
    pod.clock.advance(timedelta(minutes=5))
    status, _, _ = await pod.raw(
        b"GET /api/v1/sessions/current HTTP/1.1\r\nHost: x\r\nUser-Agent: \xff\xfe\r\n"
        b"Authorization: Bearer " + token.encode()
    )
    assert status == 200
    # A token that is not even UTF-8 is no token.
    status, headers, body = await pod.raw(
        b"GET /api/v1/identity/current HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe"
    )
    assert status == 401 and headers["www-authenticate"] == "Bearer"
    assert json.loads(body)["error"] == "not_authenticated"


async def test_sessions_of_other_accounts_are_not_found(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, bobs = await pod.call("GET", "/api/v1/sessions/current", bob, expect=200)
    for guid in (bobs["id"], "0" * 32, "nope", "F" * 32):
        _, data = await pod.call("GET", f"/api/v1/sessions/{guid}", alice, expect=404)
        assert data["error"] == "not_found"
        await pod.call("DELETE", f"/api/v1/sessions/{guid}", alice, expect=404)
    await pod.call("GET", "/api/v1/sessions/current", bob, expect=200)  # not revoked


# --- switch identity ------------------------------------------------------------------------


async def test_act_as_another_identity_of_the_account(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, other = await pod.login("alice")
    _, work = await pod.call(
        "POST", "/api/v1/identities", alice, json={"username": "alice_work"}, expect=201
    )
    _, data = await pod.call(
        "PATCH", "/api/v1/sessions/current", alice, json={"identityId": work["id"]}, expect=200
    )
    assert data["identityId"] == work["id"] and data["current"] is True
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["username"] == "alice_work"
    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"bio": "at work"}, expect=200)
    _, primary = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}", alice)
    assert primary["bio"] == ""
    # Other sessions keep their identity.
    _, me = await pod.call("GET", "/api/v1/identity/current", headers=bearer(other["token"]))
    assert me["id"] == alice.identity_id
    # And back.
    body = {"identityId": alice.identity_id}
    await pod.call("PATCH", "/api/v1/sessions/current", alice, json=body, expect=200)
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["id"] == alice.identity_id


async def test_cannot_act_as_someone_elses_identity(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    path = "/api/v1/sessions/current"
    for guid in (bob.identity_id, "0" * 32, "nope"):
        await pod.call("PATCH", path, alice, json={"identityId": guid}, expect=404)
    for body in ({}, {"identityId": 5}, {"identityId": "a" * 33}, {"identity": bob.identity_id}):
        await pod.call("PATCH", path, alice, json=body, expect=422)
    await pod.call(
        "PATCH", path, alice, data=b"{", headers={"Content-Type": "application/json"}, expect=400
    )
    await pod.call("PATCH", path, alice, data=b"{}", expect=415)
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["id"] == alice.identity_id


# --- log out and revoke ---------------------------------------------------------------------


async def test_log_out(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, other = await pod.login("alice")
    await pod.call("DELETE", "/api/v1/sessions/current", alice, expect=204)
    _, data = await pod.call("GET", "/api/v1/identity/current", alice, expect=401)
    assert data["error"] == "not_authenticated"
    await pod.call("DELETE", "/api/v1/sessions/current", alice, expect=401)
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(other["token"]), expect=200)


async def test_revoke_another_session(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, other = await pod.login("alice")
    guid = other["session"]["id"]
    await pod.call("DELETE", f"/api/v1/sessions/{guid}", alice, expect=204)
    await pod.call("GET", "/api/v1/sessions/current", headers=bearer(other["token"]), expect=401)
    await pod.call("DELETE", f"/api/v1/sessions/{guid}", alice, expect=404)
    _, items = await pod.call("GET", "/api/v1/sessions", alice, expect=200)
    assert [s["id"] for s in items] != [] and guid not in [s["id"] for s in items]


async def test_app_tokens_need_a_scope_and_a_lifetime_that_ends_in_time(pod: Pod) -> None:
    alice = await pod.register("alice")
    cases = [(set(), None), ({"profile"}, 0), ({"profile"}, -1), ({"profile"}, 1e12),
             ({"profile"}, float("inf")), ({"profile", "bogus"}, None)]  # fmt: skip
    for scopes, days in cases:
        with pytest.raises(ApiError) as info:
            await app_token(pod, alice, scopes, days)
        assert info.value.status == 422 and info.value.fields, (scopes, days)
    assert await pod.app[DB].fetchval("SELECT count(*) FROM sessions WHERE kind = 'app'") == 0


async def test_sessions_expire(make_pod: PodFactory) -> None:
    pod = await make_pod(auth={"session_days": 1})
    alice = await pod.register("alice")
    _, data = await pod.call("GET", "/api/v1/sessions/current", alice, expect=200)
    assert parse_iso(data["expiresAt"]) - parse_iso(data["createdAt"]) == timedelta(days=1)
    pod.clock.advance(timedelta(hours=23, minutes=59))
    await pod.call("GET", "/api/v1/sessions/current", alice, expect=200)
    pod.clock.advance(timedelta(minutes=1))
    _, data = await pod.call("GET", "/api/v1/sessions/current", alice, expect=401)
    assert data["message"] == "The token has expired."
    await pod.login("alice")  # a new login works


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic YWxpY2U6cGFzc3dvcmQ=",
        "Token abc",
        "Bearer " + "x" * 201,
        "Bearer not-a-token",
    ],
)
async def test_bad_authorization_headers(pod: Pod, header: str) -> None:
    await pod.register("alice")
    resp, data = await pod.call(
        "GET", "/api/v1/sessions/current", headers={"Authorization": header}, expect=401
    )
    assert data["error"] == "not_authenticated"
    assert resp.headers["WWW-Authenticate"] == "Bearer"


async def test_bearer_scheme_is_case_insensitive(pod: Pod) -> None:
    alice = await pod.register("alice")
    headers = {"Authorization": f"bearer {alice.token}"}
    await pod.call("GET", "/api/v1/sessions/current", headers=headers, expect=200)


# --- app tokens and scopes ------------------------------------------------------------------


async def test_app_token_holds_only_its_scopes(pod: Pod) -> None:
    alice = await pod.register("alice")
    token, guid = await app_token(pod, alice, {"profile"})
    app = bearer(token)
    _, me = await pod.call("GET", "/api/v1/identity/current", headers=app, expect=200)
    assert me["id"] == alice.identity_id
    await pod.call("GET", "/api/v1/identities", headers=app, expect=200)
    await pod.call("GET", f"/api/v1/identities/{alice.identity_id}", headers=app, expect=200)
    _, data = await pod.call(
        "PATCH", "/api/v1/identity/current", headers=app, json={"bio": "hacked"}, expect=403
    )
    assert data["error"] == "insufficient_scope" and "profile:modify" in data["message"]
    for method, path, body in [
        ("GET", "/api/v1/accounts/current", None),
        ("PATCH", "/api/v1/accounts/current", {"currentPassword": PASSWORD}),
        ("DELETE", "/api/v1/accounts/current", {"password": PASSWORD}),
        ("GET", "/api/v1/accounts/current/changelog", None),
        ("GET", "/api/v1/sessions", None),
        ("PATCH", "/api/v1/sessions/current", {"identityId": alice.identity_id}),
        ("POST", "/api/v1/identities", {"username": "sneaky"}),
    ]:
        _, data = await pod.call(method, path, headers=app, json=body, expect=403)
        assert data["error"] == "first_party_only", (method, path)
    # The token sees itself.
    _, data = await pod.call("GET", "/api/v1/sessions/current", headers=app, expect=200)
    assert data["id"] == guid and data["kind"] == "app" and data["scopes"] == ["profile"]
    await pod.call("GET", f"/api/v1/sessions/{guid}", headers=app, expect=200)
    _, me = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert me["bio"] == ""  # nothing changed


async def test_app_token_cannot_see_or_revoke_other_sessions(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, login = await pod.call("GET", "/api/v1/sessions/current", alice, expect=200)
    token, _ = await app_token(pod, alice, set(SCOPES))
    app = bearer(token)
    _, data = await pod.call("GET", f"/api/v1/sessions/{login['id']}", headers=app, expect=403)
    assert data["error"] == "first_party_only"
    await pod.call("DELETE", f"/api/v1/sessions/{login['id']}", headers=app, expect=403)
    await pod.call("GET", "/api/v1/sessions/current", alice, expect=200)  # still logged in
    # But it can revoke itself; and the owner can revoke it.
    await pod.call("DELETE", "/api/v1/sessions/current", headers=app, expect=204)
    await pod.call("GET", "/api/v1/identity/current", headers=app, expect=401)
    token, guid = await app_token(pod, alice, {"profile"})
    await pod.call("DELETE", f"/api/v1/sessions/{guid}", alice, expect=204)
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(token), expect=401)


async def test_app_token_with_profile_modify(pod: Pod) -> None:
    alice = await pod.register("alice")
    token, _ = await app_token(pod, alice, {"profile:modify"})
    await pod.call(
        "PATCH", "/api/v1/identity/current", headers=bearer(token), json={"bio": "ok"}, expect=200
    )
    # profile:modify does not imply profile.
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(token), expect=403)


async def test_app_tokens_can_expire(pod: Pod) -> None:
    alice = await pod.register("alice")
    token, _ = await app_token(pod, alice, {"profile"}, days=2)
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(token), expect=200)
    pod.clock.advance(timedelta(days=2))
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(token), expect=401)
    # A token without expiry outlives login sessions.
    forever, _ = await app_token(pod, alice, {"profile"})
    pod.clock.advance(timedelta(days=3650))
    await pod.call("GET", "/api/v1/identity/current", headers=bearer(forever), expect=200)
    await pod.call("GET", "/api/v1/identity/current", alice, expect=401)


async def write(
    pod: Pod, headers: dict[str, str], body: str, expect: int = 201, **fields: Any
) -> Any:
    _, out = await pod.call(
        "POST", "/api/v1/posts", headers=headers, json={"body": body, **fields}, expect=expect
    )
    return out


async def test_without_private_read_posts_that_are_not_public_are_absent(pod: Pod) -> None:
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await pod.call("POST", "/api/v1/follows", bob, json={"target": "alice"}, expect=201)
    public = [await write(pod, alice.auth, f"public {i}") for i in range(3)]
    hidden = [
        await write(pod, alice.auth, "for followers", visibility="followers"),
        await write(pod, alice.auth, "for bob", visibility="direct", recipients=["bob"]),
    ]
    token, _ = await app_token(pod, bob, {"public:read"})
    app = bearer(token)
    for post in hidden:
        _, err = await pod.call("GET", f"/api/v1/posts/{post['id']}", headers=app, expect=404)
        assert err["error"] == "not_found"
        await pod.call("GET", f"/api/v1/posts/{post['id']}", bob, expect=200)
        await pod.call("GET", f"/api/v1/posts/{post['id']}/comments", headers=app, expect=404)
    # Filtered in the query: the newest page is full of the public posts behind them.
    newest_public = [p["id"] for p in reversed(public)]
    for path in ("/api/v1/streams/main", f"/api/v1/identities/{alice.identity_id}/posts"):
        params = {"per_page": "3"}
        _, page = await pod.call("GET", path, headers=app, params=params, expect=200)
        assert [p["id"] for p in page] == newest_public, path
        _, page = await pod.call("GET", path, bob, params=params, expect=200)
        assert hidden[0]["id"] in [p["id"] for p in page], path  # the session sees all


async def test_bookmarks_and_labels_need_private_read(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, label = await pod.call("POST", "/api/v1/labels", alice, json={"name": "x"}, expect=201)
    post = await write(pod, alice.auth, "labelled", labelIds=[label["id"]])
    await pod.call("PUT", f"/api/v1/posts/{post['id']}/bookmark", alice, expect=200)
    token, _ = await app_token(pod, alice, {"public:read"})
    app = bearer(token)
    _, err = await pod.call("GET", "/api/v1/streams/bookmarks", headers=app, expect=403)
    assert err["error"] == "insufficient_scope" and "private:read" in err["message"]
    _, seen = await pod.call("GET", f"/api/v1/posts/{post['id']}", headers=app, expect=200)
    _, listed = await pod.call("GET", "/api/v1/streams/main", headers=app, expect=200)
    for out in (seen, *listed):
        assert out["labelIds"] == [] and out["bookmarked"] is False
    # With private:read the token sees them, as the session does.
    token, _ = await app_token(pod, alice, {"public:read", "private:read"})
    reader = bearer(token)
    _, marks = await pod.call("GET", "/api/v1/streams/bookmarks", headers=reader, expect=200)
    assert [p["id"] for p in marks] == [post["id"]]
    _, seen = await pod.call("GET", f"/api/v1/posts/{post['id']}", headers=reader, expect=200)
    _, listed = await pod.call("GET", "/api/v1/streams/main", headers=reader, expect=200)
    for out in (seen, *listed):
        assert out["labelIds"] == [label["id"]] and out["bookmarked"] is True


async def test_without_private_modify_only_public_posts_are_written(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    token, _ = await app_token(pod, alice, {"public:modify"})
    app = bearer(token)
    for fields in ({"visibility": "direct", "recipients": ["bob"]}, {"visibility": "followers"}):
        err = await write(pod, app, "private", expect=403, **fields)
        assert err["error"] == "insufficient_scope" and "private:modify" in err["message"]
    _, label = await pod.call("POST", "/api/v1/labels", alice, json={"name": "x"}, expect=201)
    err = await write(pod, app, "labelled", expect=403, labelIds=[label["id"]])
    assert err["error"] == "insufficient_scope"
    _, mine = await pod.call("GET", f"/api/v1/identities/{alice.identity_id}/posts", alice)
    assert mine == []  # nothing was written
    public = await write(pod, app, "public")
    assert public["visibility"] == "public"
    url = f"/api/v1/posts/{public['id']}"
    await pod.call("PATCH", url, headers=app, json={"body": "edited"}, expect=200)
    # A token that reads private posts still may not change or interact with them.
    private = await write(pod, alice.auth, "followers", visibility="followers")
    token, _ = await app_token(pod, alice, {"private:read", "public:modify", "interactions"})
    app = bearer(token)
    for method, path, body in [
        ("PATCH", "", {"body": "edited"}),
        ("DELETE", "", None),
        ("POST", "/like", None),
        ("PUT", "/reaction", {"emoji": "👍"}),
    ]:
        url = f"/api/v1/posts/{private['id']}{path}"
        _, err = await pod.call(method, url, headers=app, json=body, expect=403)
        assert err["error"] == "insufficient_scope" and "private:modify" in err["message"]
    await write(pod, app, "a reply", expect=403, inReplyTo=private["id"])
    await pod.call("POST", f"/api/v1/posts/{public['id']}/like", headers=app, expect=200)
    token, _ = await app_token(pod, alice, {"public:modify", "private:modify"})
    direct = await write(pod, bearer(token), "dm", visibility="direct", recipients=["bob"])
    assert direct["visibility"] == "direct"


async def test_behind_a_trusted_proxy_failures_count_per_forwarded_address(
    make_pod: PodFactory,
) -> None:
    pod = await make_pod(auth=TIGHT, server=BEHIND_PROXY)
    await pod.register("alice")
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    for name in ("nobody", "someone", "anyone"):
        await pod.login(name, "wrong password", expect=401, headers=attacker)
    # The attacker's address is throttled; alice, behind the same proxy, is not.
    await pod.login("alice", PASSWORD, expect=429, headers=attacker)
    await pod.login("alice", PASSWORD, expect=201, headers={"X-Forwarded-For": "198.51.100.7"})
    # A client cannot slip out by writing its own header in front of the proxy's entry.
    spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.5"}
    await pod.login("alice", PASSWORD, expect=429, headers=spoofed)
    # Nor when the proxy adds a line of its own after the client's.
    lines = CIMultiDict([("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "203.0.113.5")])
    await pod.login("alice", PASSWORD, expect=429, headers=lines)


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(make_pod: PodFactory) -> None:
    pod = await make_pod(auth=TIGHT)
    await pod.register("alice")
    for n, name in enumerate(("nobody", "someone", "anyone")):
        await pod.login(
            name, "wrong password", expect=401, headers={"X-Forwarded-For": f"203.0.113.{n}"}
        )
    # Each attempt claimed another address; all of them came from this one peer.
    await pod.login("alice", PASSWORD, expect=429, headers={"X-Forwarded-For": "198.51.100.7"})

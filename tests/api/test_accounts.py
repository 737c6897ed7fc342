"""/api/v1/accounts: registration (open, invite, closed), the current account, its changelog."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from node.appkeys import DB, SERVICES
from node.errors import ApiError
from tests.conftest import PodFactory
from tests.spaces.support import join, make_space
from tests.support import GUID_RE, TIME_RE, Pod

PASSWORD = "correct horse battery"
JSON = {"Content-Type": "application/json"}


def reg(username: str = "alice", **extra: Any) -> dict[str, Any]:
    return {"username": username, "email": f"{username}@example.org", "password": PASSWORD, **extra}


async def events(pod: Pod, user: Any) -> list[dict[str, Any]]:
    _, data = await pod.call(
        "GET", "/api/v1/accounts/current/changelog?per_page=100", user, expect=200
    )
    return data


# --- register -------------------------------------------------------------------------------


async def test_register_returns_account_and_identity(pod: Pod) -> None:
    resp, data = await pod.call("POST", "/api/v1/accounts", json=reg("alice"), expect=201)
    assert resp.content_type == "application/json"
    account, identity = data["account"], data["identity"]
    assert GUID_RE.match(account["id"]) and GUID_RE.match(identity["id"])
    assert account["email"] == "alice@example.org"
    assert account["primaryIdentityId"] == identity["id"]
    assert TIME_RE.match(account["createdAt"]) and TIME_RE.match(account["updatedAt"])
    assert identity["username"] == "alice"
    assert identity["handle"] == f"alice@{pod.host}"
    assert identity["local"] is True
    assert identity["displayName"] == "alice"
    assert "password" not in str(data) and "passwordHash" not in account
    # The new account can log in.
    _, login = await pod.login("alice")
    assert login["session"]["identityId"] == identity["id"]


INVALID_REGISTRATIONS: list[tuple[dict[str, Any], str]] = [
    ({"email": "a@example.org", "password": PASSWORD}, "username"),
    ({"username": "alice", "password": PASSWORD}, "email"),
    ({"username": "alice", "email": "a@example.org"}, "password"),
    (reg(username=5), "username"),
    ({**reg(), "password": 12345678}, "password"),
    ({**reg(), "email": ["a@example.org"]}, "email"),
    (reg(inviteCode=7), "inviteCode"),
    (reg(username="a" * 31), "username"),
    (reg(username=""), "username"),
    (reg(username="al ice"), "username"),
    (reg(username="al-ice"), "username"),
    (reg(username="alïce"), "username"),
    (reg(username="alice\n"), "username"),
    (reg(username="admin"), "username"),
    (reg(username="Inbox"), "username"),
    ({**reg(), "email": "not-an-email"}, "email"),
    ({**reg(), "email": "alice@example.org\n"}, "email"),
    ({**reg(), "email": "a" * 250 + "@example.org"}, "email"),
    ({**reg(), "password": "short"}, "password"),
    ({**reg(), "password": "x" * 1025}, "password"),
    (reg(inviteCode="x" * 101), "inviteCode"),
    (reg(isAdmin=True), "isAdmin"),
]


async def test_register_rejects_invalid_fields(pod: Pod) -> None:
    for body, field in INVALID_REGISTRATIONS:
        resp, data = await pod.call("POST", "/api/v1/accounts", json=body)
        assert resp.status == 422, (body, data)
        assert data["code"] == 422
        assert data["error"] == "validation_failed"
        assert field in data["fields"], (body, data)
    # Nothing was created: a valid registration of the same name still works.
    await pod.call("POST", "/api/v1/accounts", json=reg("alice"), expect=201)


async def test_register_accepts_boundary_values(pod: Pod) -> None:
    body = {"username": "a" * 30, "email": "x@example.org", "password": "p" * 8}
    await pod.call("POST", "/api/v1/accounts", json=body, expect=201)
    body = {"username": "A_1", "email": "y@example.org", "password": "p" * 1024}
    await pod.call("POST", "/api/v1/accounts", json=body, expect=201)


async def test_usernames_and_emails_are_unique_ignoring_case(pod: Pod) -> None:
    await pod.call("POST", "/api/v1/accounts", json=reg("alice"), expect=201)
    other = {"username": "ALICE", "email": "other@example.org", "password": PASSWORD}
    _, data = await pod.call("POST", "/api/v1/accounts", json=other, expect=409)
    assert data["error"] == "username_taken"
    same_mail = {"username": "bob", "email": "Alice@Example.ORG", "password": PASSWORD}
    _, data = await pod.call("POST", "/api/v1/accounts", json=same_mail, expect=409)
    assert data["error"] == "email_taken"
    # Neither failed attempt left anything behind.
    await pod.call("POST", "/api/v1/accounts", json=reg("bob"), expect=201)


async def test_registration_cannot_take_a_space_name(pod: Pod) -> None:
    alice = await pod.register("alice")
    body = {"displayName": "Garden", "name": "garden"}
    await pod.call("POST", "/api/v1/spaces", alice, json=body, expect=201)
    _, data = await pod.call("POST", "/api/v1/accounts", json=reg("Garden"), expect=409)
    assert data["error"] == "username_taken"
    await pod.login("garden@example.org", expect=401)  # no account was made
    await pod.call("POST", "/api/v1/accounts", json=reg("gardener"), expect=201)


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        (b'{"username": "alice",', JSON, 400, "malformed_json"),
        (b"", JSON, 400, "malformed_json"),
        (b"[1, 2]", JSON, 400, "malformed_json"),
        (b'"alice"', JSON, 400, "malformed_json"),
        (b'{"username": "\xff\xfe"}', JSON, 400, "malformed_json"),
        (b'{"password": ' + b"9" * 5000 + b"}", JSON, 400, "malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "malformed_json"),
        (b'{"username": "alice"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b"username=alice", {"Content-Type": "application/x-www-form-urlencoded"}, 415, None),
        (b'{"username": "alice"}', {}, 415, "unsupported_media_type"),
    ],
)
async def test_register_rejects_bad_bodies(
    pod: Pod, body: bytes, headers: dict[str, str], status: int, error: str | None
) -> None:
    _, data = await pod.call("POST", "/api/v1/accounts", data=body, headers=headers, expect=status)
    assert set(data) == {"code", "error", "message"}
    assert data["code"] == status
    if error:
        assert data["error"] == error


async def test_json_with_charset_is_accepted(pod: Pod) -> None:
    await pod.call(
        "POST",
        "/api/v1/accounts",
        data=b'{"username": "alice", "email": "a@example.org", "password": "12345678"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        expect=201,
    )


async def test_oversize_body_is_413(make_pod: PodFactory) -> None:
    pod = await make_pod(server={"max_body_bytes": 2048})
    _, data = await pod.call("POST", "/api/v1/accounts", json=reg(bio="x" * 4000), expect=413)
    assert data["code"] == 413 and data["error"] == "payload_too_large"
    # Just under the limit is parsed (and then validated).
    await pod.call("POST", "/api/v1/accounts", json=reg(padding="x" * 1500), expect=422)
    # Authenticated routes too.
    alice = await pod.register("alice")
    big = {"bio": "x" * 1900, "displayName": "y" * 200}
    await pod.call("PATCH", "/api/v1/identity/current", alice, json=big, expect=413)
    await pod.call("PATCH", "/api/v1/identity/current", alice, json={"bio": "fits"}, expect=200)


async def test_closed_registration(make_pod: PodFactory) -> None:
    pod = await make_pod(instance={"registration": "closed"})
    _, data = await pod.call("POST", "/api/v1/accounts", json=reg("alice"), expect=403)
    assert data["error"] == "registration_closed"
    # Even with an invite code.
    code = await pod.app[SERVICES].accounts.create_invite(1, 7)
    await pod.call("POST", "/api/v1/accounts", json=reg("alice", inviteCode=code), expect=403)


async def test_invite_only_registration(make_pod: PodFactory) -> None:
    pod = await make_pod(instance={"registration": "invite"})
    accounts = pod.app[SERVICES].accounts
    _, data = await pod.call("POST", "/api/v1/accounts", json=reg("alice"), expect=403)
    assert data["error"] == "invite_required"
    _, data = await pod.call(
        "POST", "/api/v1/accounts", json=reg("alice", inviteCode="nope"), expect=403
    )
    assert data["error"] == "invite_invalid"

    code = await accounts.create_invite(2, 7)
    await pod.call("POST", "/api/v1/accounts", json=reg("alice", inviteCode=code), expect=201)
    # Without a valid invite, nobody learns whether an email or a name has an account here.
    taken = {"username": "alice2", "email": "alice@example.org", "password": PASSWORD}
    for attempt in (reg("alice"), reg("alice", inviteCode="nope"), taken):
        _, data = await pod.call("POST", "/api/v1/accounts", json=attempt, expect=403)
        assert data["error"] in ("invite_required", "invite_invalid")
    # A failed registration (name taken) does not use up the invite.
    await pod.call("POST", "/api/v1/accounts", json=reg("alice", inviteCode=code), expect=409)
    await pod.call("POST", "/api/v1/accounts", json=reg("bob", inviteCode=code), expect=201)
    _, data = await pod.call(
        "POST", "/api/v1/accounts", json=reg("carol", inviteCode=code), expect=403
    )
    assert data["error"] == "invite_invalid"

    expiring = await accounts.create_invite(5, 1)
    pod.clock.advance(timedelta(days=1, seconds=1))
    await pod.call("POST", "/api/v1/accounts", json=reg("carol", inviteCode=expiring), expect=403)
    forever = await accounts.create_invite(1, None)
    pod.clock.advance(timedelta(days=3650))
    await pod.call("POST", "/api/v1/accounts", json=reg("carol", inviteCode=forever), expect=201)


async def test_invites_that_could_never_be_used_are_refused(pod: Pod) -> None:
    accounts = pod.app[SERVICES].accounts
    cases = [
        (0, 7),
        (-3, 7),
        (10_001, 7),
        (2**63, 7),
        (1, 0),
        (1, -2),
        (1, 1e12),
        (1, float("nan")),
    ]
    for max_uses, days in cases:
        with pytest.raises(ApiError) as info:
            await accounts.create_invite(max_uses, days)
        assert info.value.status == 422 and info.value.fields, (max_uses, days)
    assert await pod.app[DB].fetchval("SELECT count(*) FROM registration_invites") == 0


async def test_open_registration_ignores_invite_codes(pod: Pod) -> None:
    await pod.call("POST", "/api/v1/accounts", json=reg("alice", inviteCode="any"), expect=201)


# --- accounts/current -----------------------------------------------------------------------


async def test_get_current_account(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    _, data = await pod.call("GET", "/api/v1/accounts/current", alice, expect=200)
    assert data["id"] == alice.account_id
    assert data["email"] == "alice@example.org"
    assert data["primaryIdentityId"] == alice.identity_id
    assert TIME_RE.match(data["createdAt"])


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_current_account_needs_a_valid_token(pod: Pod, method: str) -> None:
    alice = await pod.register("alice")
    body = {"currentPassword": PASSWORD, "password": PASSWORD}
    resp, data = await pod.call(method, "/api/v1/accounts/current", json=body, expect=401)
    assert data["error"] == "not_authenticated"
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    await pod.call(
        method,
        "/api/v1/accounts/current",
        json=body,
        headers={"Authorization": "Bearer " + alice.token[:-1] + "x"},
        expect=401,
    )
    # Revoked token.
    await pod.call("DELETE", "/api/v1/sessions/current", alice, expect=204)
    await pod.call(method, "/api/v1/accounts/current", alice, json=body, expect=401)


async def test_change_email(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    pod.clock.advance(timedelta(minutes=1))
    body = {"currentPassword": PASSWORD, "email": "new@example.org"}
    _, data = await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    assert data["email"] == "new@example.org"
    assert data["updatedAt"] > data["createdAt"]
    _, data = await pod.call("GET", "/api/v1/accounts/current", alice, expect=200)
    assert data["email"] == "new@example.org"
    await pod.login("new@example.org")
    await pod.login("alice@example.org", expect=401)
    # Another account's email, in any case, is taken.
    body = {"currentPassword": PASSWORD, "email": "BOB@example.org"}
    _, data = await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=409)
    assert data["error"] == "email_taken"
    # Changing the case of one's own email is fine.
    body = {"currentPassword": PASSWORD, "email": "New@example.org"}
    await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    assert "account.email_changed" in [e["kind"] for e in await events(pod, alice)]


async def test_change_password_needs_the_current_one(pod: Pod) -> None:
    alice = await pod.register("alice")
    body = {"currentPassword": "wrong password", "password": "a new password"}
    _, data = await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=403)
    assert data["error"] == "wrong_password"
    _, data = await pod.call(
        "PATCH", "/api/v1/accounts/current", alice, json={"password": "a new password"}, expect=422
    )
    assert "currentPassword" in data["fields"]
    await pod.login("alice", PASSWORD)  # unchanged so far

    body = {"currentPassword": PASSWORD, "password": "a new password"}
    await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    await pod.login("alice", PASSWORD, expect=401)
    await pod.login("alice", "a new password")
    kinds = [e["kind"] for e in await events(pod, alice)]
    assert kinds.count("account.password_changed") == 1


async def test_a_new_password_ends_every_other_login_session(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, other = await pod.login("alice")  # say, a stolen one
    elsewhere = {"Authorization": f"Bearer {other['token']}"}
    token, _ = await pod.app[SERVICES].sessions.create_app_token(
        alice.account_id, alice.identity_id, "backup app", frozenset({"profile"}), None
    )
    app = {"Authorization": f"Bearer {token}"}
    await pod.call("GET", "/api/v1/accounts/current", headers=elsewhere, expect=200)

    body = {"currentPassword": PASSWORD, "password": "a new password"}
    await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    await pod.call("GET", "/api/v1/identity/current", headers=elsewhere, expect=401)
    await pod.call("GET", "/api/v1/identity/current", alice, expect=200)  # the one that changed it
    await pod.call(
        "GET", "/api/v1/identity/current", headers=app, expect=200
    )  # issued by the operator
    [changed] = [e for e in await events(pod, alice) if e["kind"] == "account.password_changed"]
    assert changed["detail"] == {"sessions_ended": 1}
    # An email change alone ends nothing.
    _, again = await pod.login("alice", "a new password")
    body = {"currentPassword": "a new password", "email": "new@example.org"}
    await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    await pod.call(
        "GET", "/api/v1/identity/current", headers={"Authorization": f"Bearer {again['token']}"},
        expect=200,
    )  # fmt: skip


async def test_guesses_of_the_current_password_are_throttled(make_pod: PodFactory) -> None:
    pod = await make_pod(
        auth={"login_max_failures": 3, "login_window_seconds": 60},
        server={"trusted_proxies": ["127.0.0.1"]},
    )
    alice = await pod.register("alice")
    path = "/api/v1/accounts/current"
    thief = {"X-Forwarded-For": "203.0.113.5"}  # with a stolen token
    for n in range(2):
        body = {"currentPassword": f"guess {n}", "password": "the thief's password"}
        await pod.call("PATCH", path, alice, json=body, headers=thief, expect=403)
    await pod.call("DELETE", path, alice, json={"password": "guess 2"}, headers=thief, expect=403)
    pod.clock.advance(timedelta(seconds=10))
    # Even the right password is refused now, to these checks and to logins from there.
    body = {"currentPassword": PASSWORD, "email": "thief@example.org"}
    resp, data = await pod.call("PATCH", path, alice, json=body, headers=thief, expect=429)
    assert data["error"] == "rate_limited" and resp.headers["Retry-After"] == "50"
    resp, _ = await pod.call(
        "DELETE", path, alice, json={"password": PASSWORD}, headers=thief, expect=429
    )
    assert resp.headers["Retry-After"] == "50"
    await pod.login("alice", PASSWORD, expect=429, headers=thief)
    # Alice, elsewhere, is not refused.
    home = {"X-Forwarded-For": "198.51.100.7"}
    body = {"currentPassword": PASSWORD, "password": "a new password"}
    await pod.call("PATCH", path, alice, json=body, headers=home, expect=200)
    _, data = await pod.call("GET", path, alice, expect=200)
    assert data["email"] == "alice@example.org"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currentPassword": PASSWORD, "password": "short"}, "password"),
        ({"currentPassword": PASSWORD, "password": "x" * 1025}, "password"),
        ({"currentPassword": PASSWORD, "email": "nope"}, "email"),
        ({"currentPassword": PASSWORD, "email": "x" * 255}, "email"),
        ({"currentPassword": PASSWORD, "email": 5}, "email"),
        ({"currentPassword": 12345678}, "currentPassword"),
        ({"currentPassword": PASSWORD, "username": "eve"}, "username"),
    ],
)
async def test_patch_account_validation(pod: Pod, body: dict[str, Any], field: str) -> None:
    alice = await pod.register("alice")
    _, data = await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=422)
    assert field in data["fields"]
    _, data = await pod.call("GET", "/api/v1/accounts/current", alice, expect=200)
    assert data["email"] == "alice@example.org"
    await pod.login("alice", PASSWORD)


async def test_patch_account_bad_bodies(pod: Pod) -> None:
    alice = await pod.register("alice")
    path = "/api/v1/accounts/current"
    await pod.call("PATCH", path, alice, data=b"{", headers=JSON, expect=400)
    await pod.call("PATCH", path, alice, data=b'{"currentPassword": "x"}', expect=415)


async def test_delete_account(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, second = await pod.login("alice")
    other = {"Authorization": f"Bearer {second['token']}"}
    path = "/api/v1/accounts/current"
    _, data = await pod.call("DELETE", path, alice, json={"password": "wrong password"}, expect=403)
    assert data["error"] == "wrong_password"
    await pod.call("DELETE", path, alice, json={}, expect=422)
    await pod.call("DELETE", path, alice, json={"password": 12345678}, expect=422)
    await pod.call("DELETE", path, alice, json={"password": "x" * 1025}, expect=422)
    await pod.call("DELETE", path, alice, expect=415)
    await pod.call("DELETE", path, alice, data=b"nope", headers=JSON, expect=400)
    await pod.call("GET", path, alice, expect=200)  # still there

    await pod.call("DELETE", path, alice, json={"password": PASSWORD}, expect=204)
    # Every session of the account is gone; the account and its identity are gone.
    await pod.call("GET", path, alice, expect=401)
    await pod.call("GET", path, headers=other, expect=401)
    await pod.login("alice", expect=401)
    await pod.call("GET", f"/api/v1/identities/{alice.identity_id}", bob, expect=404)
    # Other accounts are untouched.
    _, data = await pod.call("GET", path, bob, expect=200)
    assert data["id"] == bob.account_id


async def test_a_deleted_accounts_names_are_never_given_out_again(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "alice_work"}, expect=201)
    actor = {"Accept": "application/activity+json"}
    await pod.call("GET", "/users/alice_work", headers=actor, expect=200)
    await pod.call(
        "DELETE", "/api/v1/accounts/current", alice, json={"password": PASSWORD}, expect=204
    )
    # Other pods know these actors: they are gone, and nobody becomes them, whatever the case.
    for name in ("alice", "alice_work"):
        await pod.call("GET", f"/users/{name}", headers=actor, expect=410)
        await pod.call("GET", f"/users/{name}/followers", headers=actor, expect=410)
    await pod.call("GET", "/users/nobody", headers=actor, expect=404)
    _, data = await pod.call("POST", "/api/v1/accounts", json=reg("ALICE"), expect=409)
    assert data["error"] == "username_taken"
    _, data = await pod.call(
        "POST", "/api/v1/identities", bob, json={"username": "Alice_Work"}, expect=409
    )
    assert data["error"] == "username_taken"
    body = {"displayName": "Alice", "name": "alice"}
    _, data = await pod.call("POST", "/api/v1/spaces", bob, json=body, expect=409)
    assert data["error"] == "name_taken"
    await pod.call("POST", "/api/v1/accounts", json=reg("alicia"), expect=201)


async def _roles(pod: Pod, user: Any, space_id: str) -> dict[str, str]:
    _, items = await pod.call("GET", f"/api/v1/spaces/{space_id}/members", user, expect=200)
    return {m["identity"]["username"]: m["role"] for m in items}


async def test_the_last_admin_of_a_space_cannot_delete_their_account(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    garden = await make_space(pod, alice, name="garden")
    await join(pod, bob, garden["id"])
    # alice alone in it: refused as well; deleting it is the owner's explicit act.
    orchard = await make_space(pod, alice, name="orchard")
    shared = await make_space(pod, alice, name="shared")
    await join(pod, bob, shared["id"])
    member = f"/api/v1/spaces/{shared['id']}/members/{bob.identity_id}"
    await pod.call("PATCH", member, alice, json={"role": "admin"}, expect=200)
    path = "/api/v1/accounts/current"

    _, err = await pod.call("DELETE", path, alice, json={"password": PASSWORD}, expect=409)
    assert err["error"] == "last_admin"
    assert "garden" in err["message"] and "orchard" in err["message"]
    assert "shared" not in err["message"]  # bob is admin there too
    # Nothing changed: the account works and the spaces keep their admin.
    await pod.call("GET", path, alice, expect=200)
    await pod.login("alice")
    assert await _roles(pod, bob, garden["id"]) == {"alice": "admin", "bob": "member"}
    assert await _roles(pod, alice, orchard["id"]) == {"alice": "admin"}

    member = f"/api/v1/spaces/{garden['id']}/members/{bob.identity_id}"
    await pod.call("PATCH", member, alice, json={"role": "admin"}, expect=200)
    _, err = await pod.call("DELETE", path, alice, json={"password": PASSWORD}, expect=409)
    assert "orchard" in err["message"] and "garden" not in err["message"]
    await pod.call("DELETE", f"/api/v1/spaces/{orchard['id']}", alice, expect=204)
    await pod.call("DELETE", path, alice, json={"password": PASSWORD}, expect=204)
    await pod.call("GET", path, alice, expect=401)
    assert await _roles(pod, bob, garden["id"]) == {"bob": "admin"}
    assert await _roles(pod, bob, shared["id"]) == {"bob": "admin"}


async def test_admins_of_one_account_cannot_all_go_with_it(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    garden = await make_space(pod, alice, name="garden")
    await join(pod, bob, garden["id"])
    _, work = await pod.call(
        "POST", "/api/v1/identities", alice, json={"username": "alice_work"}, expect=201
    )
    session = "/api/v1/sessions/current"
    await pod.call("PATCH", session, alice, json={"identityId": work["id"]}, expect=200)
    await join(pod, alice, garden["id"])
    await pod.call("PATCH", session, alice, json={"identityId": alice.identity_id}, expect=200)
    member = f"/api/v1/spaces/{garden['id']}/members/{work['id']}"
    await pod.call("PATCH", member, alice, json={"role": "admin"}, expect=200)
    # Either identity may leave alone, but the account takes both.
    path = "/api/v1/accounts/current"
    _, err = await pod.call("DELETE", path, alice, json={"password": PASSWORD}, expect=409)
    assert err["error"] == "last_admin" and "garden" in err["message"]
    roles = {"alice": "admin", "alice_work": "admin", "bob": "member"}
    assert await _roles(pod, bob, garden["id"]) == roles


# --- changelog ------------------------------------------------------------------------------


async def test_changelog_records_account_events_newest_first(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.register("bob")
    pod.clock.advance(timedelta(seconds=1))
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "alice_work"}, expect=201)
    pod.clock.advance(timedelta(seconds=1))
    body = {"currentPassword": PASSWORD, "password": "another password"}
    await pod.call("PATCH", "/api/v1/accounts/current", alice, json=body, expect=200)
    pod.clock.advance(timedelta(seconds=1))
    _, second = await pod.login("alice", "another password")
    pod.clock.advance(timedelta(seconds=1))
    await pod.call("DELETE", f"/api/v1/sessions/{second['session']['id']}", alice, expect=204)

    items = await events(pod, alice)
    kinds = [e["kind"] for e in items]
    assert kinds[:4] == [
        "session.revoked",
        "session.created",
        "account.password_changed",
        "identity.added",
    ]
    assert sorted(kinds[4:]) == ["account.created", "identity.added", "session.created"]
    assert items[0]["detail"] == {"session": second["session"]["id"]}
    assert items[3]["detail"]["username"] == "alice_work"
    for e in items:
        assert GUID_RE.match(e["id"]) and TIME_RE.match(e["createdAt"])
    stamps = [e["createdAt"] for e in items]
    assert stamps == sorted(stamps, reverse=True)
    assert len({e["id"] for e in items}) == len(items)


async def test_changelog_is_private_to_the_account(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    mine = {e["id"] for e in await events(pod, alice)}
    theirs = {e["id"] for e in await events(pod, bob)}
    assert mine and theirs and not mine & theirs
    await pod.call("GET", "/api/v1/accounts/current/changelog", expect=401)

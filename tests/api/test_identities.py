"""/api/v1/identities and /api/v1/identity/current: an account's identities and public profiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from node.services.identities import MAX_IDENTITIES_PER_ACCOUNT
from tests.support import GUID_RE, TIME_RE, Pod, between

JSON = {"Content-Type": "application/json"}
PROFILE_KEYS = {
    "id",
    "username",
    "domain",
    "handle",
    "displayName",
    "bio",
    "fields",
    "locked",
    "discoverable",
    "local",
    "url",
    "createdAt",
    "updatedAt",
    "avatarUrl",
    "movedTo",
}


async def test_list_own_identities(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, items = await pod.call("GET", "/api/v1/identities", alice, expect=200)
    assert [i["id"] for i in items] == [alice.identity_id]
    pod.clock.advance(timedelta(seconds=1))
    _, work = await pod.call(
        "POST", "/api/v1/identities", alice, json={"username": "alice_work"}, expect=201
    )
    _, items = await pod.call("GET", "/api/v1/identities", alice, expect=200)
    assert [i["id"] for i in items] == [work["id"], alice.identity_id]  # newest first
    _, items = await pod.call("GET", "/api/v1/identities", bob, expect=200)
    assert [i["id"] for i in items] == [bob.identity_id]
    await pod.call("GET", "/api/v1/identities", expect=401)


async def test_create_identity(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, plain = await pod.call(
        "POST", "/api/v1/identities", alice, json={"username": "Alice_2"}, expect=201
    )
    assert set(plain) == PROFILE_KEYS
    assert GUID_RE.match(plain["id"]) and TIME_RE.match(plain["createdAt"])
    assert plain["username"] == "Alice_2"
    assert plain["handle"] == f"Alice_2@{pod.host}"
    assert plain["url"] == f"{pod.url}/users/Alice_2"
    assert plain["displayName"] == "Alice_2"
    assert (plain["bio"], plain["fields"], plain["locked"], plain["discoverable"]) == (
        "",
        [],
        False,
        True,
    )
    body = {
        "username": "hidden",
        "displayName": "Hidden Alice",
        "bio": "b" * 2000,
        "locked": True,
        "discoverable": False,
    }
    _, full = await pod.call("POST", "/api/v1/identities", alice, json=body, expect=201)
    assert full["displayName"] == "Hidden Alice" and full["bio"] == "b" * 2000
    assert full["locked"] is True and full["discoverable"] is False
    _, again = await pod.call("GET", f"/api/v1/identities/{full['id']}", alice, expect=200)
    assert again == full


INVALID_IDENTITIES: list[tuple[dict[str, Any], str]] = [
    ({}, "username"),
    ({"username": ""}, "username"),
    ({"username": "a" * 31}, "username"),
    ({"username": "has space"}, "username"),
    ({"username": "dot.ted"}, "username"),
    ({"username": "ünï"}, "username"),
    ({"username": "tab\t"}, "username"),
    ({"username": "trailing\n"}, "username"),
    ({"username": "admin"}, "username"),
    ({"username": "ROOT"}, "username"),
    ({"username": 42}, "username"),
    ({"username": "ok", "displayName": "d" * 101}, "displayName"),
    ({"username": "ok", "bio": "b" * 2001}, "bio"),
    ({"username": "ok", "locked": "yes"}, "locked"),
    ({"username": "ok", "discoverable": 1}, "discoverable"),
    ({"username": "ok", "displayName": ["x"]}, "displayName"),
    ({"username": "ok", "owner": "bob"}, "owner"),
]


async def test_create_identity_validation(pod: Pod) -> None:
    alice = await pod.register("alice")
    for body, field in INVALID_IDENTITIES:
        resp, data = await pod.call("POST", "/api/v1/identities", alice, json=body)
        assert resp.status == 422, (body, data)
        assert data["error"] == "validation_failed" and field in data["fields"], (body, data)
    _, items = await pod.call("GET", "/api/v1/identities", alice, expect=200)
    assert len(items) == 1


async def test_create_identity_bad_bodies(pod: Pod) -> None:
    alice = await pod.register("alice")
    await pod.call("POST", "/api/v1/identities", alice, data=b"[", headers=JSON, expect=400)
    await pod.call("POST", "/api/v1/identities", alice, data=b'{"username": "x"}', expect=415)
    await pod.call("POST", "/api/v1/identities", json={"username": "x"}, expect=401)


async def test_usernames_are_unique_across_accounts_ignoring_case(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    for name in ("BOB", "Alice", "alice"):
        _, data = await pod.call(
            "POST", "/api/v1/identities", alice, json={"username": name}, expect=409
        )
        assert data["error"] == "username_taken"
    await pod.call("POST", "/api/v1/identities", bob, json={"username": "Shared"}, expect=201)
    await pod.call("POST", "/api/v1/identities", alice, json={"username": "sHARED"}, expect=409)
    _, data = await pod.call(
        "POST",
        "/api/v1/accounts",
        json={"username": "shared", "email": "c@example.org", "password": "12345678"},
        expect=409,
    )
    assert data["error"] == "username_taken"


async def test_an_identity_cannot_take_a_space_name(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    _, garden = await pod.call(
        "POST", "/api/v1/spaces", alice, json={"displayName": "Garden", "name": "garden"},
        expect=201,
    )  # fmt: skip
    body = {"displayName": "Hidden", "name": "hidden", "visibility": "private"}
    await pod.call("POST", "/api/v1/spaces", alice, json=body, expect=201)
    # Spaces and identities are both name@host to other pods: one namespace, in any case.
    for name in ("garden", "GARDEN", "hidden"):
        _, data = await pod.call(
            "POST", "/api/v1/identities", bob, json={"username": name}, expect=409
        )
        assert data["error"] == "username_taken"
    _, items = await pod.call("GET", "/api/v1/identities", bob, expect=200)
    assert [i["id"] for i in items] == [bob.identity_id]
    # The handle still finds the space's Group, not a person.
    _, jrd = await pod.call(
        "GET", "/.well-known/webfinger", params={"resource": f"acct:garden@{pod.host}"},
        expect=200,
    )  # fmt: skip
    assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == [garden["uri"]]


async def test_identities_per_account_are_limited(pod: Pod) -> None:
    alice = await pod.register("alice")
    for n in range(1, MAX_IDENTITIES_PER_ACCOUNT):
        await pod.call("POST", "/api/v1/identities", alice, json={"username": f"a{n}"}, expect=201)
    _, data = await pod.call(
        "POST", "/api/v1/identities", alice, json={"username": "one_too_many"}, expect=409
    )
    assert data["error"] == "too_many_identities"
    # Another account is not affected.
    bob = await pod.register("bob")
    await pod.call("POST", "/api/v1/identities", bob, json={"username": "bob2"}, expect=201)


async def test_get_and_patch_current_identity(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, before = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert set(before) == PROFILE_KEYS and before["id"] == alice.identity_id
    pod.clock.advance(timedelta(minutes=1))
    fields = [{"name": "web", "value": "https://alice.example"}, {"name": "n" * 255, "value": ""}]
    body = {
        "displayName": "Alice A.",
        "bio": "hello",
        "fields": fields,
        "locked": True,
        "discoverable": False,
    }
    start = pod.clock.now()
    _, after = await pod.call("PATCH", "/api/v1/identity/current", alice, json=body, expect=200)
    assert {k: after[k] for k in body} == body
    assert between(after["updatedAt"], start, pod.clock.now())
    assert after["createdAt"] == before["createdAt"]
    assert after["username"] == "alice"
    _, read = await pod.call("GET", "/api/v1/identity/current.json", alice, expect=200)
    assert read == after

    # Partial: only what is sent changes; null leaves a field alone.
    _, part = await pod.call(
        "PATCH",
        "/api/v1/identity/current",
        alice,
        json={"bio": "", "displayName": None, "locked": False},
        expect=200,
    )
    assert (part["bio"], part["displayName"], part["locked"], part["fields"]) == (
        "",
        "Alice A.",
        False,
        fields,
    )
    _, cleared = await pod.call(
        "PATCH", "/api/v1/identity/current", alice, json={"fields": []}, expect=200
    )
    assert cleared["fields"] == [] and cleared["discoverable"] is False
    _, same = await pod.call("PATCH", "/api/v1/identity/current", alice, json={}, expect=200)
    assert same == cleared


INVALID_PATCHES: list[tuple[dict[str, Any], str]] = [
    ({"displayName": "d" * 101}, "displayName"),
    ({"bio": "b" * 2001}, "bio"),
    ({"bio": 5}, "bio"),
    ({"locked": "true"}, "locked"),
    ({"discoverable": None, "locked": 0}, "locked"),
    ({"fields": [{"name": "a", "value": "b"}] * 5}, "fields"),
    ({"fields": [{"name": "a" * 256, "value": "b"}]}, "fields.0.name"),
    ({"fields": [{"name": "a", "value": "b" * 256}]}, "fields.0.value"),
    ({"fields": [{"name": "a"}]}, "fields.0.value"),
    ({"fields": [{"name": "a", "value": "b", "extra": 1}]}, "fields.0.extra"),
    ({"fields": {"name": "a", "value": "b"}}, "fields"),
    ({"username": "renamed"}, "username"),
]


async def test_patch_identity_validation(pod: Pod) -> None:
    alice = await pod.register("alice")
    _, before = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    for body, field in INVALID_PATCHES:
        resp, data = await pod.call("PATCH", "/api/v1/identity/current", alice, json=body)
        assert resp.status == 422, (body, data)
        assert field in data["fields"], (body, data)
    _, after = await pod.call("GET", "/api/v1/identity/current", alice, expect=200)
    assert after == before


async def test_patch_identity_bad_bodies(pod: Pod) -> None:
    alice = await pod.register("alice")
    path = "/api/v1/identity/current"
    await pod.call("PATCH", path, alice, data=b'{"bio": "x"', headers=JSON, expect=400)
    await pod.call("PATCH", path, alice, data=b'"bio"', headers=JSON, expect=400)
    await pod.call("PATCH", path, alice, data=b'{"bio": "x"}', expect=415)
    await pod.call("PATCH", path, json={"bio": "x"}, expect=401)


async def test_identities_of_others_are_public_profiles(pod: Pod) -> None:
    alice = await pod.register("alice")
    bob = await pod.register("bob")
    await pod.call("PATCH", "/api/v1/identity/current", bob, json={"bio": "hi"}, expect=200)
    _, data = await pod.call("GET", f"/api/v1/identities/{bob.identity_id}", alice, expect=200)
    assert set(data) == PROFILE_KEYS
    assert data["handle"] == f"bob@{pod.host}" and data["bio"] == "hi"
    assert "email" not in data and "accountId" not in data
    _, data = await pod.call("GET", f"/api/v1/identities/{bob.identity_id}.json", alice)
    assert data["id"] == bob.identity_id
    _, data = await pod.call("GET", "/api/v1/identities/current", alice, expect=200)
    assert data["id"] == alice.identity_id
    # Reading needs a token; changing someone else's profile has no route at all.
    await pod.call("GET", f"/api/v1/identities/{bob.identity_id}", expect=401)
    await pod.call(
        "PATCH", f"/api/v1/identities/{bob.identity_id}", alice, json={"bio": "x"}, expect=405
    )


@pytest.mark.parametrize("guid", ["0" * 32, "A" * 32, "nope", "0" * 31, "0" * 33, "%20"])
async def test_unknown_identities_are_not_found(pod: Pod, guid: str) -> None:
    alice = await pod.register("alice")
    _, data = await pod.call("GET", f"/api/v1/identities/{guid}", alice, expect=404)
    assert data == {"code": 404, "error": "not_found", "message": "Identity not found."}

"""Flows between pods where one pod runs as two processes and consecutive requests, from its
users and from other pods, land on different processes (tests/spread.py): what one process
learns or changes, the other acts on; what the other queues, the first sends."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from federation.routes import FEDERATION
from node.appkeys import DB
from node.store.turn import TurnBoard
from node.workers import Wakes
from tests.api.test_media_flow import announce, image_bytes, put, wait_ready
from tests.conftest import PodFactory
from tests.federation.test_delivery import _create_row, _followed_by_remote
from tests.federation.test_flows import follow, follow_accepted, stream
from tests.federation.test_hostile import Scene
from tests.hostile import HostilePod, new_key
from tests.remote import Answer, RemoteServer
from tests.spaces.support import make_invite, make_space, post_in
from tests.spaces.test_space_federation import (
    _has_body,
    _is,
    _join_remote,
    _joined,
    _member_handles,
    _role,
)
from tests.spread import SpreadPod, spread_pod
from tests.support import Pod, User, wait_for
from tests.test_workers import PROMPTLY

API = "/api/v1"
AS = {"Accept": "application/activity+json"}


@pytest.fixture
async def spread(
    wakes: Wakes, turns: TurnBoard, make_pod: PodFactory, tmp_path: Path
) -> AsyncIterator[SpreadPod]:
    async with spread_pod(make_pod, tmp_path / "spread", wakes, turns) as pod:
        yield pod


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    return new_key(), new_key()


@pytest.fixture
async def hostile(keys: tuple[RSAPrivateKey, RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    pod = await HostilePod().start()
    pod.add_actor("mallory", keys[0])
    yield pod
    await pod.close()


async def test_a_key_rotation_one_process_saw_holds_in_the_other(
    spread: SpreadPod, hostile: HostilePod, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A remote actor's new key, fetched by one process, is the key in every process: the old
    one (perhaps leaked: why keys are rotated) signs nothing more anywhere."""
    scene = Scene(spread, await spread.register("alice"), hostile)
    for index in (0, 1):  # each process has verified (and keeps) mallory's key
        with spread.on(index):
            await scene.accepted(scene.follow())
    hostile.keys["mallory"] = keys[1]
    with spread.on(0):
        await scene.accepted(scene.follow())  # fails with the old key: fetched again
    for index in (0, 1):
        with spread.on(index):
            status, data = await scene.post(scene.follow(), key=keys[0])
            assert (status, (data or {}).get("error")) == (401, "signature_invalid"), index


# --- helpers ---


async def on_each(spread: SpreadPod, read: Callable[[], Awaitable[Any]]) -> list[Any]:
    """What `read` gives when every request goes to process 0, then to process 1."""
    seen = []
    for index in (0, 1):
        with spread.on(index):
            seen.append(await read())
    return seen


async def same_on_each(spread: SpreadPod, read: Callable[[], Awaitable[Any]]) -> Any:
    first, second = await on_each(spread, read)
    assert first == second
    return first


def spread_over_both(spread: SpreadPod) -> None:
    assert min(spread.served) > 0, spread.served


async def post(pod: Pod, user: User, body: str, **fields: Any) -> dict[str, Any]:
    _, out = await pod.call("POST", f"{API}/posts", user, json={"body": body, **fields}, expect=201)
    return out


async def alice_and_bob(make_pod: PodFactory, spread: SpreadPod) -> tuple[Pod, User, User]:
    """Another pod, with alice on the pod of two processes and bob on the other."""
    other = await make_pod()
    return other, await spread.register("alice"), await other.register("bob")


async def copy_of(pod: Pod, user: User, uri: str) -> dict[str, Any] | None:
    found = [p for p in await stream(pod, user) if p["uri"] == uri]
    return found[0] if found else None


async def badge(pod: Pod, user: User) -> int:
    _, out = await pod.call("GET", f"{API}/notifications/badge", user, expect=200)
    return int(out["unread"])


# --- follows, posts, interactions ---


async def test_follows_and_posts_edits_and_deletes_travel_both_ways(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    await follow_accepted(spread, alice, f"bob@{other.host}")
    await follow_accepted(other, bob, f"alice@{spread.host}")
    await _travels(spread, alice, other, bob)
    await _travels(other, bob, spread, alice)
    # Each process shows the same (its own reads are no cache of the other's writes).
    assert await same_on_each(spread, lambda: stream(spread, alice)) == []
    spread_over_both(spread)


async def _travels(home: Pod, author: User, there: Pod, reader: User) -> None:
    """A post of `author`'s reaches `reader`, then its edit, then its deletion."""
    sent = await post(home, author, f"hello from {author.username}")
    await wait_for(lambda: copy_of(there, reader, sent["uri"]))
    path = f"{API}/posts/{sent['id']}"
    await home.call("PATCH", path, author, json={"body": "edited"}, expect=200)

    async def edited() -> bool:
        copy = await copy_of(there, reader, sent["uri"])
        return copy is not None and copy["body"] == "edited"

    await wait_for(edited)
    await home.call("DELETE", path, author, expect=204)

    async def gone() -> bool:
        return await copy_of(there, reader, sent["uri"]) is None

    await wait_for(gone)


async def test_a_locked_identity_approves_a_request_in_one_process_and_the_other_sends(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    with spread.on(1):
        await spread.call("PATCH", f"{API}/identity/current", alice, json={"locked": True},
                          expect=200)  # fmt: skip
    assert (await follow(other, bob, f"alice@{spread.host}"))["state"] == "pending"

    async def requested() -> list[dict[str, Any]]:
        _, items = await spread.call("GET", f"{API}/follows/requests", alice, expect=200)
        return items

    [request] = await wait_for(requested)
    assert await on_each(spread, requested) == [[request], [request]]
    with spread.on(1):  # approved in the process that does not send: the Accept still goes
        await spread.call("POST", f"{API}/follows/requests/{request['id']}/approve", alice,
                          expect=200)  # fmt: skip

    async def accepted() -> bool:
        _, following = await other.call(
            "GET", f"{API}/identities/current/following", bob, expect=200
        )
        return bool(following) and following[0]["state"] == "accepted"

    await wait_for(accepted, timeout=PROMPTLY)
    with spread.on(1):
        sent = await post(spread, alice, "for followers", visibility="followers")
    await wait_for(lambda: copy_of(other, bob, sent["uri"]), timeout=PROMPTLY)
    assert await on_each(spread, requested) == [[], []]


async def test_likes_reshares_and_reactions_and_their_undoing_count_once(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    await follow_accepted(other, bob, f"alice@{spread.host}")
    mine = await post(spread, alice, "like me")
    copy = await wait_for(lambda: copy_of(other, bob, mine["uri"]))
    path = f"{API}/posts/{copy['id']}"
    for _ in range(2):  # twice each: the same counts
        await other.call("POST", f"{path}/like", bob, expect=200)
        await other.call("POST", f"{path}/reshare", bob, expect=200)
        await other.call("PUT", f"{path}/reaction", bob, json={"emoji": "🙂"}, expect=200)

    async def counts() -> dict[str, int]:
        _, seen = await spread.call("GET", f"{API}/posts/{mine['id']}", alice, expect=200)
        return dict(seen["counts"])

    full = {"likes": 1, "reshares": 1, "comments": 0, "reactions": 1}
    await wait_for(lambda: _equals(counts, full))
    assert await same_on_each(spread, counts) == full
    kinds = await same_on_each(spread, lambda: _kinds(spread, alice))
    assert sorted(kinds) == ["follow", "like", "reaction", "reshare"]
    await other.call("DELETE", f"{path}/like", bob, expect=200)
    await other.call("DELETE", f"{path}/reshare", bob, expect=200)
    await other.call("DELETE", f"{path}/reaction", bob, expect=200)
    none = {"likes": 0, "reshares": 0, "comments": 0, "reactions": 0}
    await wait_for(lambda: _equals(counts, none))
    assert await same_on_each(spread, counts) == none

    # And the other way: alice likes bob's post, from either process.
    await follow_accepted(spread, alice, f"bob@{other.host}")
    theirs = await post(other, bob, "and me")
    their_copy = await wait_for(lambda: copy_of(spread, alice, theirs["uri"]))
    with spread.on(1):
        _, liked = await spread.call("POST", f"{API}/posts/{their_copy['id']}/like", alice,
                                     expect=200)  # fmt: skip
    assert liked["liked"] is True
    with spread.on(0):
        _, seen = await spread.call("GET", f"{API}/posts/{their_copy['id']}", alice, expect=200)
    assert seen["liked"] is True and seen["counts"]["likes"] == 1

    async def liked_there() -> int:
        _, seen = await other.call("GET", f"{API}/posts/{theirs['id']}", bob, expect=200)
        return int(seen["counts"]["likes"])

    await wait_for(lambda: _equals(liked_there, 1), timeout=PROMPTLY)
    spread_over_both(spread)


async def _kinds(pod: Pod, user: User) -> list[str]:
    _, items = await pod.call("GET", f"{API}/notifications", user, expect=200)
    return [n["kind"] for n in items]


async def _equals(get: Callable[[], Awaitable[Any]], expected: Any) -> bool:
    return await get() == expected


# --- spaces ---


async def test_a_space_of_the_pod_takes_members_by_follow_invite_and_application(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other = await make_pod()
    alice = await spread.register("alice")
    bob, carol, erin = [await other.register(n) for n in ("bob", "carol", "erin")]
    space = await make_space(spread, alice, displayName="Potters")
    invited = await make_space(spread, alice, displayName="Quilters", joinMode="invite")
    asked = await make_space(spread, alice, displayName="Weavers", joinMode="application")

    on_other = await _joined(other, bob, {"target": space["uri"]})
    invite = await make_invite(spread, alice, invited["id"], maxUses=1)
    await _joined(other, carol, {"target": invite["link"]})
    on_asked = await _join_remote(other, erin, {"target": asked["uri"], "message": "I weave"})
    base = f"{API}/spaces/{asked['id']}/applications"

    async def pending() -> list[dict[str, Any]]:
        _, items = await spread.call("GET", f"{base}?state=pending", alice, expect=200)
        return items

    [application] = await wait_for(pending)
    with spread.on(1):  # approved in the process that does not send
        await spread.call("POST", f"{base}/{application['id']}/approve", alice, expect=200)
    await wait_for(lambda: _is(_role(other, erin, on_asked["id"]), "member"), timeout=PROMPTLY)

    # The invite's one use is spent, whichever process is asked.
    _, seen = await spread.call("GET", f"{API}/spaces/{invited['id']}/my-invite", alice)
    assert seen["uses"] == 1
    assert await on_each(spread, lambda: _uses(spread, alice, invited["id"])) == [1, 1]
    kinds = await same_on_each(spread, lambda: _kinds(spread, alice))
    assert sorted(kinds) == ["space.application", "space.joined", "space.joined"]

    # alice posts in the space from the process that does not send: the Group relays it.
    with spread.on(1):
        await post_in(spread, alice, space["id"], "kiln is hot")
    await wait_for(lambda: _has_body(other, bob, on_other["id"], "kiln is hot"), timeout=PROMPTLY)
    # bob's post comes to the Group, in whichever process.
    await post_in(other, bob, on_other["id"], "a new glaze")
    await wait_for(lambda: _has_body(spread, alice, space["id"], "a new glaze"))
    members = await same_on_each(spread, lambda: _member_handles(spread, alice, space["id"]))
    assert members == {f"alice@{spread.host}", f"bob@{other.host}"}
    spread_over_both(spread)


async def test_a_member_of_the_pod_joins_a_space_of_another_pod(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    space = await make_space(other, bob, displayName="Gardeners", joinMode="application")
    with spread.on(1):
        on_spread = await _join_remote(spread, alice, {"target": space["uri"], "message": "hi"})
    base = f"{API}/spaces/{space['id']}/applications"

    async def pending() -> list[dict[str, Any]]:
        _, items = await other.call("GET", f"{base}?state=pending", bob, expect=200)
        return items

    [application] = await wait_for(pending, timeout=PROMPTLY)
    await other.call("POST", f"{base}/{application['id']}/approve", bob, expect=200)
    await wait_for(lambda: _is(_role(spread, alice, on_spread["id"]), "member"))
    assert await on_each(spread, lambda: _role(spread, alice, on_spread["id"])) == [
        "member",
        "member",
    ]
    await post_in(other, bob, space["id"], "sow the peas")
    await wait_for(lambda: _has_body(spread, alice, on_spread["id"], "sow the peas"))
    kinds = await same_on_each(spread, lambda: _kinds(spread, alice))
    assert kinds == ["follow.accepted"]  # the Group's Accept


async def _uses(pod: Pod, user: User, space_id: str) -> int:
    _, seen = await pod.call("GET", f"{API}/spaces/{space_id}/my-invite", user, expect=200)
    return int(seen["uses"])


# --- notifications ---


async def test_mentions_and_comments_from_another_pod_make_one_badge_for_the_whole_pod(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    await follow_accepted(other, bob, f"alice@{spread.host}")
    await spread.call("POST", f"{API}/notifications/read", alice, expect=200)  # the follow's
    mine = await post(spread, alice, "what do you think?")
    copy = await wait_for(lambda: copy_of(other, bob, mine["uri"]))
    for n in range(3):
        await post(other, bob, f"@alice@{spread.host} number {n}")
        await post(other, bob, f"comment {n}", inReplyTo=copy["id"])

    async def six() -> bool:
        return await badge(spread, alice) == 6

    await wait_for(six)
    assert await on_each(spread, lambda: badge(spread, alice)) == [6, 6]
    kinds = await same_on_each(spread, lambda: _kinds(spread, alice))
    assert sorted(kinds) == ["comment"] * 3 + ["follow"] + ["mention"] * 3
    _, notes = await spread.call("GET", f"{API}/notifications", alice, expect=200)
    with spread.on(1):
        await spread.call("POST", f"{API}/notifications/{notes[0]['id']}/read", alice, expect=200)
    assert await on_each(spread, lambda: badge(spread, alice)) == [5, 5]
    with spread.on(0):
        _, out = await spread.call("POST", f"{API}/notifications/read", alice, expect=200)
    assert out == {"marked": 5}
    assert await on_each(spread, lambda: badge(spread, alice)) == [0, 0]
    _, seen = await spread.call("GET", f"{API}/posts/{mine['id']}", alice, expect=200)
    assert seen["counts"]["comments"] == 3


async def test_an_activity_delivered_to_both_processes_at_once_counts_once(
    spread: SpreadPod, hostile: HostilePod
) -> None:
    """A sender retrying (its first try timed out) while the first is still being handled:
    the two tries land on different processes, and the Like is still one like."""
    scene = Scene(spread, await spread.register("alice"), hostile)
    mine = await post(spread, alice := scene.alice, "like me")
    like = hostile.activity("mallory", "Like", mine["uri"])
    tries = []
    for index in (0, 1, 0, 1):
        body = json.dumps(like).encode()
        headers = hostile.signed(scene.inbox, body, scene.now(), signer="mallory")
        process = spread.processes[index]
        tries.append(process.http.post(f"{process.url}/inbox", data=body, headers=headers))
    for resp in await asyncio.gather(*tries):
        assert resp.status == 202
        resp.release()
    _, seen = await spread.call("GET", f"{API}/posts/{mine['id']}", alice, expect=200)
    assert seen["counts"]["likes"] == 1
    assert await same_on_each(spread, lambda: _kinds(spread, alice)) == ["like"]


# --- sessions and accounts ---


async def test_logins_logouts_and_a_new_password_hold_in_every_process(
    make_pod: PodFactory, tmp_path: Path, wakes: Wakes, turns: TurnBoard
) -> None:
    auth = {"login_max_failures": 3, "login_window_seconds": 60}
    async with spread_pod(make_pod, tmp_path / "spread", wakes, turns, auth=auth) as pod:
        alice = await pod.register("alice")
        with pod.on(0):
            _, phone = await pod.login("alice")
        phone_user = replace(alice, token=phone["token"])
        with pod.on(1):
            _, laptop = await pod.login("alice")
        laptop_user = replace(alice, token=laptop["token"])
        for user in (alice, phone_user, laptop_user):
            await on_each(pod, lambda user=user: _me(pod, user, 200))
        _, sessions = await pod.call("GET", f"{API}/sessions", alice, expect=200)
        assert len(sessions) == 3

        # A logout in one process ends the session in both.
        with pod.on(1):
            await pod.call("DELETE", f"{API}/sessions/current", phone_user, expect=204)
        await on_each(pod, lambda: _me(pod, phone_user, 401))
        # A new password, set in one, ends the other login sessions in both.
        body = {"currentPassword": alice.password, "password": "a new password"}
        with pod.on(0):
            await pod.call("PATCH", f"{API}/accounts/current", alice, json=body, expect=200)
        await on_each(pod, lambda: _me(pod, laptop_user, 401))
        await on_each(pod, lambda: _me(pod, alice, 200))
        await on_each(pod, lambda: pod.login("alice", alice.password, expect=401))

        # Failed logins count in the pod, not in a process: the third, wherever it lands,
        # holds the right password back too.
        await pod.login("alice", "wrong", expect=401)
        for index in (0, 1):
            with pod.on(index):
                resp, _ = await pod.login("alice", "a new password", expect=429)
                assert 0 < int(resp.headers["Retry-After"]) <= 60


async def _me(pod: Pod, user: User, expect: int) -> None:
    await pod.call("GET", f"{API}/identity/current", user, expect=expect)


async def test_a_deleted_account_is_forgotten_by_other_pods_and_its_tokens_end_everywhere(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    handle = f"alice@{spread.host}"
    await follow_accepted(other, bob, handle)
    await follow_accepted(spread, alice, f"bob@{other.host}")
    mine = await post(spread, alice, "by alice")
    await wait_for(lambda: copy_of(other, bob, mine["uri"]))
    with spread.on(1):  # the process that does not send: her Delete still goes, at once
        await spread.call("DELETE", f"{API}/accounts/current", alice,
                          json={"password": alice.password}, expect=204)  # fmt: skip

    async def forgotten() -> bool:
        _, followers = await other.call(
            "GET", f"{API}/identities/current/followers", bob, expect=200
        )
        return not followers and await copy_of(other, bob, mine["uri"]) is None

    await wait_for(forgotten, timeout=PROMPTLY)
    await on_each(spread, lambda: _me(spread, alice, 401))
    for index in (0, 1):
        with spread.on(index):
            await spread.call("GET", "/users/alice", headers=AS, expect=410)


# --- media and sharing ---


async def test_pictures_uploaded_to_either_process_reach_another_pod(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    await follow_accepted(other, bob, f"alice@{spread.host}")
    pictures = []
    for announced, sent in ((0, 1), (1, 0), (1, 1)):  # the PUT in the other process, or its own
        with spread.on(announced):
            ticket = await announce(spread, alice, "photo.png", "image/png")
        with spread.on(sent):
            resp, body = await put(spread, ticket, image_bytes(size=(20 + sent, 30)))
        assert resp.status == 200, body
        pictures.append(await wait_ready(spread, alice, ticket["media"]["id"]))
    assert [p["status"] for p in pictures] == ["ready"] * 3
    with spread.on(1):
        mine = await post(spread, alice, "sunsets", attachmentIds=[p["id"] for p in pictures])
    copy = await wait_for(lambda: copy_of(other, bob, mine["uri"]), timeout=PROMPTLY)
    assert [a["url"] for a in copy["attachments"]] == [p["publicDownloadUrl"] for p in pictures]
    for index in (0, 1):  # the files, from either process
        with spread.on(index):
            for picture in pictures:
                path = picture["publicDownloadUrl"].removeprefix(spread.url)
                resp, _ = await spread.call("GET", path, expect=200)
    # A deletion in one process takes the picture from the post in both, and on the other pod.
    with spread.on(0):
        await spread.call("DELETE", f"{API}/media/{pictures[0]['id']}", alice, expect=204)

    async def two_left() -> bool:
        found = await copy_of(other, bob, mine["uri"])
        return found is not None and len(found["attachments"]) == 2

    await wait_for(two_left)

    async def attached() -> list[str]:
        _, shown = await spread.call("GET", f"{API}/posts/{mine['id']}", alice, expect=200)
        return [a["id"] for a in shown["attachments"]]

    assert await same_on_each(spread, attached) == [p["id"] for p in pictures[1:]]


async def test_items_shared_with_someone_on_another_pod_are_read_through_either_process(
    make_pod: PodFactory, spread: SpreadPod
) -> None:
    other, alice, bob = await alice_and_bob(make_pod, spread)
    _, family = await spread.call("POST", f"{API}/labels", alice, json={"name": "family"},
                                  expect=201)  # fmt: skip
    for text in ("the kids' drawings", "trip photos"):
        await post(spread, alice, text, visibility="followers", labelIds=[family["id"]])
    await post(spread, alice, "unlabelled", visibility="followers")
    with spread.on(1):
        _, share = await spread.call(
            "POST", f"{API}/sharing", alice,
            json={"shared_with": f"bob@{other.host}", "scope": "specific_tags",
                  "tag_ids": [family["id"]]},
            expect=201,
        )  # fmt: skip

    async def incoming() -> list[dict[str, Any]]:
        _, items = await other.call("GET", f"{API}/sharing/incoming", bob, expect=200)
        return items

    [seen] = await wait_for(incoming, timeout=PROMPTLY)

    async def bodies() -> list[str]:
        _, items = await other.call("GET", f"{API}/sharing/{seen['id']}/items", bob, expect=200)
        return sorted(i["body"] for i in items)

    for _ in range(2):  # bob's pod asks again: its signed GETs land on the other process
        assert await bodies() == ["the kids' drawings", "trip photos"]
    with spread.on(0):
        await spread.call("DELETE", f"{API}/sharing/{share['id']}", alice, expect=204)

    async def ended() -> bool:
        return await incoming() == []

    await wait_for(ended, timeout=PROMPTLY)
    spread_over_both(spread)


# --- deliveries ---


async def test_a_host_the_sender_has_just_paused_resumes_when_it_speaks_to_another_process(
    make_pod: PodFactory,
    tmp_path: Path,
    wakes: Wakes,
    turns: TurnBoard,
    keys: tuple[RSAPrivateKey, RSAPrivateKey],
) -> None:
    """Only the first process sends, so only it pauses a failing host; the host speaking to
    any process resumes it, at once however lately it was paused."""
    remote = await RemoteServer(keys[1]).start()
    try:
        federation = {"domain_pause_hours": 1.0}
        async with spread_pod(
            make_pod, tmp_path / "spread", wakes, turns, federation=federation
        ) as pod:
            alice = await _followed_by_remote(pod, remote)
            worker = pod.app[FEDERATION].worker
            remote.answers = [Answer(503)] * 50
            await post(pod, alice, "hi")
            for _ in range(6):  # failing for more than an hour: paused
                await worker.run_once()
                pod.clock.advance(timedelta(minutes=20))
            host = remote.base.split("//")[1]
            paused = "SELECT paused FROM domains WHERE host = ?"
            assert await pod.app[DB].fetchval(paused, (host,)) == 1

            remote.answers = []
            like = remote.like_of_nothing(pod.url)
            body, headers = remote.signed(f"{pod.url}/inbox", like, pod.clock)
            process = pod.processes[1]
            async with process.http.post(
                f"{process.url}/inbox", data=body, headers=headers
            ) as resp:
                assert resp.status == 202
            assert await pod.app[DB].fetchval(paused, (host,)) == 0
            await worker.run_once()
            assert (await _create_row(pod))["state"] == "delivered"
    finally:
        await remote.close()

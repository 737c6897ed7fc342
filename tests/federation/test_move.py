"""Move (Mastodon's account migration): our identities that followed the old account follow the
new one, once the new account's document names the old one (`alsoKnownAs`); nobody else can
move an account, and an unproven Move changes nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from node.appkeys import DB
from tests.conftest import PodFactory
from tests.hostile import HostilePod, new_key
from tests.support import Pod, User, wait_for

API = "/api/v1"


@pytest.fixture
async def movers() -> AsyncIterator[HostilePod]:
    """mallory, who moves to molly (whose document names mallory), and eve."""
    pod = await HostilePod().start()
    mallory = pod.add_actor("mallory", new_key())
    pod.add_actor("molly", new_key(), alsoKnownAs=[mallory])
    pod.add_actor("eve", new_key())
    yield pod
    await pod.close()


def _sent(remote: HostilePod, kind: str) -> list[dict[str, Any]]:
    return [d for _, b in remote.received if (d := json.loads(b))["type"] == kind]


async def _send(pod: Pod, remote: HostilePod, activity: dict[str, Any], signer: str) -> int:
    status, _ = await remote.post(f"{pod.url}/inbox", activity, pod.clock.now(), signer=signer)
    return status


async def _following(pod: Pod, user: User) -> list[str]:
    _, items = await pod.call("GET", f"{API}/identities/current/following", user, expect=200)
    return sorted(f["identity"]["handle"] for f in items)


async def _follows(pod: Pod, user: User, remote: HostilePod, name: str) -> None:
    """`user` follows `name`, who accepts."""
    target = {"target": remote.handle(name)}
    await pod.call("POST", f"{API}/follows", user, json=target, expect=201)

    async def asked() -> dict[str, Any] | None:
        mine = f"{pod.url}/users/{user.username}"
        return next(
            (
                f
                for f in _sent(remote, "Follow")
                if f["actor"] == mine and f["object"] == remote.actor(name)
            ),
            None,
        )

    follow = await wait_for(asked)
    assert await _send(pod, remote, remote.activity(name, "Accept", follow), name) == 202
    await wait_for(lambda: _has(_following(pod, user), remote.handle(name)))


async def _has(items: Any, item: str) -> bool:
    return item in await items


async def _now(value: Any) -> Any:
    return value


async def _profile(pod: Pod, user: User, handle: str) -> dict[str, Any]:
    _, ident = await pod.call("GET", f"{API}/lookup?acct={handle}", user, expect=200)
    return ident


async def _state(pod: Pod) -> list[tuple[str, str, str]]:
    rows = await pod.app[DB].fetchall(
        "SELECT a.username, b.username, f.state FROM follows f"
        " JOIN identities a ON a.guid = f.follower_guid"
        " JOIN identities b ON b.guid = f.followee_guid ORDER BY 1, 2"
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def test_followers_of_a_moved_account_follow_the_new_one(
    make_pod: PodFactory, movers: HostilePod
) -> None:
    pod = await make_pod()
    alice, bob = await pod.register("alice"), await pod.register("bob")
    await pod.register("carol")
    await _follows(pod, alice, movers, "mallory")
    await _follows(pod, bob, movers, "mallory")
    await _follows(pod, bob, movers, "molly")  # already follows the new account

    move = movers.activity("mallory", "Move", movers.actor("mallory"), target=movers.actor("molly"))
    assert await _send(pod, movers, move, "mallory") == 202
    assert await _state(pod) == [
        ("alice", "molly", "pending"),
        ("bob", "molly", "accepted"),
    ]
    # Its profile says where it went.
    old, new = [await _profile(pod, alice, movers.handle(n)) for n in ("mallory", "molly")]
    assert (old["movedTo"], new["movedTo"]) == (new["id"], None)

    def undone() -> list[str]:
        return sorted(u["actor"] for u in _sent(movers, "Undo") if u["object"]["type"] == "Follow")

    unfollowed = [f"{pod.url}/users/{n}" for n in ("alice", "bob")]
    await wait_for(lambda: _now(undone() == unfollowed))
    [asked] = [f for f in _sent(movers, "Follow") if f["actor"].endswith("/alice")][1:]
    assert asked["object"] == movers.actor("molly")
    assert await _send(pod, movers, movers.activity("molly", "Accept", asked), "molly") == 202
    assert await _following(pod, alice) == [movers.handle("molly")]

    # Delivered again: nothing more happens.
    assert await _send(pod, movers, move, "mallory") == 202
    assert await _state(pod) == [("alice", "molly", "accepted"), ("bob", "molly", "accepted")]


async def test_a_move_nobody_can_prove_changes_nothing(
    make_pod: PodFactory, movers: HostilePod
) -> None:
    pod = await make_pod()
    alice = await pod.register("alice")
    await _follows(pod, alice, movers, "mallory")
    before = await _state(pod)

    # To an account that does not name mallory: refused.
    to_eve = movers.activity("mallory", "Move", movers.actor("mallory"), target=movers.actor("eve"))
    assert await _send(pod, movers, to_eve, "mallory") == 422
    # eve moving mallory (whom molly names): only mallory can.
    by_eve = movers.activity("eve", "Move", movers.actor("mallory"), target=movers.actor("molly"))
    assert await _send(pod, movers, by_eve, "eve") == 403
    # Without a target, or to itself.
    bare = movers.activity("mallory", "Move", movers.actor("mallory"))
    assert await _send(pod, movers, bare, "mallory") == 422
    to_self = movers.activity(
        "mallory", "Move", movers.actor("mallory"), target=movers.actor("mallory")
    )
    assert await _send(pod, movers, to_self, "mallory") == 422
    # To one of ours: none names another id.
    ours = movers.activity(
        "mallory", "Move", movers.actor("mallory"), target=f"{pod.url}/users/alice"
    )
    assert await _send(pod, movers, ours, "mallory") == 202

    assert await _state(pod) == before
    assert _sent(movers, "Undo") == []
    assert (await _profile(pod, alice, movers.handle("mallory")))["movedTo"] is None

"""The inbox's memory of activity ids: repeats change nothing, old ids are forgotten, and a
forgotten id cannot be replayed (its signature has long expired)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from federation.followed import REMEMBER_FOR
from federation.routes import FEDERATION
from federation.seen import SeenIds
from node.appkeys import DB
from node.clock import iso
from node.config import ConfigError, build_config
from tests.conftest import PodFactory
from tests.federation.test_hostile import EFFECT_TABLES, Scene, effects
from tests.hostile import AS_PUBLIC, HostilePod
from tests.support import Pod, wait_for


async def _seen(pod: Pod) -> list[str]:
    rows = await pod.app[DB].fetchall("SELECT ap_id FROM inbox_seen ORDER BY rowid")
    return [r[0] for r in rows]


async def _pruning_by_hand(pod: Pod) -> SeenIds:
    """The pod's pruner, its own runs stopped (it prunes at start, then hourly): a prune the
    test runs is then the only one, never racing one of those for the same rows."""
    seen: SeenIds = pod.app[FEDERATION].seen
    await seen.stop()
    return seen


async def _posts(pod: Pod) -> list[str]:
    rows = await pod.app[DB].fetchall("SELECT ap_id FROM posts WHERE local = 0 ORDER BY ap_id")
    return [r[0] for r in rows]


async def _likes(pod: Pod) -> list[str]:
    rows = await pod.app[DB].fetchall("SELECT ap_id FROM interactions ORDER BY ap_id")
    return [r[0] for r in rows]


async def test_old_ids_are_forgotten_and_cannot_be_replayed(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod(federation={"inbox_seen_hours": 24})
    seen = await _pruning_by_hand(pod)
    alice = await pod.register("alice")
    inbox = f"{pod.url}/inbox"
    posts = []
    for text in ("from last week", "from today"):
        _, post = await pod.call("POST", "/api/v1/posts", alice, json={"body": text}, expect=201)
        posts.append(f"{pod.url}/posts/{post['id']}")

    def like(post: str) -> tuple[str, bytes]:
        activity = hostile.activity("mallory", "Like", post)
        return activity["id"], json.dumps(activity).encode()

    old_id, old_body = like(posts[0])
    old_headers = hostile.signed(inbox, old_body, pod.clock.now(), signer="mallory")
    assert (await hostile.send(inbox, old_body, old_headers))[0] == 202
    # A repeat within the window is accepted and changes nothing.
    assert (await hostile.send(inbox, old_body, old_headers))[0] == 202
    assert await _seen(pod) == [old_id]
    assert await _likes(pod) == [old_id]

    pod.clock.advance(timedelta(hours=30))
    new_id, new_body = like(posts[1])
    new_headers = hostile.signed(inbox, new_body, pod.clock.now(), signer="mallory")
    assert (await hostile.send(inbox, new_body, new_headers))[0] == 202

    assert await seen.prune_once() == 1
    assert await _seen(pod) == [new_id]
    assert await seen.prune_once() == 0

    # The forgotten request, replayed as it was: its Date is far outside the window.
    status, data = await hostile.send(inbox, old_body, old_headers)
    assert status == 401 and data is not None and data["error"] == "date_out_of_window"
    # Sent again by its author with a fresh signature: the like is still not counted twice.
    fresh = hostile.signed(inbox, old_body, pod.clock.now(), signer="mallory")
    assert (await hostile.send(inbox, old_body, fresh))[0] == 202
    assert sorted(await _likes(pod)) == sorted([old_id, new_id])


async def _send(pod: Pod, hostile: HostilePod, activity: dict[str, Any]) -> int:
    """mallory's activity, signed now, to the pod's shared inbox: the status."""
    inbox, body = f"{pod.url}/inbox", json.dumps(activity).encode()
    headers = hostile.signed(inbox, body, pod.clock.now(), signer="mallory")
    return (await hostile.send(inbox, body, headers))[0]


async def test_a_note_is_kept_once_by_its_own_id(make_pod: PodFactory, hostile: HostilePod) -> None:
    """A Create is not remembered by its activity id: its note's id keeps it from being stored
    twice, whichever activity brings it, and a deleted note from coming back."""
    pod = await make_pod()
    await pod.register("alice")
    note = hostile.note("mallory", "only once", [f"{pod.url}/users/alice"])

    first = hostile.activity("mallory", "Create", note)
    assert await _send(pod, hostile, first) == 202
    assert await _send(pod, hostile, first) == 202  # a retry
    assert await _send(pod, hostile, hostile.activity("mallory", "Create", note)) == 202  # new id
    assert await _posts(pod) == [note["id"]]
    assert await _seen(pod) == []

    assert await _send(pod, hostile, hostile.activity("mallory", "Delete", note["id"])) == 202
    assert await _posts(pod) == []
    assert await _send(pod, hostile, first) == 202
    assert await _send(pod, hostile, hostile.activity("mallory", "Create", note)) == 202
    assert await _posts(pod) == []


async def test_a_note_nobody_wants_is_not_kept_until_someone_does(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    """From someone nobody here follows, to nobody here, answering nothing here: not kept,
    nor marked as taken, so that the same delivery is kept once alice follows its author;
    and not kept again once she no longer does."""
    pod = await make_pod()
    alice = await pod.register("alice")
    note = hostile.note("mallory", "to the world", [AS_PUBLIC])
    create = hostile.activity("mallory", "Create", note)
    assert await _send(pod, hostile, create) == 202
    assert await _posts(pod) == []

    target = {"target": hostile.handle("mallory")}
    await pod.call("POST", "/api/v1/follows", alice, json=target, expect=201)

    async def follow() -> dict[str, Any] | None:
        sent = [json.loads(body) for _, body in hostile.received]
        return next((a for a in sent if a["type"] == "Follow"), None)

    accept = hostile.activity("mallory", "Accept", await wait_for(follow))
    assert await _send(pod, hostile, accept) == 202
    assert await _send(pod, hostile, create) == 202  # retried
    assert await _posts(pod) == [note["id"]]

    # Once alice no longer follows her, mallory's notes are left again: at once when the
    # follow was last read long enough ago (a follow once read is taken as there for a while).
    _, found = await pod.call("GET", f"/api/v1/lookup?acct={hostile.handle('mallory')}", alice)
    await pod.call("DELETE", f"/api/v1/follows/{found['id']}", alice, expect=204)
    pod.clock.advance(REMEMBER_FOR)
    later = hostile.note("mallory", "nobody reads this", [AS_PUBLIC])
    assert await _send(pod, hostile, hostile.activity("mallory", "Create", later)) == 202
    assert await _posts(pod) == [note["id"]]


async def test_pruning_goes_in_batches_and_keeps_recent_ids(
    make_pod: PodFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("federation.seen.BATCH", 7)
    pod = await make_pod(federation={"inbox_seen_hours": 3})
    seen = await _pruning_by_hand(pod)
    db = pod.app[DB]
    now = pod.clock.now()
    stamps = [now - timedelta(hours=4, minutes=i) for i in range(30, 0, -1)]
    stamps += [now - timedelta(minutes=i) for i in range(5, 0, -1)]
    async with db.transaction() as tx:
        for i, when in enumerate(stamps):
            await tx.execute(
                "INSERT INTO inbox_seen VALUES (?, ?)",
                (f"https://x.example/a/{i}", iso(when)),
            )
    assert await seen.prune_once() == 30
    assert await _seen(pod) == [f"https://x.example/a/{i}" for i in range(30, 35)]


def test_ids_must_be_kept_longer_than_the_signature_window() -> None:
    with pytest.raises(ConfigError, match="federation"):
        build_config(
            {"federation": {"inbox_seen_hours": 2, "signature_window_seconds": 3600}}, env={}
        )
    config = build_config({"federation": {"inbox_seen_hours": 2.5}}, env={})
    assert config.federation.inbox_seen_hours == 2.5


async def test_ids_arriving_while_pruning_goes_on_are_kept(
    make_pod: PodFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The boundary is read before the batches run; what arrives after it is never deleted."""
    pod = await make_pod(federation={"inbox_seen_hours": 3})
    seen = await _pruning_by_hand(pod)
    now = pod.clock.now()
    async with pod.app[DB].transaction() as tx:
        for i in range(10):
            await tx.execute(
                "INSERT INTO inbox_seen VALUES (?, ?)",
                (f"https://x.example/old/{i}", iso(now - timedelta(hours=5))),
            )
        await tx.execute("INSERT INTO inbox_seen VALUES ('https://x.example/new', ?)", (iso(now),))

    async def read_before_the_new_one_came(q: object, since: str) -> None:
        return None  # as when only old ids were there when the boundary was read

    monkeypatch.setattr("federation.seen.BATCH", 4)
    monkeypatch.setattr("node.store.deliveries.first_seen_since", read_before_the_new_one_came)
    assert await seen.prune_once() == 10
    assert await _seen(pod) == ["https://x.example/new"]


# --- the same activity at the same moment -------------------------------------------------

COPIES = 6


async def _at_once(scene: Scene, activity: dict[str, Any]) -> dict[str, int]:
    """COPIES of `activity` at once (a peer retrying while its first try is being handled, or
    one activity sent to a shared and a personal inbox): each is answered 202. Returns what
    changed."""
    before = await effects(scene.pod)
    urls = [scene.inbox, scene.alice_inbox] * (COPIES // 2)
    results = await asyncio.gather(*(scene.post(activity, url=u) for u in urls))
    assert [s for s, _ in results] == [202] * COPIES, results
    after = await effects(scene.pod)
    return {t: after[t] - before[t] for t in EFFECT_TABLES if after[t] != before[t]}


async def test_copies_arriving_at_once_take_effect_once(
    make_pod: PodFactory, hostile: HostilePod
) -> None:
    pod = await make_pod()
    scene = Scene(pod, await pod.register("alice"), hostile)
    # From an actor the pod does not know yet: one Accept is queued.
    assert await _at_once(scene, scene.follow()) == {"follows": 1, "inbox_seen": 1, "outbox": 1}
    assert await scene.followers() == [hostile.handle("mallory")]

    note = hostile.note("mallory", "hello", [AS_PUBLIC], cc=[scene.alice_uri])
    create = hostile.activity("mallory", "Create", note, to=[AS_PUBLIC])
    assert await _at_once(scene, create) == {"posts": 1}  # kept by its note's id

    _, mine = await pod.call("POST", "/api/v1/posts", scene.alice, json={"body": "hi"}, expect=201)
    like = hostile.activity("mallory", "Like", f"{pod.url}/posts/{mine['id']}")
    assert await _at_once(scene, like) == {"interactions": 1, "inbox_seen": 1}
    like.pop("@context")
    undo = hostile.activity("mallory", "Undo", like)
    assert await _at_once(scene, undo) == {"interactions": -1, "inbox_seen": 1}

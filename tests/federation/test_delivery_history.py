"""Finished deliveries, and the activities no delivery needs any more, are forgotten once
`federation.delivery_history_days` old; pending ones are kept, unless they waited that long
for a paused domain."""

from __future__ import annotations

from datetime import timedelta

import pytest

from federation.history import DeliveryHistory
from federation.routes import FEDERATION
from node.appkeys import DB
from node.clock import iso
from node.config import ConfigError, build_config
from node.store import deliveries as delivery_store
from tests.conftest import PodFactory
from tests.federation.test_delivery import _followed_by_remote
from tests.remote import Answer, RemoteServer
from tests.support import Pod, User


async def _history(pod: Pod) -> DeliveryHistory:
    """The pod's pruner, its own runs stopped: a prune the test runs is then the only one."""
    history: DeliveryHistory = pod.app[FEDERATION].history
    await history.stop()
    return history


async def _rows(pod: Pod) -> list[tuple[str, str]]:
    """(activity type, delivery state) of every activity, the state None without delivery."""
    rows = await pod.app[DB].fetchall(
        "SELECT o.activity_type, d.state FROM outbox o"
        " LEFT JOIN deliveries d ON d.outbox_guid = o.guid ORDER BY o.guid"
    )
    return [(r[0], r[1]) for r in rows]


async def _post(pod: Pod, alice: User, body: str) -> None:
    await pod.call("POST", "/api/v1/posts", alice, json={"body": body}, expect=201)
    await pod.app[FEDERATION].worker.run_once()


async def test_finished_deliveries_go_after_their_days_and_pending_ones_stay(
    make_pod: PodFactory, remote: RemoteServer
) -> None:
    pod = await make_pod(federation={"delivery_history_days": 10})
    history = await _history(pod)
    alice = await _followed_by_remote(pod, remote)  # its Accept is delivered
    remote.answers = [Answer(403)]
    await _post(pod, alice, "refused")  # a dead letter
    await _post(pod, alice, "taken")
    pod.clock.advance(timedelta(days=5))
    remote.answers = [Answer(503)]
    await _post(pod, alice, "to retry")  # pending, due again later
    before = [("Accept", "delivered"), ("Create", "dead"), ("Create", "delivered")]
    assert await _rows(pod) == [*before, ("Create", "pending")]

    assert await history.prune_once() == (0, 0, 0)  # none finished 10 days ago yet
    assert len(await _rows(pod)) == 4
    pod.clock.advance(timedelta(days=6))
    assert await history.prune_once() == (0, 3, 3)
    assert await _rows(pod) == [("Create", "pending")]

    # Pending, it is kept however long its host keeps failing (not paused), and delivered.
    pod.clock.advance(timedelta(days=40))
    assert await history.prune_once() == (0, 0, 0)
    assert await _rows(pod) == [("Create", "pending")]
    await pod.app[FEDERATION].worker.run_once()
    assert [a["object"]["content"] for a in remote.received if a["type"] == "Create"] == [
        "<p>refused</p>", "<p>taken</p>", "<p>to retry</p>", "<p>to retry</p>"
    ]  # fmt: skip
    assert await _rows(pod) == [("Create", "delivered")]
    pod.clock.advance(timedelta(days=11))
    assert await history.prune_once() == (0, 1, 1)
    assert await _rows(pod) == []


async def test_a_delivery_waiting_too_long_for_a_paused_domain_is_given_up(
    make_pod: PodFactory, remote: RemoteServer
) -> None:
    """A domain gone for good would keep a row for everything sent its way: what has waited
    for it past the history's days is a dead letter, which the operator can still retry."""
    pod = await make_pod(federation={"delivery_history_days": 10, "domain_pause_hours": 1.0})
    history = await _history(pod)
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    remote.answers = [Answer(503)] * 50
    await _post(pod, alice, "into the void")
    for _ in range(6):  # failing for two hours: paused
        pod.clock.advance(timedelta(minutes=20))
        await worker.run_once()
    assert await pod.app[DB].fetchval("SELECT paused FROM domains") == 1
    tries = len(remote.received)
    pod.clock.advance(timedelta(days=9))
    await _post(pod, alice, "later")
    assert await history.prune_once() == (0, 0, 0)
    assert await _rows(pod) == [
        ("Accept", "delivered"),
        ("Create", "pending"),
        ("Create", "pending"),
    ]

    pod.clock.advance(timedelta(days=2))
    assert await history.prune_once() == (1, 1, 1)  # the first post given up; the Accept gone
    assert await _rows(pod) == [("Create", "dead"), ("Create", "pending")]
    error = await pod.app[DB].fetchval("SELECT last_error FROM deliveries WHERE state = 'dead'")
    assert error == "domain paused too long"
    assert len(remote.received) == tries  # nothing was sent meanwhile

    # Retried by the operator once the domain is back: both are delivered.
    remote.answers = []
    async with pod.app[DB].transaction() as tx:
        await delivery_store.retry(tx, iso(pod.clock.now()))
    await worker.run_once()
    assert await _rows(pod) == [("Create", "delivered"), ("Create", "delivered")]
    sent = [a["object"]["content"] for a in remote.received[tries:]]
    assert sorted(sent) == ["<p>into the void</p>", "<p>later</p>"]


async def test_pruning_goes_in_batches(
    make_pod: PodFactory, remote: RemoteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("federation.history.BATCH", 2)
    pod = await make_pod(federation={"delivery_history_days": 1})
    history = await _history(pod)
    alice = await _followed_by_remote(pod, remote)
    for i in range(4):
        await _post(pod, alice, f"post {i}")
    assert len(await _rows(pod)) == 5
    pod.clock.advance(timedelta(days=2))
    assert await history.prune_once() == (0, 5, 5)
    assert await _rows(pod) == []


def test_history_days_are_checked() -> None:
    with pytest.raises(ConfigError, match="delivery_history_days"):
        build_config({"federation": {"delivery_history_days": 0}}, env={})
    config = build_config({"federation": {"delivery_history_days": 7.5}}, env={})
    assert config.federation.delivery_history_days == 7.5

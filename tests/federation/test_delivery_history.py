"""Finished deliveries, and the activities no delivery needs any more, are forgotten once
`federation.delivery_history_days` old; pending ones are kept whatever their age."""

from __future__ import annotations

from datetime import timedelta

import pytest

from federation.history import DeliveryHistory
from federation.routes import FEDERATION
from node.appkeys import DB
from node.config import ConfigError, build_config
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

    assert await history.prune_once() == (0, 0)  # none finished 10 days ago yet
    assert len(await _rows(pod)) == 4
    pod.clock.advance(timedelta(days=6))
    assert await history.prune_once() == (3, 3)
    assert await _rows(pod) == [("Create", "pending")]

    # Pending, it is kept however long its host keeps failing, and still delivered.
    pod.clock.advance(timedelta(days=40))
    assert await history.prune_once() == (0, 0)
    assert await _rows(pod) == [("Create", "pending")]
    await pod.app[FEDERATION].worker.run_once()
    assert [a["object"]["content"] for a in remote.received if a["type"] == "Create"] == [
        "<p>refused</p>", "<p>taken</p>", "<p>to retry</p>", "<p>to retry</p>"
    ]  # fmt: skip
    assert await _rows(pod) == [("Create", "delivered")]
    pod.clock.advance(timedelta(days=11))
    assert await history.prune_once() == (1, 1)
    assert await _rows(pod) == []


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
    assert await history.prune_once() == (5, 5)
    assert await _rows(pod) == []


def test_history_days_are_checked() -> None:
    with pytest.raises(ConfigError, match="delivery_history_days"):
        build_config({"federation": {"delivery_history_days": 0}}, env={})
    config = build_config({"federation": {"delivery_history_days": 7.5}}, env={})
    assert config.federation.delivery_history_days == 7.5

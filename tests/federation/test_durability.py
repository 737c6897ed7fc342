"""Nothing is lost: a peer that is down gets its deliveries later; a restart resumes the queue;
the receiver deduplicates a delivery sent twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from federation.routes import FEDERATION
from node.appkeys import DB
from tests.federation.test_flows import follow_accepted, stream
from tests.support import Pod, wait_for


async def _states(pod: Pod) -> dict[str, int]:
    rows = await pod.app[DB].fetchall("SELECT state, count(*) FROM deliveries GROUP BY state")
    return {r[0]: r[1] for r in rows}


async def _drive(pod: Pod) -> None:
    """Move the (shared) clock past the first backoff steps and run the queue."""
    pod.clock.advance(timedelta(minutes=5))
    await pod.app[FEDERATION].worker.run_once()


async def test_peer_down_then_back_gets_the_delivery(make_pod, tmp_path) -> None:
    a = await make_pod()
    b = await make_pod(data_dir=tmp_path / "b")
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(b, bob, f"alice@{a.host}")
    port, clock = b.server.port, b.clock
    await b.stop()

    await a.call("POST", "/api/v1/posts", alice, json={"body": "while you were out"}, expect=201)

    async def failed_once() -> bool:
        row = await a.app[DB].fetchone(
            "SELECT attempts, state FROM deliveries WHERE state != 'delivered'"
        )
        return row is not None and row["attempts"] >= 1 and row["state"] == "pending"

    await wait_for(failed_once)
    b = await make_pod(data_dir=tmp_path / "b", port=port, clock=clock)
    await _drive(a)

    async def arrived() -> list[str]:
        return [p["body"] for p in await stream(b, bob)]

    assert await wait_for(arrived) == ["while you were out"]
    assert await _states(a) == {"delivered": 2}  # the Accept earlier, the Create now


async def test_restart_mid_queue_delivers_every_pending_item_once(make_pod, tmp_path) -> None:
    a = await make_pod(data_dir=tmp_path / "a")
    b = await make_pod(data_dir=tmp_path / "b")
    c = await make_pod()
    alice = await a.register("alice")
    bob, carol = await b.register("bob"), await c.register("carol")
    await follow_accepted(b, bob, f"alice@{a.host}")
    await follow_accepted(c, carol, f"alice@{a.host}")
    b_port, b_clock = b.server.port, b.clock
    await b.stop()

    for i in range(5):
        await a.call("POST", "/api/v1/posts", alice, json={"body": f"post {i}"}, expect=201)

    async def carol_has_all() -> bool:
        return len(await stream(c, carol)) == 5

    await wait_for(carol_has_all)

    async def b_pending() -> bool:
        return (await _states(a)).get("pending", 0) == 5

    await wait_for(b_pending)
    # Stop A with B's deliveries pending, bring B back, start A again on the same database.
    a_port, a_clock = a.server.port, a.clock
    await a.stop()
    b = await make_pod(data_dir=tmp_path / "b", port=b_port, clock=b_clock)
    a = await make_pod(data_dir=tmp_path / "a", port=a_port, clock=a_clock)
    await _drive(a)

    async def b_has_all() -> list[str]:
        bodies = [p["body"] for p in await stream(b, bob)]
        return bodies if len(bodies) == 5 else []

    assert sorted(await wait_for(b_has_all)) == [f"post {i}" for i in range(5)]
    assert (await _states(a)).get("pending", 0) == 0


async def test_a_delivery_sent_twice_is_stored_once(make_pod, tmp_path) -> None:
    a = await make_pod(data_dir=tmp_path / "a")
    b = await make_pod()
    alice, bob = await a.register("alice"), await b.register("bob")
    await follow_accepted(b, bob, f"alice@{a.host}")
    await a.call("POST", "/api/v1/posts", alice, json={"body": "once"}, expect=201)

    async def arrived() -> list[dict[str, Any]]:
        return await stream(b, bob)

    await wait_for(arrived)
    await wait_for(lambda: _all_delivered(a))
    # As if A crashed after POSTing but before recording it: the row is 'running' again with a
    # lease that has run out, so the restarted worker sends it a second time.
    db = a.app[DB]
    async with db.transaction() as tx:
        await tx.execute(
            "UPDATE deliveries SET state = 'running', lease_until = '2000-01-01T00:00:00.000Z'"
            " WHERE outbox_guid IN (SELECT guid FROM outbox WHERE activity_type = 'Create')"
        )
    port, clock = a.server.port, a.clock
    await a.stop()
    a = await make_pod(data_dir=tmp_path / "a", port=port, clock=clock)
    await a.app[FEDERATION].worker.run_once()
    assert (await _states(a)) == {"delivered": 2}
    row = await a.app[DB].fetchone(
        "SELECT d.attempts FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
        " WHERE o.activity_type = 'Create'"
    )
    assert row["attempts"] == 2
    assert [p["body"] for p in await stream(b, bob)] == ["once"]


async def _all_delivered(pod: Pod) -> bool:
    states = await _states(pod)
    return bool(states) and set(states) == {"delivered"}

"""How the delivery worker treats answers: Retry-After, permanent refusals, 410 Gone, and a
domain that keeps failing being paused until it is heard from again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation import backoff, httpsig
from federation.delivery import DeliveryWorker
from federation.routes import FEDERATION
from federation.urls import host_of
from node.appkeys import DB
from node.clock import iso, parse_iso
from node.store import deliveries as delivery_store
from node.store import identities as identity_store
from node.store.db import Database
from node.store.deliveries import Claimed
from tests.hostile import HostilePod
from tests.remote import Answer, RemoteServer, followed_by
from tests.support import Pod, User, wait_for


@pytest.fixture(scope="module")
def remote_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
async def remote(remote_key: rsa.RSAPrivateKey) -> AsyncIterator[RemoteServer]:
    server = await RemoteServer(remote_key).start()
    yield server
    await server.close()


async def _followed_by_remote(pod: Pod, remote: RemoteServer, alice: User | None = None) -> User:
    """alice on the pod, followed by the remote actor (as if its Follow had arrived)."""
    alice = await followed_by(pod, remote, alice)
    await pod.app[FEDERATION].worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept"]
    return alice


async def _followed_by_two(
    pod: Pod, remote: RemoteServer, other: RemoteServer
) -> tuple[User, DeliveryWorker]:
    """alice followed by both remote actors, and the pod's worker stopped, to be driven by
    hand."""
    alice = await _followed_by_remote(pod, remote)
    await _followed_by_remote(pod, other, alice)
    worker = pod.app[FEDERATION].worker
    await worker.stop()
    return alice, worker


async def _create_row(pod: Pod) -> dict:
    row = await pod.app[DB].fetchone(
        "SELECT d.state, d.attempts, d.next_attempt_at, d.last_status FROM deliveries d"
        " JOIN outbox o ON o.guid = d.outbox_guid WHERE o.activity_type = 'Create'"
    )
    assert row is not None
    return dict(row)


async def test_retry_after_is_honoured(make_pod, remote: RemoteServer) -> None:
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    remote.answers = [Answer(429, {"Retry-After": "3600"})]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    row = await _create_row(pod)
    assert row["state"] == "pending" and row["last_status"] == 429 and row["attempts"] == 1
    wait = parse_iso(row["next_attempt_at"]) - pod.clock.now()
    assert timedelta(minutes=59) < wait <= timedelta(hours=1)
    # Not due yet: nothing is sent; an hour later it is.
    await pod.app[FEDERATION].worker.run_once()
    assert len(remote.received) == 2
    pod.clock.advance(timedelta(hours=1, seconds=1))
    await pod.app[FEDERATION].worker.run_once()
    assert (await _create_row(pod))["state"] == "delivered"
    assert len(remote.received) == 3


@pytest.mark.parametrize(
    ("status", "state"), [(403, "dead"), (422, "dead"), (401, "pending"), (500, "pending")]
)
async def test_permanent_refusals_give_up_at_once(
    make_pod, remote: RemoteServer, status: int, state: str
) -> None:
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    remote.answers = [Answer(status)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    row = await _create_row(pod)
    assert (row["state"], row["last_status"]) == (state, status)


async def test_gone_marks_the_actor_and_stops_deliveries(make_pod, remote: RemoteServer) -> None:
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    remote.answers = [Answer(410)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "one"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    assert (await _create_row(pod))["state"] == "dead"
    gone = await pod.app[DB].fetchval("SELECT gone_at FROM remote_actors")
    assert gone is not None
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "two"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept", "Create"]


async def test_gone_from_a_shared_inbox_marks_nobody_gone(
    make_pod, remote_key: rsa.RSAPrivateKey
) -> None:
    hostile = await HostilePod().start()
    try:
        pod = await make_pod()
        alice = await pod.register("alice")
        fed = pod.app[FEDERATION]
        me = await identity_store.get(fed.db, alice.identity_id)
        assert me is not None
        for name in ("mallory", "eve"):  # both on the hostile pod, sharing its inbox
            follower = await fed.directory.resolve_uri(hostile.add_actor(name, remote_key))
            async with fed.db.transaction() as tx:
                await fed.services.follows.remote_follow(tx, follower, me, f"{name}#follow")
        await fed.worker.run_once()

        async def gone() -> list[str]:
            rows = await fed.db.fetchall("SELECT uri FROM remote_actors WHERE gone_at NOT NULL")
            return [r[0] for r in rows]

        hostile.answers = [410]
        await pod.call("POST", "/api/v1/posts", alice, json={"body": "one"}, expect=201)
        await fed.worker.run_once()
        assert (await _create_row(pod))["state"] == "dead"
        assert await gone() == []
        await pod.call("POST", "/api/v1/posts", alice, json={"body": "two"}, expect=201)
        await fed.worker.run_once()
        assert hostile.requests.count("POST /inbox") == 2

        # From mallory's own inbox, a 410 is about mallory alone.
        hostile.answers = [410]
        await pod.call(
            "POST", "/api/v1/follows", alice, json={"target": hostile.handle("mallory")},
            expect=201,
        )  # fmt: skip
        await fed.worker.run_once()
        assert hostile.requests[-1] == "POST /users/mallory/inbox"
        assert await gone() == [hostile.actor("mallory")]
    finally:
        await hostile.close()


@pytest.mark.parametrize("speaks", ["posting to the inbox", "fetching a post"])
async def test_failing_domain_is_paused_and_resumes_when_heard_from(
    make_pod, remote: RemoteServer, speaks: str
) -> None:
    pod = await make_pod(federation={"domain_pause_hours": 1.0})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    remote.answers = [Answer(503)] * 50
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await worker.run_once()
    tries = len(remote.received)
    # Keep failing for more than an hour: the domain is paused and tries stop.
    for _ in range(6):
        pod.clock.advance(timedelta(minutes=20))
        await worker.run_once()
    paused = await pod.app[DB].fetchval(
        "SELECT paused FROM domains WHERE host = ?", (remote.base.split("//")[1],)
    )
    assert paused == 1
    sent = len(remote.received)
    assert sent > tries
    pod.clock.advance(timedelta(hours=6))
    await worker.run_once()
    assert len(remote.received) == sent
    # The remote pod speaks to us: a signed Like of nothing in particular, or, from a pod
    # whose people only read, a signed fetch of a post. Deliveries resume.
    remote.answers = []
    if speaks == "posting to the inbox":
        like = remote.like_of_nothing(pod.url)
        body, headers = remote.signed(f"{pod.url}/inbox", like, pod.clock)
        async with pod.http.post(f"{pod.url}/inbox", data=body, headers=headers) as resp:
            assert resp.status == 202
    else:
        [post] = [a["object"]["id"] for a in remote.received if a["type"] == "Create"][:1]
        headers = httpsig.sign_request(
            "GET", post, None, remote.key_id, remote.key, pod.clock.now(), content_type=None
        )
        async with pod.http.get(post, headers=headers) as resp:
            assert resp.status == 200
    await worker.run_once()
    assert (await _create_row(pod))["state"] == "delivered"
    assert await pod.app[DB].fetchval("SELECT paused FROM domains") == 0


async def test_delivery_workers_bound_the_requests_in_flight_over_all_hosts(
    make_pod, remote_key: rsa.RSAPrivateKey
) -> None:
    pod = await make_pod(federation={"delivery_workers": 2, "delivery_per_host": 4})
    remotes = [await RemoteServer(remote_key).start() for _ in range(4)]
    try:
        alice = await _followed_by_remote(pod, remotes[0])
        for remote in remotes[1:]:
            await _followed_by_remote(pod, remote, alice)
        now, peak = 0, 0

        async def slow() -> None:
            nonlocal now, peak
            now += 1
            peak = max(peak, now)
            await asyncio.sleep(0.05)
            now -= 1

        for remote in remotes:
            remote.before_answer = slow
        for n in range(3):
            await pod.call("POST", "/api/v1/posts", alice, json={"body": f"{n}"}, expect=201)
        await pod.app[FEDERATION].worker.run_once()
        assert [sum(a["type"] == "Create" for a in r.received) for r in remotes] == [3] * 4
        assert peak == 2
    finally:
        for remote in remotes:
            await remote.close()


async def test_a_slow_hosts_backlog_does_not_keep_other_hosts_waiting(
    make_pod, remote: RemoteServer, remote_key: rsa.RSAPrivateKey
) -> None:
    """Deliveries are claimed ahead of the free slots; a host's backlog waiting for its own
    turn does not count against them, so another host's delivery is claimed and sent while a
    stalled host holds ten."""
    pod = await make_pod(
        federation={"delivery_workers": 2, "delivery_per_host": 1, "delivery_timeout_seconds": 30}
    )
    stalled = await RemoteServer(remote_key, "stalled").start()
    release = asyncio.Event()
    try:
        alice = await _followed_by_remote(pod, stalled)
        release = stalled.stall()
        fed = pod.app[FEDERATION]
        await fed.worker.stop()  # the ten are queued at once, and claimed together
        for n in range(10):
            await pod.call("POST", "/api/v1/posts", alice, json={"body": f"{n}"}, expect=201)
        await fed.worker.start()
        await wait_for(lambda: _true(len(stalled.received) == 2))  # the Accept, one post
        follower = await fed.directory.resolve_uri(remote.actor)
        me = await identity_store.get(fed.db, alice.identity_id)
        assert me is not None
        async with fed.db.transaction() as tx:  # its Accept is queued behind the ten
            await fed.services.follows.remote_follow(tx, follower, me, f"{remote.actor}#f")
        await pod.call("POST", "/api/v1/posts", alice, json={"body": "to both"}, expect=201)
        await wait_for(lambda: _true(len(remote.received) == 2))
        assert [a["type"] for a in remote.received] == ["Accept", "Create"]
        assert len(stalled.received) == 2  # still stalled on its first post
        release.set()
        await wait_for(lambda: _true(len(stalled.received) == 12))
    finally:
        release.set()
        await stalled.close()


async def _true(value: bool) -> bool:
    return value


async def test_a_host_that_failed_since_it_was_last_written_up_is_written_up_again(
    make_pod, remote: RemoteServer
) -> None:
    """A host's answers are written up once in a while, not each time; but an answer after a
    failure is always written: the host is no longer failing."""
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)  # the Accept: the host is written up
    worker = pod.app[FEDERATION].worker
    await worker.stop()
    db, host = pod.app[DB], host_of(remote.base)
    failing = "SELECT failing_since FROM domains WHERE host = ?"
    remote.answers = [Answer(503)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "one"}, expect=201)
    await worker.run_once()
    assert await db.fetchval(failing, (host,)) is not None
    pod.clock.advance(timedelta(minutes=5))
    await worker.run_once()
    assert (await _create_row(pod))["state"] == "delivered"
    assert await db.fetchval(failing, (host,)) is None


async def test_an_answer_whose_writing_failed_is_written_when_it_answers_again(
    make_pod, remote: RemoteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cycle that would write a failing host up fails (whatever the cause) and writes
    nothing: its next answer is written, not skipped as written up already. Else the host
    stays failing since its old failure, and one more failure pauses a host that answers."""
    pod = await make_pod(federation={"domain_pause_hours": 0.1})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    await worker.stop()
    db, host = pod.app[DB], host_of(remote.base)
    remote.answers = [Answer(503)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "one"}, expect=201)
    await worker.run_once()
    assert await db.fetchval("SELECT failing_since FROM domains WHERE host = ?", (host,))
    claim = delivery_store.claim
    calls: list[int] = []

    async def fails_after_the_try(*args: Any, **kwargs: Any) -> list[Claimed]:
        calls.append(1)
        if len(calls) == 2:  # the claim of the cycle that records the answer
            raise RuntimeError("unexpected")
        return await claim(*args, **kwargs)

    monkeypatch.setattr("federation.delivery.delivery_store.claim", fails_after_the_try)
    pod.clock.advance(timedelta(minutes=5))
    with pytest.raises(RuntimeError):
        await worker.run_once()
    assert (await _create_row(pod))["state"] == "running"
    pod.clock.advance(timedelta(seconds=pod.config.federation.delivery_timeout_seconds + 61))
    await worker.run_once()  # claimed again once its lease ran out, and answered
    assert (await _create_row(pod))["state"] == "delivered"
    assert await db.fetchval("SELECT failing_since FROM domains WHERE host = ?", (host,)) is None
    remote.answers = [Answer(503)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "two"}, expect=201)
    await worker.run_once()
    assert await db.fetchval("SELECT paused FROM domains WHERE host = ?", (host,)) == 0


@pytest.mark.parametrize("entry", ["{host}", "127.0.0.1"])
async def test_deliveries_queued_for_a_blocked_domain_are_given_up(
    make_pod, remote: RemoteServer, entry: str
) -> None:
    host = host_of(remote.base)
    pod = await make_pod(federation={"blocked_domains": [entry.format(host=host)]})
    await pod.register("alice")
    fed = pod.app[FEDERATION]
    path = "/users/remote/inbox"
    # However the inbox is spelt (as queued before the block, or stored from an actor then).
    inboxes = [
        f"http://{host}{path}",
        f"http://x@{host}{path}",
        f"http://127.0.0.1.:{host.split(':')[1]}{path}",
    ]
    async with fed.db.transaction() as tx:
        await delivery_store.enqueue(
            tx, f"{pod.url}/activities/1", f"{pod.url}/users/alice", "Create", "{}",
            [(i, host_of(i)) for i in inboxes], iso(pod.clock.now()),
        )  # fmt: skip
    await fed.worker.run_once()
    assert remote.received == []
    rows = await fed.db.fetchall("SELECT state, attempts, last_error FROM deliveries")
    assert [tuple(r) for r in rows] == [("dead", 0, "domain blocked")] * 3


async def test_a_delivery_outliving_its_lease_is_not_claimed_again(
    make_pod, remote: RemoteServer
) -> None:
    """A slow host: claimed deliveries wait for its turn longer than their lease. The worker
    still holding them never claims them again, so none is sent twice."""
    pod = await make_pod(federation={"delivery_workers": 2, "delivery_per_host": 2})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    await worker.stop()  # driven by hand from here
    turns = [asyncio.Event() for _ in range(4)]  # the 1st, 2nd, 3rd and any later post

    async def slow() -> None:
        await turns[min(len(remote.received) - 2, 3)].wait()  # the Accept came first

    remote.before_answer = slow
    for n in range(3):
        await pod.call("POST", "/api/v1/posts", alice, json={"body": f"{n}"}, expect=201)
    assert await worker.run_once(wait=False) == 3
    await wait_for(lambda: _arrived(remote, 3))  # two posts; the third waits for the host
    pod.clock.advance(timedelta(minutes=5))  # every lease runs out meanwhile
    turns[0].set()
    turns[1].set()
    await wait_for(lambda: _arrived(remote, 4))  # the third is being sent
    await worker.run_once(wait=False)  # records the first two
    for turn in turns:
        turn.set()
    await worker.run_once()
    assert len(remote.received) == 4
    rows = await pod.app[DB].fetchall("SELECT state, attempts FROM deliveries")
    assert [tuple(r) for r in rows] == [("delivered", 1)] * 4  # the Accept and three posts


async def test_a_delivery_cut_short_is_claimed_again_when_its_lease_runs_out(
    make_pod, remote: RemoteServer
) -> None:
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    await worker.stop()  # driven by hand from here
    answer = remote.stall()
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    assert await worker.run_once(wait=False) == 1
    await wait_for(lambda: _arrived(remote, 2))
    await worker.stop()  # the request is cut short; the row stays 'running'
    answer.set()
    assert await worker.run_once() == 0  # its lease still runs
    pod.clock.advance(timedelta(minutes=5))
    assert await worker.run_once() == 1
    assert (await _create_row(pod))["state"] == "delivered"


async def _arrived(remote: RemoteServer, n: int) -> bool:
    return len(remote.received) == n


async def test_a_deleted_accounts_queue_is_dropped_but_its_delete(
    make_pod, remote: RemoteServer
) -> None:
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    remote.answers = [Answer(503)]  # the follower's pod is down
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    assert (await _create_row(pod))["state"] == "pending"
    await pod.call(
        "DELETE", "/api/v1/accounts/current", alice,
        json={"password": alice.password}, expect=204,
    )  # fmt: skip
    # Back up later: it hears of the deletion, and of nothing else she had queued.
    pod.clock.advance(timedelta(days=1))
    await pod.app[FEDERATION].worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Delete"]
    delete = remote.received[-1]
    assert delete["actor"] == delete["object"] == f"{pod.url}/users/alice"
    states = await pod.app[DB].fetchall(
        "SELECT o.activity_type, d.state FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
    )
    assert [tuple(r) for r in states] == [("Delete", "delivered")]


async def test_fetches_and_deliveries_do_not_wait_for_each_others_connections(
    make_pod, remote: RemoteServer, remote_key: rsa.RSAPrivateKey
) -> None:
    """Hosts that accept fetches and never answer, and an inbox that never answers, hold
    connections; a fetch from another host and a delivery to another inbox still get one."""
    pod = await make_pod(federation={"fetch_timeout_seconds": 5.0})
    fed = pod.app[FEDERATION]
    slow = await RemoteServer(remote_key, "slow").start()
    release = slow.stall()
    silent = [await HostilePod().start() for _ in range(7)]
    pending: list[asyncio.Task] = []
    try:
        for host in silent:
            for n in range(4):  # as many as one host may have at once
                host.add_actor(f"s{n}", remote_key)
                host.stalled.add(f"s{n}")
                pending.append(asyncio.create_task(fed.client.get_json(host.actor(f"s{n}"))))
        signer = fed.urls.instance_actor
        pending += [
            asyncio.create_task(fed.client.post(f"{slow.actor}/inbox", b"{}", signer, 10.0))
            for _ in range(40)
        ]

        async def all_held() -> bool:
            return sum(len(h.requests) for h in silent) >= 28 and len(slow.received) >= 4

        await wait_for(all_held)
        doc = await fed.client.get_json(remote.actor)
        assert doc["id"] == remote.actor
        result = await fed.client.post(f"{remote.actor}/inbox", b"{}", signer, 10.0)
        assert result.status == 202, result
        # The slow inbox gets no more connections than a host's share of the deliveries'.
        assert len(slow.received) <= fed.config.federation.delivery_per_host
        assert not any(t.done() for t in pending)
    finally:
        release.set()
        for host in silent:
            await host.close()
        await asyncio.gather(*pending, return_exceptions=True)
        await slow.close()


async def test_a_restart_sends_again_at_once_what_was_in_flight(
    make_pod, remote: RemoteServer, tmp_path
) -> None:
    """A delivery cut short by the pod stopping is the previous process's lease, which nothing
    holds any more: the restarted pod sends it at once rather than a lease later."""
    pod = await make_pod(data_dir=tmp_path / "a")
    alice = await _followed_by_remote(pod, remote)
    answer = remote.stall()
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await wait_for(lambda: _arrived(remote, 2))
    port, clock, path = pod.server.port, pod.clock, pod.config.database_path
    await pod.stop()  # the request is cut short; the row stays 'running'
    answer.set()
    assert (await _create_row_in(path))["state"] == "running"

    pod = await make_pod(data_dir=tmp_path / "a", port=port, clock=clock)  # no time passes
    await pod.app[FEDERATION].worker.run_once()

    async def delivered() -> bool:
        return (await _create_row(pod))["state"] == "delivered"

    await wait_for(delivered)
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]


async def _create_row_in(path: Path) -> dict:
    db = await Database(path).open()
    try:
        row = await db.fetchone(
            "SELECT d.state FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
            " WHERE o.activity_type = 'Create'"
        )
    finally:
        await db.close()
    assert row is not None
    return dict(row)


@pytest.mark.parametrize("threads", [2, 0])
async def test_signatures_are_made_off_the_event_loop_unless_configured_not_to(
    make_pod, remote: RemoteServer, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    signed_on: list[int] = []
    sign = httpsig.sign_request

    def recording(*args: Any, **kwargs: Any) -> dict[str, str]:
        signed_on.append(threading.get_ident())
        return sign(*args, **kwargs)

    monkeypatch.setattr(httpsig, "sign_request", recording)
    pod = await make_pod(federation={"signing_threads": threads})
    alice = await _followed_by_remote(pod, remote)  # fetches the remote actor, sends Accept
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await pod.app[FEDERATION].worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept", "Create"]
    loop_thread = threading.get_ident()
    assert len(signed_on) >= 3  # the actor fetch, the Accept, the Create
    if threads:
        assert loop_thread not in signed_on
    else:
        assert set(signed_on) == {loop_thread}


async def test_a_retry_after_date_out_of_range_is_a_retry_not_a_stuck_delivery(
    make_pod, remote: RemoteServer, remote_key: rsa.RSAPrivateKey
) -> None:
    """An HTTP date whose offset takes it past year 9999 in UTC: the answer is read as no
    Retry-After, and neither its delivery nor one recorded with it stays 'running'."""
    pod = await make_pod()
    other = await RemoteServer(remote_key, "other").start()
    try:
        alice, worker = await _followed_by_two(pod, remote, other)
        remote.answers = [Answer(503, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 -1200"})]
        await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
        assert await worker.run_once(wait=False) == 2
        await wait_for(lambda: _arrived(other, 2))
        await wait_for(lambda: _arrived(remote, 2))
        await worker.run_once()
        rows = await pod.app[DB].fetchall(
            "SELECT d.host, d.state, d.next_attempt_at FROM deliveries d"
            " JOIN outbox o ON o.guid = d.outbox_guid WHERE o.activity_type = 'Create'"
        )
        states = {r["host"]: (r["state"], r["next_attempt_at"]) for r in rows}
        assert states[host_of(other.base)][0] == "delivered"
        state, next_at = states[host_of(remote.base)]
        assert state == "pending"
        assert parse_iso(next_at) - pod.clock.now() <= timedelta(minutes=1)
        # Retried on schedule, and delivered.
        pod.clock.advance(timedelta(minutes=1))
        await worker.run_once()
        assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]
    finally:
        await other.close()


async def test_a_host_that_answers_is_not_failing_since_its_earlier_failure(
    make_pod, remote: RemoteServer
) -> None:
    """A host that failed once and then answered (a refusal is an answer) is up: its next
    failure, hours later, starts a new count rather than pausing it at once."""
    pod = await make_pod(federation={"domain_pause_hours": 1.0})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    remote.answers = [Answer(503), Answer(404)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "one"}, expect=201)
    await worker.run_once()
    pod.clock.advance(timedelta(minutes=5))
    await worker.run_once()
    assert (await _create_row(pod))["state"] == "dead"
    pod.clock.advance(timedelta(hours=2))
    remote.answers = [Answer(503)]
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "two"}, expect=201)
    await worker.run_once()
    host = host_of(remote.base)
    assert await pod.app[DB].fetchval("SELECT paused FROM domains WHERE host = ?", (host,)) == 0
    pod.clock.advance(timedelta(minutes=5))
    await worker.run_once()
    assert [a["type"] for a in remote.received] == [
        "Accept",
        "Create",
        "Create",
        "Create",
        "Create",
    ]


async def test_a_host_asking_to_wait_hears_nothing_more_until_then(
    make_pod, remote: RemoteServer
) -> None:
    """A 429 with Retry-After is about the sender, not one message: what else is queued for the
    host (claimed already, or queued meanwhile) waits as long, untried, and then goes."""
    pod = await make_pod(federation={"delivery_per_host": 1})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    await worker.stop()  # driven by hand from here
    remote.answers = [Answer(429, {"Retry-After": "600"})]
    for n in range(3):
        await pod.call("POST", "/api/v1/posts", alice, json={"body": f"{n}"}, expect=201)
    await worker.run_once()
    assert len(remote.received) == 2  # the Accept, and the post answered 429
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "3"}, expect=201)
    await worker.run_once()
    pod.clock.advance(timedelta(minutes=9))
    await worker.run_once()
    assert len(remote.received) == 2
    rows = await pod.app[DB].fetchall(
        "SELECT d.state, d.attempts FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
        " WHERE o.activity_type = 'Create' ORDER BY d.attempts DESC"
    )
    assert [tuple(r) for r in rows] == [("pending", 1)] + [("pending", 0)] * 3
    pod.clock.advance(timedelta(minutes=1, seconds=1))
    await worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept"] + ["Create"] * 5
    states = await pod.app[DB].fetchall("SELECT DISTINCT state FROM deliveries")
    assert [r[0] for r in states] == ["delivered"]


async def test_a_host_that_does_not_answer_holds_the_shared_slots_once_not_per_delivery(
    make_pod, remote: RemoteServer, remote_key: rsa.RSAPrivateKey
) -> None:
    """Requests to a host that accepts connections and never answers each take the whole
    timeout, holding a slot every host shares. After one such try, what else is queued for it
    waits a while untried: the other hosts are not kept waiting behind all of it."""
    pod = await make_pod(
        federation={"delivery_workers": 1, "delivery_per_host": 1, "delivery_timeout_seconds": 0.3}
    )
    silent = await RemoteServer(remote_key, "silent").start()
    try:
        alice, worker = await _followed_by_two(pod, remote, silent)
        release = silent.stall()
        for n in range(5):
            await pod.call("POST", "/api/v1/posts", alice, json={"body": f"{n}"}, expect=201)
        await worker.run_once()
        assert [a["type"] for a in remote.received] == ["Accept"] + ["Create"] * 5
        assert len(silent.received) == 2  # the Accept, then one post that timed out
        rows = await pod.app[DB].fetchall(
            "SELECT d.attempts FROM deliveries d JOIN outbox o ON o.guid = d.outbox_guid"
            " WHERE o.activity_type = 'Create' AND d.state = 'pending' ORDER BY d.attempts"
        )
        assert [r[0] for r in rows] == [0, 0, 0, 0, 1]
        # A while later, all of them are tried again.
        silent.before_answer = None
        pod.clock.advance(timedelta(minutes=2))
        await worker.run_once()
        assert len(silent.received) == 7
    finally:
        release.set()
        await silent.close()


async def test_a_failure_recording_results_leaves_the_deliveries_to_their_lease(
    make_pod, remote: RemoteServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading a try's result fails once (whatever the cause): the delivery is not held in the
    process for ever, 'running', but claimed again once its lease runs out, as after a crash."""
    pod = await make_pod()
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    decide = backoff.decide
    failures = [RuntimeError("unexpected")]

    def fails_once(*args: Any, **kwargs: Any) -> backoff.Decision:
        if failures:
            raise failures.pop()
        return decide(*args, **kwargs)

    monkeypatch.setattr("federation.delivery.backoff.decide", fails_once)
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    with pytest.raises(RuntimeError):
        await worker.run_once()
    assert (await _create_row(pod))["state"] == "running"
    pod.clock.advance(timedelta(seconds=pod.config.federation.delivery_timeout_seconds + 61))
    await worker.run_once()
    assert (await _create_row(pod))["state"] == "delivered"
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]


async def test_a_paused_domain_is_tried_again_once_per_pause_hours(
    make_pod, remote: RemoteServer
) -> None:
    """A pod whose people never write to us would never be heard from: paused, it is given one
    more try every `domain_pause_hours`, paused again by a failure, resumed by a success."""
    pod = await make_pod(federation={"domain_pause_hours": 1.0})
    alice = await _followed_by_remote(pod, remote)
    worker = pod.app[FEDERATION].worker
    host = remote.base.split("//")[1]

    async def paused() -> int:
        return int(await pod.app[DB].fetchval("SELECT paused FROM domains WHERE host = ?", (host,)))

    remote.answers = [Answer(503)] * 50
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "hi"}, expect=201)
    await worker.run_once()
    for _ in range(6):
        pod.clock.advance(timedelta(minutes=20))
        await worker.run_once()
    assert await paused() == 1
    sent = len(remote.received)

    # Still failing, hours later: one more try, and paused again.
    pod.clock.advance(timedelta(hours=7))  # past the longest wait between tries as well
    assert await worker.probe_paused() == [host]
    await worker.run_once()
    assert len(remote.received) == sent + 1
    assert await paused() == 1
    pod.clock.advance(timedelta(minutes=30))
    assert await worker.probe_paused() == []  # paused again less than an hour ago
    await worker.run_once()
    assert len(remote.received) == sent + 1

    # Back, hours later again: the next try delivers, and the domain is no longer paused.
    remote.answers = []
    pod.clock.advance(timedelta(hours=7))
    assert await worker.probe_paused() == [host]
    await worker.run_once()
    assert (await _create_row(pod))["state"] == "delivered"
    assert await paused() == 0

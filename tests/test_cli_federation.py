"""The operator's federation commands: the delivery queue (status, retry) and domain blocks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.routes import FEDERATION
from node.appkeys import DB
from node.store import identities as identity_store
from tests.conftest import PodFactory
from tests.remote import Answer, RemoteServer
from tests.support import Pod
from tests.test_cli import run, write_config


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = await RemoteServer(key).start()
    yield server
    await server.close()


async def test_domain_block_list_unblock(
    tmp_path: Path, make_pod: PodFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    assert await run(["domain", "block", "--config", path, "Evil.Example"]) == 0
    assert await run(["domain", "block", "--config", path, "spam.test"]) == 0
    capsys.readouterr()
    assert await run(["domain", "list", "--config", path]) == 0
    assert capsys.readouterr().out.split() == ["evil.example", "spam.test"]
    assert await run(["domain", "unblock", "--config", path, "spam.test"]) == 0
    assert await run(["domain", "block", "--config", path, "not a/domain"]) == 1

    pod = await make_pod(data_dir=tmp_path / "pod" / "data")
    fed = pod.app[FEDERATION]
    assert fed.is_blocked("evil.example") and fed.is_blocked("a.evil.example:8443")
    assert not fed.is_blocked("spam.test")


Restart = Callable[[], Awaitable[Pod]]
Answered = Callable[[Answer], Awaitable[tuple[str, Restart]]]


@pytest.fixture
def answered(tmp_path: Path, make_pod: PodFactory, remote: RemoteServer) -> Answered:
    """Run a pod whose post to its remote follower gets a given answer, and stop it; returns
    the path of its config for the commands, and how to start the pod again."""

    async def post(answer: Answer) -> tuple[str, Restart]:
        pod = await make_pod(data_dir=tmp_path / "pod" / "data")
        alice = await pod.register("alice")
        fed = pod.app[FEDERATION]
        follower = await fed.directory.resolve_uri(remote.actor)
        me = await identity_store.get(fed.db, alice.identity_id)
        assert me is not None
        remote.answers = [Answer(202), answer]  # the Accept goes through, then the post
        async with fed.db.transaction() as tx:
            await fed.services.follows.remote_follow(tx, follower, me, f"{remote.actor}#follow")
        await pod.call("POST", "/api/v1/posts", alice, json={"body": "refused"}, expect=201)
        await fed.worker.run_once()
        port = pod.server.port
        await pod.stop()

        def again() -> Awaitable[Pod]:
            return make_pod(data_dir=pod.config.storage.data_dir, port=port, clock=pod.clock)

        return str(write_config(tmp_path / "pod", port=port)), again

    return post


async def _dead_letters(path: str, capsys: pytest.CaptureFixture[str]) -> str:
    """What `hearth deliveries status --dead` prints."""
    capsys.readouterr()
    assert await run(["deliveries", "status", "--config", path, "--dead"]) == 0
    return capsys.readouterr().out


async def test_deliveries_status_and_retry(
    answered: Answered, remote: RemoteServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path, restart = await answered(Answer(403))
    out = await _dead_letters(path, capsys)
    host = remote.base.split("//")[1]
    assert f"{host}: 0 pending, 0 running, 1 dead" in out
    assert "Create" in out and "403" in out
    assert await run(["deliveries", "retry", "--config", path, "--host", host]) == 0
    assert capsys.readouterr().out.startswith("1 deliveries due now")

    pod = await restart()
    await pod.app[FEDERATION].worker.run_once()
    states = await pod.app[DB].fetchall("SELECT state FROM deliveries")
    assert {r[0] for r in states} == {"delivered"}
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]


async def test_deliveries_queued_before_a_block_are_given_up(
    answered: Answered, remote: RemoteServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path, restart = await answered(Answer(503))
    host = remote.base.split("//")[1]
    assert await run(["domain", "block", "--config", path, host]) == 0
    pod = await restart()
    pod.clock.advance(timedelta(hours=1))  # the post is due again
    await pod.app[FEDERATION].worker.run_once()
    assert [a["type"] for a in remote.received] == ["Accept", "Create"]
    await pod.stop()
    out = await _dead_letters(path, capsys)
    assert f"{host}: 0 pending, 0 running, 1 dead" in out
    assert "Create" in out and "1 tries, last - domain blocked" in out

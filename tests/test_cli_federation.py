"""The operator's federation commands: the delivery queue (status, retry) and domain blocks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from federation.routes import FEDERATION
from node.appkeys import DB
from node.store import identities as identity_store
from tests.conftest import PodFactory
from tests.remote import Answer, RemoteServer
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


async def test_deliveries_status_and_retry(
    tmp_path: Path,
    make_pod: PodFactory,
    remote: RemoteServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "pod" / "data"
    pod = await make_pod(data_dir=data)
    alice = await pod.register("alice")
    fed = pod.app[FEDERATION]
    follower = await fed.directory.resolve_uri(remote.actor)
    me = await identity_store.get(fed.db, alice.identity_id)
    assert me is not None
    remote.answers = [Answer(202), Answer(403)]  # the Accept goes through; the post is refused
    async with fed.db.transaction() as tx:
        await fed.services.follows.remote_follow(tx, follower, me, f"{remote.actor}#follow")
    await pod.call("POST", "/api/v1/posts", alice, json={"body": "refused"}, expect=201)
    await fed.worker.run_once()
    port, clock = pod.server.port, pod.clock
    await pod.stop()

    path = str(write_config(tmp_path / "pod", port=port))
    capsys.readouterr()
    assert await run(["deliveries", "status", "--config", path, "--dead"]) == 0
    out = capsys.readouterr().out
    host = remote.base.split("//")[1]
    assert f"{host}: 0 pending, 0 running, 1 dead" in out
    assert "Create" in out and "403" in out
    assert await run(["deliveries", "retry", "--config", path, "--host", host]) == 0
    assert capsys.readouterr().out.startswith("1 deliveries due now")

    pod = await make_pod(data_dir=data, port=port, clock=clock)
    await pod.app[FEDERATION].worker.run_once()
    states = await pod.app[DB].fetchall("SELECT state FROM deliveries")
    assert {r[0] for r in states} == {"delivered"}
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]

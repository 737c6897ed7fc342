"""The operator's federation commands: the delivery queue (status, retry) and domain blocks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import pytest

from federation.blocks import DomainBlocks
from federation.routes import FEDERATION
from node.appkeys import DB
from node.store import deliveries as delivery_store
from node.store.db import Database
from tests.conftest import PodFactory
from tests.remote import Answer, RemoteServer, followed_by
from tests.support import Pod, wait_for
from tests.test_cli import one_line, run, write_config, write_to_database


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


async def _blocks(path: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """What `hearth domain list` prints."""
    capsys.readouterr()
    assert await run(["domain", "list", "--config", path]) == 0
    return capsys.readouterr().out.split()


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("Evil.ORG.", "evil.org"),  # case and a trailing dot
        ("\uff45vil\uff0eorg", "evil.org"),  # full-width e and dot, folded by IDNA
        ("EVIL.org:8443", "evil.org:8443"),
        ("\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "xn--e1afmkfd.xn--p1ai"),
        ("[0:0::1]:8001", "[::1]:8001"),  # an IPv6 address, however written
    ],
)
async def test_domain_blocks_are_kept_as_the_pod_reads_them(
    tmp_path: Path, typed: str, key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    assert await run(["domain", "block", "--config", path, typed]) == 0
    assert capsys.readouterr().out.startswith(f"{key} blocked;")
    assert await _blocks(path, capsys) == [key]
    assert DomainBlocks(await _blocks(path, capsys)).is_blocked(typed)
    # Unblocked in its canonical form, or as typed, the block is gone.
    for spelling in (key, typed):
        assert await run(["domain", "block", "--config", path, typed]) == 0
        assert await run(["domain", "unblock", "--config", path, spelling]) == 0
        assert await _blocks(path, capsys) == []


async def test_unblock_lifts_a_block_stored_before_keys_were_canonical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    assert await run(["migrate", "--config", path]) == 0
    db = await Database(tmp_path / "pod" / "data" / "hearth.db").open()
    try:
        async with db.transaction() as tx:
            await delivery_store.set_blocked(tx, "evil.org.", True, "2024-01-01T00:00:00.000Z")
    finally:
        await db.close()
    assert await _blocks(path, capsys) == ["evil.org"]
    assert await run(["domain", "unblock", "--config", path, "evil.org"]) == 0
    assert await _blocks(path, capsys) == []


async def test_domain_block_refuses_what_is_not_a_host_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    for typed in ("https://evil.org/", "x@evil.org", "evil.org/inbox", "evil.org:99999",
                  "evil..org", " ", "[zz]"):  # fmt: skip
        assert await run(["domain", "block", "--config", path, typed]) == 1, typed
        assert "domain: a host name" in one_line(capsys.readouterr().err)
    assert await _blocks(path, capsys) == []


Restart = Callable[[], Awaitable[Pod]]
Answered = Callable[[Answer], Awaitable[tuple[str, Restart]]]


@pytest.fixture
def answered(tmp_path: Path, make_pod: PodFactory, remote: RemoteServer) -> Answered:
    """Run a pod whose post to its remote follower gets a given answer, and stop it; returns
    the path of its config for the commands, and how to start the pod again."""

    async def post(answer: Answer) -> tuple[str, Restart]:
        pod = await make_pod(data_dir=tmp_path / "pod" / "data")
        alice = await followed_by(pod, remote)
        fed = pod.app[FEDERATION]

        async def accept_sent() -> bool:
            return [a["type"] for a in remote.received] == ["Accept"]

        # The Accept goes through first (the worker's own loop may be the one sending it), then
        # the post meets the answer: otherwise the two could reach the remote in either order.
        await wait_for(accept_sent)
        remote.answers = [answer]
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
    answered: Answered,
    remote: RemoteServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    path, restart = await answered(Answer(403))
    out = await _dead_letters(path, capsys)
    host = remote.base.split("//")[1]
    assert f"{host}: 0 pending, 0 running, 1 dead" in out
    assert "Create" in out and "403" in out
    assert await run(["deliveries", "retry", "--config", path, "--host", "127.0.0.2"]) == 0
    assert capsys.readouterr().out.startswith("0 deliveries due now")  # another host
    assert await run(["deliveries", "retry", "--config", path, "--host", "http://x/"]) != 0
    assert "domain" in one_line(capsys.readouterr().err)
    assert await run(["deliveries", "retry", "--config", path, "--host", f" {host} "]) == 0
    assert capsys.readouterr().out.startswith("1 deliveries due now")
    # A host on its scheme's default port is stored without it, and found with or without.
    await write_to_database(
        tmp_path / "pod", f"UPDATE deliveries SET host = 'social.example' WHERE host = '{host}'"
    )
    for typed, found in (
        ("social.example:443", 1),
        ("Social.Example:80", 1),
        ("social.example:8443", 0),
    ):
        assert await run(["deliveries", "retry", "--config", path, "--host", typed]) == 0
        assert capsys.readouterr().out.startswith(f"{found} deliveries due now"), typed
    # A host keeps its inbox URL's spelling, Unicode for an IDN host: found however typed.
    await write_to_database(
        tmp_path / "pod",
        "UPDATE deliveries SET host = '\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444'"
        " WHERE host = 'social.example'",
    )
    for typed in ("\u041f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "xn--e1afmkfd.xn--p1ai"):
        assert await run(["deliveries", "retry", "--config", path, "--host", typed]) == 0
        assert capsys.readouterr().out.startswith("1 deliveries due now"), typed
    await write_to_database(
        tmp_path / "pod", f"UPDATE deliveries SET host = '{host}' WHERE host != '{host}'"
    )

    pod = await restart()
    await pod.app[FEDERATION].worker.run_once()
    states = await pod.app[DB].fetchall("SELECT state FROM deliveries")
    assert {r[0] for r in states} == {"delivered"}
    assert [a["type"] for a in remote.received] == ["Accept", "Create", "Create"]


async def test_deliveries_status_says_how_many_dead_deliveries_it_leaves_out(
    answered: Answered, remote: RemoteServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path, _ = await answered(Answer(403))
    host = remote.base.split("//")[1]
    # 120 more of the post's deliveries given up on, to inboxes of the same host, later on.
    await write_to_database(
        tmp_path / "pod",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120)"
        " INSERT INTO deliveries (guid, outbox_guid, inbox, host, state, attempts,"
        " next_attempt_at, last_status, created_at, updated_at)"
        " SELECT 'more' || i, d.outbox_guid, d.inbox || '/' || i, d.host, 'dead', 1,"
        " '2099-01-01T00:00:00.000Z', 410, '2099-01-01T00:00:00.000Z',"
        " '2099-01-01T00:00:00.000Z' FROM n, deliveries d WHERE d.state = 'dead'",
    )
    out = await _dead_letters(path, capsys)
    assert f"{host}: 0 pending, 0 running, 121 dead" in out
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("dead ")]) == 100
    assert lines[-1] == "... and 21 more dead deliveries, given up on earlier"
    # All listed: nothing more to say.
    await write_to_database(tmp_path / "pod", "DELETE FROM deliveries WHERE guid LIKE 'more__%'")
    out = await _dead_letters(path, capsys)
    assert len(out.splitlines()) == 1 + 10 and "more dead" not in out


async def test_deliveries_status_shows_a_remote_inbox_with_its_control_characters_escaped(
    tmp_path: Path,
    make_pod: PodFactory,
    remote: RemoteServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An inbox URL is the remote's to choose: printed as it is, its escape sequences would
    be run by the operator's terminal (retitle the window, rewrite lines shown, hide some)."""
    doc = remote._actor_doc()
    hostile = {**doc, "inbox": f"{doc['inbox']}\x1b]2;owned\x07\x1b[2K\r\u202e"}
    remote._actor_doc = lambda: hostile  # type: ignore[method-assign]
    pod = await make_pod(data_dir=tmp_path / "pod" / "data")
    await followed_by(pod, remote)
    fed = pod.app[FEDERATION]

    async def given_up() -> bool:
        await fed.worker.run_once()
        return await fed.db.fetchval("SELECT count(*) FROM deliveries WHERE state = 'dead'") == 1

    await wait_for(given_up)  # the Accept: no such inbox there
    path = str(write_config(tmp_path / "pod", port=pod.server.port))
    await pod.stop()
    out = await _dead_letters(path, capsys)
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\u202e" not in out
    assert f"-> {doc['inbox']}\\x1b]2;owned\\x07\\x1b[2K\\r\\u202e: 1 tries" in out


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
    # Sent again, they would only be given up again: a retry leaves them, and says so.
    assert await run(["deliveries", "retry", "--config", path]) == 0
    assert capsys.readouterr().out.startswith("0 deliveries due now")
    assert await run(["deliveries", "retry", "--config", path, "--host", host]) == 1
    assert f"{host} is blocked" in one_line(capsys.readouterr().err)
    assert f"{host}: 0 pending, 0 running, 1 dead" in await _dead_letters(path, capsys)


async def test_a_retried_delivery_that_had_run_out_of_tries_gets_its_tries_again(
    answered: Answered, remote: RemoteServer, tmp_path: Path
) -> None:
    """Given up after its last try, then retried by the operator: one more failure (the host
    still busy catching up) is retried later, not given up on at once."""
    path, restart = await answered(Answer(503))
    await write_to_database(
        tmp_path / "pod",
        "UPDATE deliveries SET attempts = 26, state = 'dead' WHERE state = 'pending'",
    )
    assert await run(["deliveries", "retry", "--config", path]) == 0
    remote.answers = [Answer(503)]
    pod = await restart()
    await pod.app[FEDERATION].worker.run_once()
    rows = await pod.app[DB].fetchall("SELECT state, attempts FROM deliveries ORDER BY attempts")
    assert [tuple(r) for r in rows] == [("delivered", 1), ("pending", 1)]


async def test_domain_unblock_says_when_the_domain_stays_blocked(
    tmp_path: Path, make_pod: PodFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unblock that lifts nothing, or leaves a block that covers the domain (its parent
    domain's, the config's), says so: the domain is still refused."""
    extra = '[federation]\nblocked_domains = ["Cfg.Example"]\n'
    path = str(write_config(tmp_path / "pod", extra=extra))
    assert await run(["migrate", "--config", path]) == 0
    capsys.readouterr()
    assert await run(["domain", "unblock", "--config", path, "nowhere.example"]) == 1
    assert one_line(capsys.readouterr().err) == "hearth: nowhere.example is not blocked"
    assert await run(["domain", "unblock", "--config", path, "a.cfg.example"]) == 1
    line = one_line(capsys.readouterr().err)
    assert "a.cfg.example is not blocked itself" in line
    assert "cfg.example (federation.blocked_domains in the config)" in line

    assert await run(["domain", "block", "--config", path, "evil.example"]) == 0
    assert await run(["domain", "block", "--config", path, "a.evil.example"]) == 0
    capsys.readouterr()
    assert await run(["domain", "unblock", "--config", path, "a.evil.example"]) == 0
    out = one_line(capsys.readouterr().out)
    assert out.startswith("a.evil.example unblocked, but still blocked by evil.example;"), out
    # The list shows every block the pod applies, the config's first (it said nothing of them).
    assert await run(["domain", "list", "--config", path]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "cfg.example (federation.blocked_domains in the config)",
        "evil.example",
    ]

    pod = await make_pod(
        data_dir=tmp_path / "pod" / "data", federation={"blocked_domains": ["cfg.example"]}
    )
    fed = pod.app[FEDERATION]
    assert fed.is_blocked("a.evil.example") and fed.is_blocked("a.cfg.example")

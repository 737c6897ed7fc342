"""The operator's CLI: init, serve, migrate, account create/invite, token create.

Most commands run in this process through `main()`; `serve` runs as the real console script in a
subprocess (start, health, SIGTERM) and once more with a bad config.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import pty
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import tomllib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientError, ClientSession

from node.cli import main
from node.config import load_config
from node.store import db as db_module
from node.store import migrate as migrate_module
from node.store.db import Database
from node.store.migrate import available
from tests.conftest import PodFactory
from tests.support import free_port, wait_for

HEARTH = str(Path(sys.executable).with_name("hearth"))
PASSWORD = "correct horse battery"


def write_config(folder: Path, port: int = 8080, extra: str = "") -> Path:
    """A config for a pod in `folder` (data in folder/data), with cheap password hashing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'[server]\nhost = "127.0.0.1"\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        '[storage]\ndata_dir = "data"\n'
        "[auth]\nargon2_time_cost = 1\nargon2_memory_kib = 64\n" + extra,
        encoding="utf-8",
    )
    return path


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


async def run(argv: list[str]) -> int:
    """main(argv) off the event loop (the commands run their own)."""
    return await asyncio.to_thread(main, argv)


# --- help -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["init"],
        ["serve"],
        ["migrate"],
        ["account"],
        ["account", "create"],
        ["account", "invite"],
        ["token"],
        ["token", "create"],
        ["deliveries", "status"],
        ["deliveries", "retry"],
        ["domain", "block"],
        ["domain", "list"],
    ],
)
def test_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: hearth " + " ".join(argv))


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


# --- init -----------------------------------------------------------------------------------


def test_init_writes_a_config_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "mypod"
    assert main(["init", str(target), "--public-url", "http://127.0.0.1:9000/"]) == 0
    assert "hearth serve --config" in capsys.readouterr().out
    path = target / "config.toml"
    assert (target / "data").is_dir()
    config = load_config(path, env={})
    assert config.server.port == 9000
    assert config.server.public_url == "http://127.0.0.1:9000"
    assert config.storage.data_dir == target / "data"
    written = path.read_text(encoding="utf-8")

    assert main(["init", str(target), "--public-url", "http://127.0.0.1:9001"]) == 1
    assert "refusing to overwrite" in one_line(capsys.readouterr().err)
    assert path.read_text(encoding="utf-8") == written


def test_init_behind_a_reverse_proxy(tmp_path: Path) -> None:
    assert main(["init", str(tmp_path / "a"), "--public-url", "https://pod.example.org"]) == 0
    config = load_config(tmp_path / "a" / "config.toml", env={})
    assert config.server.public_url == "https://pod.example.org"
    assert config.server.port == 8080  # not 443: the proxy holds that
    assert config.host == "pod.example.org"
    argv = ["init", str(tmp_path / "b"), "--public-url", "https://pod.example.org", "--port", "9"]
    assert main(argv) == 0
    assert load_config(tmp_path / "b" / "config.toml", env={}).server.port == 9


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--public-url", "ftp://x.example"),
        ("--public-url", "pod.example.org"),
        ("--public-url", 'http://a"b.example'),
        ("--public-url", "http://x.example:99999"),
        ("--port", "65536"),
        ("--port", "99999"),
    ],
)
def test_init_refuses_a_bad_option(
    tmp_path: Path, option: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "pod"), option, value]) == 1
    assert option in one_line(capsys.readouterr().err)
    assert not (tmp_path / "pod" / "config.toml").exists()


def test_init_writes_the_port_given_even_0(tmp_path: Path) -> None:
    # 0 (the system's choice at each start) is a port given, not none: 8080 was written.
    assert main(["init", str(tmp_path / "pod"), "--port", "0"]) == 0
    config = tomllib.loads((tmp_path / "pod" / "config.toml").read_text())
    assert config["server"]["port"] == 0


@pytest.mark.parametrize("host", ["", "[::1]", "127.0.0.1:8080", "192.0.2.1", "a host"])
def test_init_refuses_a_host_serve_cannot_listen_on(
    tmp_path: Path, host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Not a name or address of this machine (192.0.2.1 is kept for documentation): serve
    would refuse the config init wrote."""
    assert main(["init", str(tmp_path / "pod"), "--host", host]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.endswith(f"--host: server.host: cannot listen on {host}".rstrip())
    assert not (tmp_path / "pod").exists()
    # As serve would have said.
    path = write_config(tmp_path / "other", port=free_port())
    text = path.read_text(encoding="utf-8").replace('host = "127.0.0.1"', f'host = "{host}"')
    path.write_text(text, encoding="utf-8")
    result = serve_once(path)
    assert result.returncode == 1 and "server.host: cannot listen" in one_line(result.stderr)


@pytest.mark.parametrize("host", ["localhost", "0.0.0.0", "127.0.0.2"])
def test_init_takes_a_host_serve_listens_on(tmp_path: Path, host: str) -> None:
    assert main(["init", str(tmp_path / "pod"), "--host", host]) == 0
    assert load_config(tmp_path / "pod" / "config.toml", env={}).server.host == host


def test_init_into_a_file_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    assert main(["init", str(tmp_path / "taken")]) == 1
    assert "cannot write" in one_line(capsys.readouterr().err)


# --- migrate --------------------------------------------------------------------------------


def test_migrate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path / "pod")
    assert main(["migrate", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "0001_core.sql" in out
    # Each migration is announced as it starts: a long one does not look like a hang.
    steps = err.splitlines()
    assert steps[0].startswith("applying 0001_core.sql (") and len(steps) == len(available())
    assert (tmp_path / "pod" / "data" / "hearth.db").is_file()
    assert main(["migrate", "--config", str(path)]) == 0
    assert capsys.readouterr().out.strip() == "the database is up to date"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_data_folder_and_database_are_the_pods_users_alone(tmp_path: Path) -> None:
    # They hold actor private keys, the media signing secret, password and token hashes.
    target = tmp_path / "pod"
    assert main(["init", str(target)]) == 0
    data = target / "data"
    assert mode(data) == 0o700
    assert await run(["migrate", "--config", str(target / "config.toml")]) == 0
    assert mode(data) == 0o700 and mode(data / "hearth.db") == 0o600
    db = await Database(data / "hearth.db").open()  # the journals exist while it is open
    try:
        async with db.transaction() as tx:
            await tx.execute("CREATE TABLE probe (x)")
        assert mode(data / "hearth.db-wal") == mode(data / "hearth.db-shm") == 0o600
    finally:
        await db.close()

    # A pod made before: its folder and database are tightened; the folder above is the
    # operator's and stays as it is.
    old = tmp_path / "old"
    path = write_config(old)
    (old / "data").mkdir(mode=0o755)
    (old / "data" / "hearth.db").touch(mode=0o644)
    os.chmod(old / "data", 0o755)
    os.chmod(old / "data" / "hearth.db", 0o644)
    os.chmod(old, 0o751)
    assert await run(["migrate", "--config", str(path)]) == 0
    assert mode(old / "data") == 0o700 and mode(old / "data" / "hearth.db") == 0o600
    assert mode(old) == 0o751


def test_commands_report_a_missing_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "none.toml")
    for argv in (["migrate"], ["account", "invite"], ["serve"]):
        assert main([*argv, "--config", missing]) == 1
        assert "config file not found" in one_line(capsys.readouterr().err)


def test_commands_report_a_config_they_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[instance]\nname = "Caf\xe9"\n')
    for path, why in ((tmp_path, "cannot read the config file"), (latin, "not UTF-8")):
        for argv in (["migrate"], ["serve"]):
            assert main([*argv, "--config", str(path)]) == 1
            assert why in one_line(capsys.readouterr().err)


def serve_once(path: Path) -> subprocess.CompletedProcess[str]:
    """`hearth serve` that is expected to stop by itself (a timeout is a hang)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    return subprocess.run(
        [HEARTH, "serve", "--config", str(path)], capture_output=True, text=True, timeout=30,
        env=env,
    )  # fmt: skip


def test_an_unusable_data_folder_or_database_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    path = write_config(tmp_path / "a")
    path.write_text(f'[storage]\ndata_dir = "{tmp_path}/file/d"\n', encoding="utf-8")
    assert main(["migrate", "--config", str(path)]) == 1
    assert "cannot make the data folder" in one_line(capsys.readouterr().err)

    path = write_config(tmp_path / "b", port=free_port())
    (tmp_path / "b" / "data").mkdir()
    (tmp_path / "b" / "data" / "hearth.db").write_bytes(b"not a database" * 100)
    for argv in (["migrate"], ["account", "invite"]):
        assert main([*argv, "--config", str(path)]) == 1
        assert "file is not a database" in one_line(capsys.readouterr().err)
    result = serve_once(path)
    assert result.returncode == 1 and "file is not a database" in one_line(result.stderr)


async def write_to_database(folder: Path, sql: str) -> None:
    """Run one statement on the database of the pod whose config `write_config` put in `folder`."""
    db = await Database(folder / "data" / "hearth.db").open()
    try:
        async with db.transaction() as tx:
            await tx.execute(sql)
    finally:
        await db.close()


async def test_a_database_from_a_newer_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "pod", port=free_port())
    assert await run(["migrate", "--config", str(path)]) == 0
    await write_to_database(
        tmp_path / "pod",
        "INSERT INTO schema_migrations VALUES (9999, '9999_later.sql', '2030-01-01')",
    )
    capsys.readouterr()
    for argv in (["migrate"], ["account", "invite"]):
        assert await run([*argv, "--config", str(path)]) == 1
        line = one_line(capsys.readouterr().err)
        assert "newer version of Hearth (9999_later.sql)" in line
    # serve says so too, and exits rather than hang on the database it opened.
    result = await asyncio.to_thread(serve_once, path)
    assert result.returncode == 1
    assert "newer version of Hearth" in one_line(result.stderr)


def schema_of(database: Path) -> list[tuple[Any, ...]]:
    """What a migration changes: the schema, and the migrations recorded as applied."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return [
            *conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY type, name"),
            *conn.execute("SELECT version, name FROM schema_migrations ORDER BY version"),
        ]


@pytest.mark.parametrize(
    "argv",
    [
        # Read-only:
        ["deliveries", "status", "--dead"],
        ["domain", "list"],
        # Writing:
        [
            "account",
            "create",
            "--username",
            "bob",
            "--email",
            "b@example.org",
            "--password-env",
            "PW",
        ],
        ["account", "invite"],
        ["account", "password", "alice", "--generate"],
        ["token", "create", "--username", "alice"],
        ["deliveries", "retry"],
        ["domain", "block", "evil.example"],
        ["domain", "unblock", "evil.example"],
        ["media", "gc"],
    ],
)
async def test_commands_refuse_a_database_behind_this_version_and_change_nothing(
    tmp_path: Path,
    argv: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """After the package is upgraded, before the pod is restarted, the pod's old code still
    serves the database: a command (a status, say) that migrated it would change the schema
    under it. Every command but migrate and serve says to migrate instead, in one line."""
    path = str(write_config(tmp_path / "pod"))
    latest = available()
    with monkeypatch.context() as older:  # the version before: without the last migration
        older.setattr(migrate_module, "available", lambda: latest[:-1])
        assert await run(["migrate", "--config", path]) == 0
    database = tmp_path / "pod" / "data" / "hearth.db"
    before = schema_of(database)
    capsys.readouterr()
    monkeypatch.setenv("PW", PASSWORD)
    assert await run([*argv, "--config", path]) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert f"lacks the migrations of this version of Hearth ({latest[-1][1]})" in line
    assert "run `hearth migrate`" in line and captured.out == ""
    assert schema_of(database) == before

    assert await run(["migrate", "--config", path]) == 0
    assert await run(["domain", "list", "--config", path]) == 0


async def test_a_database_no_migration_touched_is_migrated_only_by_commands_that_may_make_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No pod has run on it, so migrating it is safe; but a read-only command still changes
    nothing, not even the table that records the migrations."""
    path = str(write_config(tmp_path / "pod"))
    database = tmp_path / "pod" / "data" / "hearth.db"
    database.parent.mkdir()
    sqlite3.connect(database).close()
    assert await run(["deliveries", "status", "--config", path]) == 1
    first, last = available()[0][1], available()[-1][1]
    assert f"({first} to {last}); run `hearth migrate`" in one_line(capsys.readouterr().err)
    with contextlib.closing(sqlite3.connect(database)) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
    assert await run(["domain", "block", "evil.example", "--config", path]) == 0
    assert await run(["domain", "list", "--config", path]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "evil.example"


async def test_a_database_another_process_keeps_locked_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A write that waits past its time for another process's (a long transaction, a backup)
    fails as every other error of the command line: one line, status 1, nothing changed."""
    monkeypatch.setattr(db_module, "BUSY_WAIT_MS", 200)
    path = str(write_config(tmp_path / "pod"))
    assert await run(["migrate", "--config", path]) == 0
    other = sqlite3.connect(tmp_path / "pod" / "data" / "hearth.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    capsys.readouterr()
    try:
        for argv in (
            ["domain", "block", "evil.example"],
            ["account", "invite"],
            ["deliveries", "retry"],
        ):
            assert await run([*argv, "--config", path]) == 1, argv
            captured = capsys.readouterr()
            assert "database is locked" in one_line(captured.err), argv
            assert captured.out == ""
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await run(["domain", "list", "--config", path]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["deliveries", "status", "--dead"],
        ["deliveries", "retry"],
        ["domain", "list"],
        ["domain", "unblock", "evil.example"],
        ["media", "gc"],
        ["account", "password", "alice", "--generate"],
        ["token", "create", "--username", "alice"],
    ],
)
async def test_commands_that_need_the_pods_database_make_none(
    tmp_path: Path, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Run against a mistyped data_dir, they would report on an empty database made there (an
    empty queue, no blocks) as though it were the pod's: they say it is missing instead."""
    path = write_config(tmp_path / "pod")
    text = path.read_text(encoding="utf-8").replace('data_dir = "data"', 'data_dir = "dta"')
    path.write_text(text, encoding="utf-8")
    assert await run([*argv, "--config", str(path)]) == 1
    captured = capsys.readouterr()
    line = one_line(captured.err)
    assert f"{tmp_path / 'pod' / 'dta' / 'hearth.db'}: no database there" in line
    assert captured.out == ""
    assert sorted(p.name for p in (tmp_path / "pod").iterdir()) == ["config.toml"]


async def test_media_gc_on_a_missing_database_keeps_the_media(
    tmp_path: Path, make_pod: PodFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """With storage.database mistyped, gc would have found no blob row naming any stored file
    and removed them all."""
    from tests.api.test_media_flow import leftovers, upload

    pod = await make_pod(data_dir=tmp_path / "pod" / "data")
    alice = await pod.register("alice")
    await upload(pod, alice)
    await pod.stop()
    [stored] = leftovers(pod)
    os.utime(stored, (0, 0))  # long past the age a stray file is removed at
    path = write_config(tmp_path / "pod")
    mistyped = 'data_dir = "data"\ndatabase = "hearth2.db"'
    text = path.read_text(encoding="utf-8").replace('data_dir = "data"', mistyped)
    path.write_text(text, encoding="utf-8")
    assert await run(["media", "gc", "--config", str(path)]) == 1
    assert "hearth2.db: no database there" in one_line(capsys.readouterr().err)
    assert leftovers(pod) == [stored]
    assert not (tmp_path / "pod" / "data" / "hearth2.db").exists()


# --- accounts and tokens --------------------------------------------------------------------


async def test_account_create_then_login_and_app_token(
    tmp_path: Path,
    make_pod: PodFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Registration is closed to the API, but the operator can still create accounts.
    path = write_config(tmp_path / "pod", extra='[instance]\nregistration = "closed"\n')
    monkeypatch.setenv("ALICE_PW", PASSWORD)
    argv = ["account", "create", "--config", str(path), "--username", "alice"]
    assert await run([*argv, "--email", "alice@example.org", "--password-env", "ALICE_PW"]) == 0
    out = capsys.readouterr().out
    assert "alice@127.0.0.1:8080" in out

    pod = await make_pod(data_dir=tmp_path / "pod" / "data", instance={"registration": "closed"})
    _, login = await pod.login("alice", PASSWORD)
    _, me = await pod.call(
        "GET", "/api/v1/accounts/current", headers=bearer(login["token"]), expect=200
    )
    assert me["email"] == "alice@example.org"

    argv = ["token", "create", "--config", str(path), "--username", "ALICE", "--scopes", "profile"]
    assert await run(argv) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert "profile" in captured.err and token not in captured.err
    app = bearer(token)
    _, ident = await pod.call("GET", "/api/v1/identity/current", headers=app, expect=200)
    assert ident["username"] == "alice"
    _, data = await pod.call("GET", "/api/v1/accounts/current", headers=app, expect=403)
    assert data["error"] == "first_party_only"
    _, data = await pod.call(
        "PATCH", "/api/v1/identity/current", headers=app, json={"bio": "x"}, expect=403
    )
    assert data["error"] == "insufficient_scope"
    _, sess = await pod.call("GET", "/api/v1/sessions/current", headers=app, expect=200)
    assert sess["kind"] == "app" and sess["scopes"] == ["profile"] and sess["name"] == "cli"


@pytest.mark.parametrize("end", ["\n", "\r\n", ""])  # a file written on Windows: CR LF
async def test_account_create_reads_the_password_from_stdin(
    tmp_path: Path, make_pod: PodFactory, monkeypatch: pytest.MonkeyPatch, end: str
) -> None:
    path = write_config(tmp_path / "pod")
    # As sys.stdin reads: a line keeps its CR.
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"piped password{end}"))
    argv = ["account", "create", "--config", str(path), "--username", "bob"]
    assert await run([*argv, "--email", "bob@example.org"]) == 0
    pod = await make_pod(data_dir=tmp_path / "pod" / "data")
    await pod.login("bob", "piped password")


async def test_account_password_sets_a_new_one_and_ends_the_login_sessions(
    tmp_path: Path,
    make_pod: PodFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator's way back in for someone who lost their password, or whose password
    someone else knows: logins with the old one, and its sessions, end; app tokens stay."""
    path = write_config(tmp_path / "pod")
    pod = await make_pod(data_dir=tmp_path / "pod" / "data")
    alice = await pod.register("alice")
    assert await run(["token", "create", "--config", str(path), "--username", "alice"]) == 0
    app = bearer(capsys.readouterr().out.strip())
    argv = ["account", "password", "--config", str(path)]

    for args, message in (
        (["nobody", "--generate"], "no local identity named nobody"),
        (["alice", "--password-env", "SHORT_PW"], "at least 8 characters"),
    ):
        monkeypatch.setenv("SHORT_PW", "short")
        assert await run([*argv, *args]) == 1
        captured = capsys.readouterr()
        assert message in one_line(captured.err)
        assert captured.out == ""  # no password to hand over: none was set
    await pod.call("GET", "/api/v1/accounts/current", alice, expect=200)  # nothing changed

    assert await run([*argv, "ALICE", "--generate"]) == 0
    captured = capsys.readouterr()
    new = captured.out.strip()
    assert len(new) >= 20 and "login sessions ended: 1" in captured.err
    await pod.call("GET", "/api/v1/accounts/current", alice, expect=401)
    resp, _ = await pod.login("alice", PASSWORD, expect=None)
    assert resp.status == 401
    _, login = await pod.login("alice", new)
    me = bearer(login["token"])
    _, events = await pod.call("GET", "/api/v1/accounts/current/changelog", headers=me, expect=200)
    assert events[1]["kind"] == "account.password_reset"
    assert events[1]["detail"] == {"sessions_ended": 1}
    await pod.call("GET", "/api/v1/identity/current", headers=app, expect=200)

    # A password of one's choosing, from standard input.
    monkeypatch.setattr(sys, "stdin", io.StringIO("chosen password\n"))
    assert await run([*argv, "alice"]) == 0
    assert capsys.readouterr().out == ""
    await pod.call("GET", "/api/v1/accounts/current", headers=me, expect=401)
    await pod.login("alice", "chosen password")


@pytest.mark.parametrize(
    ("stop", "code", "said"),
    [("eof", 1, "hearth: no password given"), ("interrupt", 130, "hearth: interrupted")],
)
def test_an_ended_password_prompt_is_one_line(
    tmp_path: Path, stop: str, code: int, said: str
) -> None:
    """End of input (Ctrl-D) or Ctrl-C at the password prompt of a terminal: nothing is
    created, and the command says why in one line rather than with a traceback."""
    path = write_config(tmp_path / "pod")
    control, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [HEARTH, "account", "create", "--config", str(path), "--username", "zed",
             "--email", "z@example.org"],
            stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True,  # no controlling terminal: the prompt reads standard input
        )  # fmt: skip
        assert proc.stderr is not None
        # Once prompted: the prompt flushes what the terminal had before it.
        prompt = os.read(proc.stderr.fileno(), 100)
        assert prompt == b"Password: ", prompt
        if stop == "eof":
            os.write(control, b"\x04")
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(control)
        os.close(terminal)
    assert proc.returncode == code, err
    assert out == ""
    assert one_line(err) == said, err
    assert not (tmp_path / "pod" / "data" / "hearth.db").exists()


async def test_account_invite(
    tmp_path: Path, make_pod: PodFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path / "pod")
    assert await run(["account", "invite", "--config", str(path), "--max-uses", "1"]) == 0
    code = capsys.readouterr().out.strip()
    assert code and " " not in code
    pod = await make_pod(data_dir=tmp_path / "pod" / "data", instance={"registration": "invite"})
    body = {"username": "carol", "email": "c@example.org", "password": PASSWORD}
    await pod.call("POST", "/api/v1/accounts", json={**body, "inviteCode": code}, expect=201)
    body = {"username": "dave", "email": "d@example.org", "password": PASSWORD}
    await pod.call("POST", "/api/v1/accounts", json={**body, "inviteCode": code}, expect=403)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("closed", "registration is closed"),
        ("open", "registration is open to anyone without a code"),
        ("invite", None),
    ],
)
async def test_account_invite_says_when_the_registration_mode_takes_no_codes(
    tmp_path: Path,
    make_pod: PodFactory,
    mode: str,
    said: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A code handed over while registration is closed is refused with the rest; while it is
    open, it does nothing. The code is kept for when the mode is "invite", and printed still."""
    path = write_config(tmp_path / "pod", extra=f'[instance]\nregistration = "{mode}"\n')
    assert await run(["account", "invite", "--config", str(path)]) == 0
    captured = capsys.readouterr()
    code = captured.out.strip()
    if said is None:
        assert captured.err == ""
    else:
        line = one_line(captured.err)
        assert line.startswith(said) and 'once instance.registration is "invite"' in line
        assert code not in line
    pod = await make_pod(data_dir=tmp_path / "pod" / "data", instance={"registration": "invite"})
    body = {"username": "carol", "email": "c@example.org", "password": PASSWORD}
    await pod.call("POST", "/api/v1/accounts", json={**body, "inviteCode": code}, expect=201)


async def test_account_and_token_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    monkeypatch.setenv("PW", PASSWORD)
    monkeypatch.delenv("UNSET_PW", raising=False)

    def create(username: str, email: str, env: str = "PW") -> list[str]:
        return ["account", "create", "--config", path, "--username", username, "--email", email,
                "--password-env", env]  # fmt: skip

    cases = [
        (create("eve", "e@example.org", "UNSET_PW"), "UNSET_PW is not set"),
        (create("bad name", "e@example.org"), "username"),
        (create("eve", "not an email"), "email"),
        (create("eve", "e@example.org"), None),  # works
        (create("Eve", "other@example.org"), "username is taken"),
        (create("eve2", "E@example.org"), "email exists"),
        (["token", "create", "--config", path, "--username", "nobody"], "no local identity"),
    ]
    for argv, message in cases:
        code = await run(argv)
        captured = capsys.readouterr()
        if message is None:
            assert code == 0, captured.err
            continue
        assert code == 1, argv
        assert message in one_line(captured.err), captured.err
        assert captured.out == ""


def test_arguments_that_are_not_utf8_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    # What a shell passes for bytes that are not UTF-8.
    bad = b"z\xff".decode("utf-8", "surrogateescape")
    for argv in (
        ["token", "create", "--username", bad],
        ["token", "create", "--username", "alice", "--name", bad],
        ["account", "create", "--username", "alice", "--email", f"{bad}@example.org"],
        ["deliveries", "retry", "--host", bad],
    ):
        with pytest.raises(SystemExit) as info:
            main([*argv, "--config", path])
        assert info.value.code == 2
        assert "not UTF-8 text" in one_line(capsys.readouterr().err)


async def test_a_password_that_is_not_utf8_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    assert await run(["migrate", "--config", path]) == 0
    capsys.readouterr()
    # What Python makes of bytes that are not UTF-8, in the environment or on standard input.
    bad = b"correct \xffhorse".decode("utf-8", "surrogateescape")
    monkeypatch.setenv("BAD_PW", bad)
    create = ["account", "create", "--config", path, "--username", "eve"]
    for argv, stdin in (
        ([*create, "--email", "e@example.org", "--password-env", "BAD_PW"], ""),
        ([*create, "--email", "e@example.org"], bad + "\n"),
        (["account", "password", "--config", path, "eve", "--password-env", "BAD_PW"], ""),
    ):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        assert await run(argv) == 1, argv
        assert "the password is not UTF-8 text" in one_line(capsys.readouterr().err)
    db = await Database(tmp_path / "pod" / "data" / "hearth.db").open()
    try:
        assert await db.fetchval("SELECT count(*) FROM accounts") == 0
    finally:
        await db.close()


async def test_bad_invite_and_token_values_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(write_config(tmp_path / "pod"))
    monkeypatch.setenv("PW", PASSWORD)
    argv = ["account", "create", "--config", path, "--username", "eve"]
    assert await run([*argv, "--email", "e@example.org", "--password-env", "PW"]) == 0
    invite = ["account", "invite", "--config", path]
    token = ["token", "create", "--config", path, "--username", "eve"]
    cases = [
        ([*invite, "--max-uses", "0"], "--max-uses: a whole number from 1 to"),  # never usable
        ([*invite, "--max-uses", "-3"], "--max-uses: a whole number from 1 to"),
        ([*invite, "--max-uses", "99999999999999999999"], "--max-uses: a whole number from 1"),
        ([*invite, "--days", "-2"], "--days: more than 0 and at most 3650 days"),  # expired
        ([*invite, "--days", "1e12"], "--days: more than 0"),  # past the year 9999
        ([*invite, "--days", "nan"], "--days: more than 0"),
        ([*token, "--days", "0"], "--days: more than 0"),  # was a token that never expires
        ([*token, "--days", "-1"], "--days: more than 0"),  # already expired
        ([*token, "--days", "1e12"], "--days: more than 0"),
        ([*token, "--days", "inf"], "--days: more than 0"),
        ([*token, "--scopes", ""], "--scopes: at least one scope"),  # a token for nothing
        ([*token, "--scopes", " , "], "--scopes: at least one scope"),
        ([*token, "--scopes", "profile bogus"], "--scopes: unknown scopes: bogus"),
    ]
    capsys.readouterr()
    for argv, message in cases:
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2, argv
        captured = capsys.readouterr()
        assert f"error: argument {message}" in one_line(captured.err), argv
        assert captured.out == ""

    # The bounds themselves are fine, and an invite's --days 0 still means it never expires.
    assert await run([*invite, "--days", "0", "--max-uses", "10000"]) == 0
    assert await run([*token, "--days", "3650", "--scopes", "profile"]) == 0
    db = await Database(tmp_path / "pod" / "data" / "hearth.db").open()
    try:
        invites = await db.fetchall("SELECT max_uses, expires_at FROM registration_invites")
        tokens = await db.fetchall("SELECT expires_at FROM sessions WHERE kind = 'app'")
    finally:
        await db.close()
    assert [tuple(r) for r in invites] == [(10000, None)]
    assert len(tokens) == 1 and tokens[0][0] is not None  # it expires


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- serve ----------------------------------------------------------------------------------


@dataclass
class Serving:
    """A `hearth serve` process; `output` holds what it wrote once it has stopped."""

    port: int
    proc: subprocess.Popen[bytes]
    output: str = ""
    code: int | None = None


@asynccontextmanager
async def serving(
    folder: Path, workers: int = 1, event_loop: str = "auto"
) -> AsyncIterator[Serving]:
    """Run `hearth serve` on a free port until healthy; SIGTERM it on leaving."""
    port = free_port()
    # The file says one port; the environment overrides it.
    path = write_config(folder, port=1)
    env = {
        **os.environ,
        "HEARTH_SERVER__PORT": str(port),
        "HEARTH_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "HEARTH_SERVER__WORKERS": str(workers),
        "HEARTH_SERVER__EVENT_LOOP": event_loop,
    }
    log = (folder / "serve.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen(
        [HEARTH, "serve", "--config", str(path)], stdout=log, stderr=subprocess.STDOUT, env=env
    )
    run = Serving(port, proc)
    try:
        async with ClientSession() as http:

            async def healthy() -> bool:
                if proc.poll() is not None:
                    log.seek(0)
                    raise AssertionError(f"serve exited {proc.returncode}: {log.read()}")
                try:
                    async with http.get(f"http://127.0.0.1:{port}/api/v1/system/health") as r:
                        return r.status == 200
                except ClientError:
                    return False

            await wait_for(healthy, timeout=15)
        yield run
        proc.send_signal(signal.SIGTERM)
        run.code = await asyncio.to_thread(proc.wait, 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.seek(0)
        run.output = log.read()
        log.close()


@pytest.mark.parametrize(("event_loop", "runs"), [("auto", "uvloop"), ("asyncio", "asyncio")])
async def test_serve_starts_and_stops_cleanly_on_sigterm(
    tmp_path: Path, event_loop: str, runs: str
) -> None:
    async with serving(tmp_path / "pod", event_loop=event_loop) as run:
        pass
    assert run.code == 0, run.output
    assert f"listening on http://127.0.0.1:{run.port}" in run.output
    assert f"event loop {runs})" in run.output
    assert "Traceback" not in run.output
    data = tmp_path / "pod" / "data"
    assert (data / "hearth.db").is_file()
    # Everything the pod wrote is its user's alone, the media it keeps too.
    assert mode(data) == mode(data / "media") == 0o700 and mode(data / "hearth.db") == 0o600


async def test_serve_logs_json_lines_without_the_tokens_of_malformed_requests(
    tmp_path: Path,
) -> None:
    secret = "Q2hpY2tlbnNBcmVOb3RTZWNyZXRz"
    async with serving(tmp_path / "pod") as run:
        for head in (
            # A control character after the token: aiohttp cannot parse the header line.
            f"GET /api/v1/identity/current HTTP/1.1\r\nAuthorization: Bearer {secret}\x01",
            f"GET /api/v1/identity/current HTTP/1.1\r\nAuthorization: Bearer {secret}" + "x" * 9000,
        ):
            reader, writer = await asyncio.open_connection("127.0.0.1", run.port)
            writer.write(head.encode() + b"\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (await reader.readline()).startswith(b"HTTP/1.0 400")
            writer.close()
    assert run.code == 0, run.output
    assert secret not in run.output
    records = [json.loads(line) for line in run.output.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["message"].startswith("listening on") for r in records)
    malformed = [r for r in records if r["message"].startswith("malformed request from 127.0.0.1")]
    assert len(malformed) == 2 and all(r["level"] == "info" for r in malformed)


async def test_a_client_gone_mid_body_is_no_server_error(tmp_path: Path) -> None:
    async with serving(tmp_path / "pod") as run:
        for path in ("/api/v1/sessions", "/inbox"):
            _, writer = await asyncio.open_connection("127.0.0.1", run.port)
            writer.write(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                'Content-Length: 5000\r\n\r\n{"username": '.encode()
            )
            await writer.drain()
            await asyncio.sleep(0.3)  # the handler is waiting for the rest of the body
            writer.close()
        await asyncio.sleep(0.3)
    assert run.code == 0, run.output
    records = [json.loads(line) for line in run.output.splitlines()]
    assert [r for r in records if r["level"] not in ("info", "debug")] == []
    gone = [r["message"] for r in records if r["message"].startswith("client went away")]
    assert gone == ["client went away during POST /api/v1/sessions"], run.output


def children(pid: int) -> list[int]:
    return sorted(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())


async def get_once(port: int, path: str) -> Any:
    """GET over a connection of its own: the kernel hands each to any process of the pod."""
    async with ClientSession() as http, http.get(f"http://127.0.0.1:{port}{path}") as resp:
        assert resp.status == 200
        return await resp.json()


async def metrics(port: int) -> dict[str, int]:
    return dict((await get_once(port, "/api/v1/system/metrics"))["requests"])


async def test_serve_with_several_processes_counts_for_the_pod_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path / "pod", workers=2) as run:
        await wait_for(lambda: asyncio.to_thread(lambda: len(children(run.proc.pid)) == 2))
        pids = children(run.proc.pid)
        before = await metrics(run.port)
        for _ in range(20):
            await get_once(run.port, "/api/v1/system/health")
        after = await metrics(run.port)
        # Whichever process answers counts the whole pod (and the first metrics request).
        assert after["2xx"] - before["2xx"] == 21
    assert run.code == 0, run.output
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    records = [json.loads(line) for line in run.output.splitlines()]
    # Said once all serve; what a process logs says which (the first migrated the database).
    assert any(
        r["message"] == f"listening on http://127.0.0.1:{run.port} with 2 processes (public"
        f" URL http://127.0.0.1:{run.port}; event loop uvloop)"
        for r in records
    ), run.output
    assert [r["process"] for r in records if r["message"].startswith("applied migrations")] == [0]
    assert "Traceback" not in run.output


def listening_on(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port` (Linux's own table)."""
    wanted = f"0100007F:{port:04X}"
    lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for line in lines if line.split()[1] == wanted and line.split()[3] == "0A")


async def test_each_process_listens_on_a_socket_of_its_own(tmp_path: Path) -> None:
    """The kernel then spreads new connections over the processes: on one shared socket, the
    first to wake accepts every connection waiting (seen: all of a client's in one process)."""
    async with serving(tmp_path / "pod", workers=3) as run:
        await wait_for(lambda: asyncio.to_thread(lambda: len(children(run.proc.pid)) == 3))
        assert listening_on(run.port) == 3
    async with serving(tmp_path / "one") as run:
        assert listening_on(run.port) == 1


async def test_serve_starts_a_stopped_process_again_and_stops_when_the_first_stops(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path / "pod", workers=3) as run:
        await wait_for(lambda: asyncio.to_thread(lambda: len(children(run.proc.pid)) == 3))
        first, second, _ = children(run.proc.pid)  # in the order they were started
        os.kill(second, signal.SIGKILL)

        def replaced() -> bool:
            now = children(run.proc.pid)
            return len(now) == 3 and second not in now

        await wait_for(lambda: asyncio.to_thread(replaced))
        await get_once(run.port, "/api/v1/system/health")
        others = [p for p in children(run.proc.pid) if p != first]
        os.kill(first, signal.SIGKILL)
        code = await asyncio.to_thread(run.proc.wait, 30)
        assert code == 1
        assert not any(Path(f"/proc/{pid}").exists() for pid in others)
    assert "process 1 of the pod stopped (killed by SIGKILL); starting it again" in run.output
    assert "hearth: the pod's first process stopped (killed by SIGKILL)" in run.output


async def test_serve_stops_cleanly_when_every_process_is_signalled(tmp_path: Path) -> None:
    """A service manager stopping the pod signals each of its processes (systemd's default):
    each then has a SIGTERM from it and one from `serve`, and the second must not cut short the
    clean stop the first began."""
    async with serving(tmp_path / "pod", workers=2) as run:
        await wait_for(lambda: asyncio.to_thread(lambda: len(children(run.proc.pid)) == 2))
        pids = children(run.proc.pid)
        # Requests under way (waiting for the rest of their bodies) keep the stop going on.
        writers = []
        for _ in range(4):
            _, writer = await asyncio.open_connection("127.0.0.1", run.port)
            writer.write(
                b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b'Content-Length: 5000\r\n\r\n{"username": '
            )
            await writer.drain()
            writers.append(writer)
        await asyncio.sleep(0.3)
        for pid in [*pids, run.proc.pid]:
            os.kill(pid, signal.SIGTERM)
        await asyncio.sleep(0.5)
        for writer in writers:
            writer.close()
        run.code = await asyncio.to_thread(run.proc.wait, 30)
    assert run.code == 0, run.output
    assert "Traceback" not in run.output and "failed" not in run.output, run.output


async def test_serve_stops_cleanly_when_a_process_still_starting_is_signalled(
    tmp_path: Path,
) -> None:
    """The same, a process of the pod still starting: it dies of the signal (it does not handle
    it yet), and `serve`, whose own signal comes just after, stops as asked, not as failed."""
    async with serving(tmp_path / "pod", workers=2) as run:

        async def second() -> list[int]:
            found = children(run.proc.pid)
            return found if len(found) == 2 else []

        starting = (await wait_for(second, interval=0.002))[1]
        os.kill(starting, signal.SIGTERM)
        await asyncio.sleep(0.05)
        os.kill(run.proc.pid, signal.SIGTERM)
        run.code = await asyncio.to_thread(run.proc.wait, 30)
    assert run.code == 0, run.output
    assert "did not start" not in run.output, run.output


_TWO_SIGNALS = """
import asyncio, os, signal
from aiohttp import web
from node.serve import _stop_once

async def signal_twice(app: web.Application) -> None:
    async def later() -> None:
        await asyncio.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)  # both read in the same turn of the loop
        os.kill(os.getpid(), signal.SIGTERM)
    tasks.append(asyncio.create_task(later()))

async def slow_cleanup(app: web.Application):
    yield
    await asyncio.sleep(0.3)  # the clean stop under way when the second one runs

tasks = []
app = web.Application()
app.on_startup.insert(0, _stop_once)
app.on_startup.append(signal_twice)
app.cleanup_ctx.append(slow_cleanup)
web.run_app(app, host="127.0.0.1", port=0, print=None, handle_signals=False)
print("stopped")
"""


def test_two_stop_signals_in_one_turn_of_the_loop_stop_a_process_once() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _TWO_SIGNALS], capture_output=True, text=True, timeout=30
    )
    assert (result.returncode, result.stdout) == (0, "stopped\n"), result.stderr


def running(pid: int) -> bool:
    """Whether `pid` is a process still running (not gone, nor a zombie nobody reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGHUP])
async def test_the_processes_of_the_pod_stop_when_serve_is_gone(
    tmp_path: Path, sig: signal.Signals
) -> None:
    """`serve` ended by a signal it cannot handle (or leaves to its default, as a closed
    terminal's hangup): the processes it started stop too, and the port is free again."""
    async with serving(tmp_path / "pod", workers=2) as run:
        await wait_for(lambda: asyncio.to_thread(lambda: len(children(run.proc.pid)) == 2))
        pids = children(run.proc.pid)
        os.kill(run.proc.pid, sig)
        await asyncio.to_thread(run.proc.wait, 10)

        def all_gone() -> bool:
            return not any(running(pid) for pid in pids)

        try:
            await wait_for(lambda: asyncio.to_thread(all_gone), timeout=15)
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        with socket.socket() as again:
            again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            again.bind(("127.0.0.1", run.port))


def test_serve_with_a_bad_config_prints_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[server]\nport = "eighty"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    result = subprocess.run(
        [HEARTH, "serve", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    line = one_line(result.stderr)
    assert line.startswith("hearth: server.port: ")


def test_serve_on_a_port_in_use_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        path = write_config(tmp_path / "pod", port=port)
        assert main(["serve", "--config", str(path)]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("hearth: server.port: ") and str(port) in line

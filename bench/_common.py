"""Shared pieces of the benchmark scripts: pod config, listening sockets, child processes.

Everything here talks to 127.0.0.1 only. Child processes are started with the `spawn` method,
stop when the parent sends "stop", closes its end of the pipe (or dies), or when their lifetime
runs out, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web

from node.app import create_app
from node.config import NodeConfig, build_config

LOOPBACK = "127.0.0.1"
PASSWORD = "correct horse battery"


def pod_config(data_dir: Path, port: int, **sections: dict[str, Any]) -> NodeConfig:
    """Like tests/conftest.py `pod_config`: cheap argon2, private addresses allowed."""
    data: dict[str, Any] = {
        "server": {"host": LOOPBACK, "port": port, "public_url": f"http://{LOOPBACK}:{port}"},
        "storage": {"data_dir": str(data_dir)},
        "auth": {"argon2_time_cost": 1, "argon2_memory_kib": 64},
        "federation": {"allow_private_addresses": True},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return build_config(data, env={})


def listening_socket() -> socket.socket:
    """A TCP socket bound to a free loopback port (no bind/close/rebind race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((LOOPBACK, 0))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


async def serve(app: web.Application, socks: list[socket.socket]) -> web.AppRunner:
    """Serve `app` on already-bound sockets, without an access log (as `hearth serve`)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    for sock in socks:
        await web.SockSite(runner, sock).start()
    return runner


async def start_pod(data_dir: Path, **sections: dict[str, Any]) -> tuple[web.AppRunner, NodeConfig]:
    """A real pod (create_app) on a free loopback port with its SQLite file in `data_dir`."""
    sock = listening_socket()
    config = pod_config(data_dir, port_of(sock), **sections)
    return await serve(create_app(config), [sock]), config


async def register(http: ClientSession, base: str, username: str) -> tuple[str, str]:
    """Register and log in through the API; returns (bearer token, identity guid)."""
    account = {"username": username, "email": f"{username}@example.org", "password": PASSWORD}
    async with http.post(f"{base}/api/v1/accounts", json=account) as resp:
        assert resp.status == 201, f"register: {resp.status} {await resp.text()}"
        identity = (await resp.json())["identity"]["id"]
    login = {"username": username, "password": PASSWORD}
    async with http.post(f"{base}/api/v1/sessions", json=login) as resp:
        assert resp.status == 201, f"login: {resp.status} {await resp.text()}"
        token = (await resp.json())["token"]
    return token, identity


@contextlib.contextmanager
def sqlite(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to a pod's database (WAL lets it sit beside the pod's own)."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        yield conn
    finally:
        conn.close()


# --- a pod run as `hearth serve` -------------------------------------------------------------


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


@dataclass
class Served:
    """`hearth serve` in a process of its own, as an operator runs it."""

    process: subprocess.Popen[bytes]
    url: str
    database: Path
    workers: int

    def pids(self) -> list[int]:
        """The processes serving: the pod's own, or with several, the supervisor's children."""
        if self.workers == 1:
            return [self.process.pid]
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the serving processes: in all, and on their event loops."""
        pids = self.pids()
        return sum(cpu_seconds(p) for p in pids), sum(cpu_seconds(p, p) for p in pids)

    def cpu_each(self) -> list[float]:
        """CPU seconds so far of each serving process."""
        return [cpu_seconds(p) for p in self.pids()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_served(data_dir: Path, workers: int, **sections: dict[str, Any]) -> Served:
    """`hearth serve` with `server.workers = workers` on a free loopback port, until it answers."""
    with contextlib.closing(listening_socket()) as probe:
        port = port_of(probe)
    config = pod_config(data_dir, port, **sections)
    data_dir.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, Any]] = {
        "server": {"host": LOOPBACK, "port": port, "public_url": config.server.public_url,
                   "workers": workers},
        "storage": {"data_dir": str(data_dir)},
        "auth": {"argon2_time_cost": 1, "argon2_memory_kib": 64},
        "federation": {"allow_private_addresses": True},
    }  # fmt: skip
    for name, values in sections.items():
        tables.setdefault(name, {}).update(values)
    path = data_dir.parent / f"{data_dir.name}.toml"
    path.write_text(
        "".join(
            f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in values.items())
            for name, values in tables.items()
        ),
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    log = data_dir.parent / f"{data_dir.name}.log"  # the pod's log lines, out of the figures' way
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "node.cli", "serve", "--config", str(path)],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(process, config.server.public_url, config.database_path, workers)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"hearth serve exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{served.url}/api/v1/system/health", timeout=5):
                pass  # answered (2xx): serving; every process, once all have started
            if workers == 1 or len(served.pids()) == workers:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            served.stop()
            raise RuntimeError("hearth serve did not start within 60 s")
        time.sleep(0.1)
    return served


# --- child processes ------------------------------------------------------------------------


@dataclass
class Child:
    process: BaseProcess
    conn: Connection
    info: Any  # what the child sent once it was ready


def start_child(target: Callable[..., None], *args: Any, ready_timeout: float = 60.0) -> Child:
    """Run `target(conn, *args)` in a spawned process and wait for the first message it sends."""
    ctx = multiprocessing.get_context("spawn")
    parent_end, child_end = ctx.Pipe()
    process = ctx.Process(target=target, args=(child_end, *args), daemon=True)
    process.start()
    child_end.close()
    child = Child(process, parent_end, None)
    if not parent_end.poll(ready_timeout):
        stop_child(child)
        raise RuntimeError(f"child process did not start within {ready_timeout}s")
    child.info = parent_end.recv()
    return child


def stop_child(child: Child, timeout: float = 20.0) -> None:
    with contextlib.suppress(OSError):
        child.conn.send("stop")
    child.conn.close()
    child.process.join(timeout)
    if child.process.is_alive():
        child.process.terminate()
        child.process.join(5)


async def run_until_stopped(conn: Connection, info: Any, lifetime: float) -> None:
    """In a child: report `info` to the parent, then wait for "stop", EOF or `lifetime`."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            conn.recv()
        loop.call_soon_threadsafe(stop.set)

    conn.send(info)
    threading.Thread(target=watch, daemon=True).start()  # daemon: never holds up the exit
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), lifetime)


def cpu_seconds(pid: int | None, thread: int | None = None) -> float:
    """User + system CPU time of a process (or one of its threads) so far, from Linux /proc;
    NaN where unknown."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


# --- printing -------------------------------------------------------------------------------


def verdict(ratio: float, target: float) -> str:
    return "target met" if ratio >= target else "TARGET MISSED"

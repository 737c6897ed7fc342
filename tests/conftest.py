"""Pods for tests: real apps on 127.0.0.1 ports with their own SQLite files."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientSession
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from node.api.traffic import Traffic
from node.app import create_app
from node.clock import ManualClock
from node.config import NodeConfig, build_config
from node.store.turn import TurnBoard
from node.workers import Wakes, WorkerRole
from tests.remote import RemoteServer
from tests.support import Pod, Trio, free_port

_counter = itertools.count()


def pod_config(data_dir: Path, port: int, **sections: dict[str, Any]) -> NodeConfig:
    data: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        "storage": {"data_dir": str(data_dir)},
        # Cheap hashing keeps the suite fast; production defaults stay memory-hard.
        "auth": {"argon2_time_cost": 1, "argon2_memory_kib": 64},
        "federation": {"allow_private_addresses": True},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return build_config(data, env={})


PodFactory = Callable[..., Awaitable[Pod]]


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    """A scripted remote server (tests/remote.py) with one actor and a key of its own."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    server = await RemoteServer(key).start()
    yield server
    await server.close()


@pytest.fixture
async def make_pod(tmp_path: Path) -> AsyncIterator[PodFactory]:
    """Start pods on real ports; `await make_pod(federation={...})`. All stop at teardown.

    With `role` (node/workers.py), one process of a pod of several: give each the same
    `data_dir` and, in `server`, the same `public_url`."""
    pods: list[Pod] = []
    # One world time for every pod of a test, so moving it ahead keeps signatures in window.
    world = ManualClock()

    async def start(
        data_dir: Path | None = None,
        port: int | None = None,
        clock: ManualClock | None = None,
        role: WorkerRole | None = None,
        traffic: Traffic | None = None,
        **sections: dict[str, Any],
    ) -> Pod:
        port = port or free_port()
        data_dir = data_dir or tmp_path / f"pod{next(_counter)}"
        config = pod_config(data_dir, port, **sections)
        clock = clock or world
        app = create_app(config, clock=clock, role=role, traffic=traffic)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        pod = Pod(config=config, server=server, clock=clock, http=ClientSession())
        pods.append(pod)
        return pod

    yield start
    for pod in pods:
        await pod.stop()


@pytest.fixture
async def pod(make_pod: PodFactory) -> Pod:
    return await make_pod()


async def json_of(resp: ClientResponse) -> Any:
    return await resp.json(content_type=None)


@pytest.fixture
async def trio(make_pod: PodFactory) -> Trio:
    pod = await make_pod()
    return Trio(pod, await pod.register("alice"), await pod.register("bob"),
                await pod.register("carol"))  # fmt: skip


@pytest.fixture
async def wakes() -> AsyncIterator[Wakes]:
    """The channel to the primary of a pod of two processes (as `hearth serve` makes it)."""
    channel = Wakes()
    yield channel
    channel.close()


@pytest.fixture
async def turns() -> AsyncIterator[TurnBoard]:
    """The write-turn board of a pod of two processes."""
    board = TurnBoard(2)
    yield board
    board.close()

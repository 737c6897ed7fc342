"""Flows between pods where one pod runs as two processes and consecutive requests, from its
users and from other pods, land on different processes (tests/spread.py): what one process
learns or changes, the other acts on; what the other queues, the first sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from node.workers import Wakes
from tests.conftest import PodFactory
from tests.federation.test_hostile import Scene
from tests.hostile import HostilePod, new_key
from tests.spread import SpreadPod, spread_pod


@pytest.fixture
async def wakes() -> AsyncIterator[Wakes]:
    channel = Wakes()
    yield channel
    channel.close()


@pytest.fixture
async def spread(wakes: Wakes, make_pod: PodFactory, tmp_path: Path) -> AsyncIterator[SpreadPod]:
    async with spread_pod(make_pod, tmp_path / "spread", wakes) as pod:
        yield pod


@pytest.fixture(scope="module")
def keys() -> tuple[RSAPrivateKey, RSAPrivateKey]:
    return new_key(), new_key()


@pytest.fixture
async def hostile(keys: tuple[RSAPrivateKey, RSAPrivateKey]) -> AsyncIterator[HostilePod]:
    pod = await HostilePod().start()
    pod.add_actor("mallory", keys[0])
    yield pod
    await pod.close()


async def test_a_key_rotation_one_process_saw_holds_in_the_other(
    spread: SpreadPod, hostile: HostilePod, keys: tuple[RSAPrivateKey, RSAPrivateKey]
) -> None:
    """A remote actor's new key, fetched by one process, is the key in every process: the old
    one (perhaps leaked: why keys are rotated) signs nothing more anywhere."""
    scene = Scene(spread, await spread.register("alice"), hostile)
    for index in (0, 1):  # each process has verified (and keeps) mallory's key
        with spread.on(index):
            await scene.accepted(scene.follow())
    hostile.keys["mallory"] = keys[1]
    with spread.on(0):
        await scene.accepted(scene.follow())  # fails with the old key: fetched again
    for index in (0, 1):
        with spread.on(index):
            status, data = await scene.post(scene.follow(), key=keys[0])
            assert (status, (data or {}).get("error")) == (401, "signature_invalid"), index

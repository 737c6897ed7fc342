"""One pod with three people on it: alice, bob and carol."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.conftest import PodFactory
from tests.support import Pod, User


@dataclass
class Trio:
    pod: Pod
    alice: User
    bob: User
    carol: User


@pytest.fixture
async def trio(make_pod: PodFactory) -> Trio:
    pod = await make_pod()
    return Trio(pod, await pod.register("alice"), await pod.register("bob"),
                await pod.register("carol"))  # fmt: skip

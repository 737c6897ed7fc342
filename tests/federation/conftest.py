"""Fixtures for the federation tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.hostile import HostilePod, new_key


@pytest.fixture
async def hostile() -> AsyncIterator[HostilePod]:
    """A remote pod with one actor, mallory (test_hostile.py brings its own, with two)."""
    pod = await HostilePod().start()
    pod.add_actor("mallory", new_key())
    yield pod
    await pod.close()

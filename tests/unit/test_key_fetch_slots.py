"""Unit tests for the directory's bound on concurrent fetches of unknown keys per host."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

from federation.actors import KEY_FETCHES_PER_HOST, ActorDirectory
from federation.client import FetchError
from federation.refetch import FailedFetches, RefetchLimit
from federation.urls import Urls, host_of
from node.clock import ManualClock
from node.errors import ApiError


class StalledClient:
    """A client whose fetches hang until released, then fail; it counts them per host."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()

    async def get_json(self, url: str, **_: Any) -> dict[str, Any]:
        host = host_of(url)
        self.now[host] += 1
        self.most[host] = max(self.most[host], self.now[host])
        try:
            await self.release.wait()
        finally:
            self.now[host] -= 1
        raise FetchError("unreachable", "timeout")


class NoRows:
    """A database that knows no actor."""

    async def fetchone(self, sql: str, params: Any = ()) -> None:
        return None


def directory(client: StalledClient, fetch_timeout: float) -> ActorDirectory:
    interval = timedelta(minutes=5)
    return ActorDirectory(
        NoRows(),  # type: ignore[arg-type]
        client,  # type: ignore[arg-type]
        Urls("https://pod.example"),
        ManualClock(),
        try_http=False,
        refetches=RefetchLimit(interval),
        failures=FailedFetches(interval),
        fetch_timeout=fetch_timeout,
    )


def key(n: int, host: str = "slow.example") -> str:
    return f"https://{host}/users/u{n}#main-key"


async def test_unknown_keys_of_one_host_are_fetched_a_few_at_a_time() -> None:
    client = StalledClient()
    actors = directory(client, fetch_timeout=30.0)
    slow = [asyncio.create_task(actors.key_for(key(n))) for n in range(20)]
    other = [asyncio.create_task(actors.key_for(key(n, "other.example"))) for n in range(2)]
    for _ in range(20):
        await asyncio.sleep(0)
    assert client.now == {"slow.example": KEY_FETCHES_PER_HOST, "other.example": 2}
    client.release.set()
    for result in await asyncio.gather(*slow, *other, return_exceptions=True):
        assert isinstance(result, ApiError) and result.code == "signature_key_unknown"
    assert client.most["slow.example"] == KEY_FETCHES_PER_HOST
    assert actors._key_slots == {}  # nothing is kept for hosts no one waits for


async def test_waiting_past_the_fetch_timeout_fails_as_a_fetch() -> None:
    client = StalledClient()
    actors = directory(client, fetch_timeout=0.2)
    tasks = [asyncio.create_task(actors.key_for(key(n))) for n in range(KEY_FETCHES_PER_HOST + 3)]
    fetching, waited = tasks[:KEY_FETCHES_PER_HOST], tasks[KEY_FETCHES_PER_HOST:]
    await asyncio.wait(waited, timeout=10.0)
    assert all(t.done() for t in waited)  # they never got a slot
    assert not any(t.done() for t in fetching)  # these still hang in the client
    for task in waited:
        exc = task.exception()
        assert isinstance(exc, ApiError) and (exc.status, exc.code) == (
            401,
            "signature_key_unknown",
        )
    client.release.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert actors._key_slots == {}

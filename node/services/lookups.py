"""Looking several identities up at once: a post naming people on slow or stalled hosts waits
about as long as the slowest lookup, not their sum, without one request opening dozens of
fetches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

LOOKUPS_AT_ONCE = 5


async def each_at_once(
    items: Sequence[T], lookup: Callable[[T], Awaitable[R]], limit: int = LOOKUPS_AT_ONCE
) -> list[R]:
    """`lookup` of every item, at most `limit` running at a time, results in the items'
    order. When some fail, the first failure in that order is raised (as one after another
    would have), once all have ended; when the caller goes away, none is left running."""
    slots = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with slots:
            return await lookup(item)

    tasks = [asyncio.ensure_future(one(item)) for item in items]
    try:
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for task in tasks:
            task.cancel()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes  # type: ignore[return-value]

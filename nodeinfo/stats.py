"""Usage statistics for NodeInfo: counted from storage, cached per app for a short while."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from node.clock import Clock, iso
from node.store import stats as stats_store
from node.store.db import Queryable
from nodeinfo.documents import Usage

CACHE_TTL = timedelta(seconds=60)
ACTIVE_MONTH = timedelta(days=30)
ACTIVE_HALFYEAR = timedelta(days=180)


async def count_usage(q: Queryable, now: datetime) -> Usage:
    counts = await stats_store.usage_counts(
        q, month_since=iso(now - ACTIVE_MONTH), halfyear_since=iso(now - ACTIVE_HALFYEAR)
    )
    return Usage(
        users_total=counts.accounts,
        users_active_month=counts.active_month,
        users_active_halfyear=counts.active_halfyear,
        local_posts=counts.local_posts,
        local_comments=counts.local_comments,
    )


class UsageCache:
    """One per app. Crawlers poll NodeInfo often; the counts may lag by up to `ttl`.

    Expiry follows the app's Clock, so tests that move a ManualClock also age the cache.
    """

    def __init__(self, db: Queryable, clock: Clock, ttl: timedelta = CACHE_TTL) -> None:
        self._db = db
        self._clock = clock
        self._ttl = ttl
        self._value: Usage | None = None
        self._counted_at: datetime | None = None
        # Concurrent requests on a cold cache share one count instead of each running it.
        self._lock = asyncio.Lock()

    def _fresh(self, now: datetime) -> Usage | None:
        if self._value is None or self._counted_at is None:
            return None
        # A clock that moved backwards also invalidates (age < 0 is not "fresh").
        if timedelta(0) <= now - self._counted_at < self._ttl:
            return self._value
        return None

    async def get(self) -> Usage:
        cached = self._fresh(self._clock.now())
        if cached is not None:
            return cached
        async with self._lock:
            now = self._clock.now()
            cached = self._fresh(now)
            if cached is not None:
                return cached
            value = await count_usage(self._db, now)
            self._value, self._counted_at = value, now
            return value

    def clear(self) -> None:
        self._value = None
        self._counted_at = None

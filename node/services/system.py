"""Version, health and metrics of the pod."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from node.clock import Clock
from node.store import deliveries as delivery_store
from node.store.db import Database, database_bytes

# Metrics may be scraped often, by anyone: what they count is read at most this often.
METRICS_FOR = timedelta(seconds=10)


@dataclass(frozen=True)
class Health:
    database: bool
    queue_depth: int | None


@dataclass(frozen=True)
class StoredMetrics:
    """Aggregates only: nothing about any one account, identity or remote host."""

    deliveries: dict[str, int]  # pending, running, dead
    paused_hosts: int
    database_bytes: int


class SystemService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._metrics: tuple[datetime, StoredMetrics] | None = None

    async def health(self) -> Health:
        try:
            depth = await delivery_store.depth(self._db)
        except (sqlite3.Error, ValueError):
            return Health(database=False, queue_depth=None)
        return Health(database=True, queue_depth=depth)

    async def metrics(self) -> StoredMetrics:
        now = self._clock.now()
        if self._metrics is not None and now - self._metrics[0] < METRICS_FOR:
            return self._metrics[1]
        counts = await delivery_store.counts_by_state(self._db)
        fresh = StoredMetrics(
            deliveries={state: counts.get(state, 0) for state in ("pending", "running", "dead")},
            paused_hosts=len(await delivery_store.paused_hosts(self._db)),
            database_bytes=await database_bytes(self._db),
        )
        self._metrics = (now, fresh)
        return fresh

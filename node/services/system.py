"""Version and health of the pod."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from node.store.db import Database


@dataclass(frozen=True)
class Health:
    database: bool
    queue_depth: int | None


class SystemService:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def health(self) -> Health:
        try:
            await self._db.fetchval("SELECT 1")
        except (sqlite3.Error, ValueError):
            return Health(database=False, queue_depth=None)
        depth = await self._db.fetchval(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'deliveries'"
        )
        if depth:
            depth = await self._db.fetchval(
                "SELECT count(*) FROM deliveries WHERE state IN ('pending', 'running')"
            )
        return Health(database=True, queue_depth=int(depth or 0))

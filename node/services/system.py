"""Version and health of the pod."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from node.store import deliveries as delivery_store
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
            depth = await delivery_store.depth(self._db)
        except (sqlite3.Error, ValueError):
            return Health(database=False, queue_depth=None)
        return Health(database=True, queue_depth=depth)

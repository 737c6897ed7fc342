"""Keeping a running pod's domain blocks in step with the database.

`hearth domain block` and `unblock` write to the database from another process, so the pod
reads the stored blocks again every `blocks_reload_seconds`: a block takes effect within that
time, without a restart (the config's `blocked_domains` always apply).
"""

from __future__ import annotations

import asyncio
import logging

from federation.blocks import DomainBlocks
from node.background import Background
from node.store import deliveries as delivery_store
from node.store.db import Database

log = logging.getLogger("hearth.blocks")


class BlockReloader(Background):
    """Loads the stored blocks into `blocks` now (`reload`) and every `every` seconds."""

    def __init__(self, db: Database, blocks: DomainBlocks, every: float) -> None:
        self._db = db
        self._blocks = blocks
        self._every = every
        super().__init__(self._run, "hearth-domain-blocks")

    async def reload(self) -> None:
        self._blocks.load(await delivery_store.blocked_domains(self._db))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.reload()
            except Exception:
                # The blocks last loaded stay in force; the next look may do better.
                log.exception("reading the domain blocks failed")

"""Forgetting the ids of old incoming activities.

The inbox remembers the id of every activity it takes (`inbox_seen`), so a repeated delivery
changes nothing; a Create of a note is not remembered, its note's own id keeping it once. An id
needs remembering only while a request carrying it could still be accepted: a signature whose
Date is more than `signature_window_seconds` from now is refused (so a request dated ahead
stays acceptable for up to twice the window), and posts, follows, interactions and deletions
are also kept apart by their own ids. So ids older than `inbox_seen_hours` (more than twice
the window, as the configuration insists) are forgotten every hour, oldest first and in
batches, and the table stays the size of a few days of traffic.
"""

from __future__ import annotations

import logging

from node.background import Pruner
from node.clock import iso
from node.store import deliveries as delivery_store

log = logging.getLogger("hearth.inbox")

BATCH = 10_000  # ids per transaction, so the writer is never held for long


class SeenIds(Pruner):
    """The inbox's memory of activity ids, kept to `keep`."""

    NAME = "hearth-inbox-seen"
    LOG = log

    async def prune_once(self) -> int:
        """Forget the ids received more than `keep` ago; returns how many."""
        since = iso(self._clock.now() - self._keep)
        first_kept = await delivery_store.first_seen_since(self._db, since)
        return await self._in_batches(
            lambda tx: delivery_store.forget_seen(tx, first_kept, since, BATCH)
        )

    async def _prune(self) -> None:
        gone = await self.prune_once()
        if gone:
            log.info("forgot %d activity ids older than %s", gone, self._keep)

"""Forgetting finished deliveries, and the activities no delivery needs any more.

Every activity we send is kept in `outbox` with a delivery row per inbox, so that a restart
resumes them and `hearth deliveries` shows what failed. Once delivered or given up, a row only
tells that story: rows finished more than `federation.delivery_history_days` ago are forgotten
every hour, oldest first and in batches, and then the activities older than that with no
delivery left. A pending delivery (a paused domain's, say) is never forgotten, nor is its
activity. Kept: a Group's boost of a post (whether it was sent decides whether the post's
deletion undoes it), one per public post of a space.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from federation.outbox import BOOST_SUFFIX
from node.background import Pruner
from node.clock import iso
from node.ids import guid_floor
from node.store import deliveries as delivery_store
from node.store.db import Tx

log = logging.getLogger("hearth.delivery")

BATCH = 5_000  # rows per transaction, so the writer is never held for long


class DeliveryHistory(Pruner):
    """Finished deliveries, and the activities no delivery needs, kept for `keep`."""

    NAME = "hearth-delivery-history"
    LOG = log

    async def prune_once(self) -> tuple[int, int]:
        """Forget what finished more than `keep` ago: (deliveries, activities) forgotten."""
        before = self._clock.now() - self._keep
        deliveries = 0
        for state in ("delivered", "dead"):
            deliveries += await self._batches(
                lambda tx, s=state: delivery_store.forget_finished(tx, s, iso(before), BATCH)
            )
        activities = await self._batches(
            lambda tx: delivery_store.forget_sent(tx, guid_floor(before), BOOST_SUFFIX, BATCH)
        )
        return deliveries, activities

    async def _batches(self, forget: Callable[[Tx], Awaitable[int]]) -> int:
        total = 0
        while True:
            async with self._db.transaction() as tx:
                gone = await forget(tx)
            total += gone
            if gone < BATCH:
                return total

    async def _prune(self) -> None:
        deliveries, activities = await self.prune_once()
        if deliveries or activities:
            log.info(
                "forgot %d deliveries and %d activities finished more than %s ago",
                deliveries, activities, self._keep,
            )  # fmt: skip

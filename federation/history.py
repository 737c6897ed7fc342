"""Forgetting finished deliveries, and the activities no delivery needs any more.

Every activity we send is kept in `outbox` with a delivery row per inbox, so that a restart
resumes them and `hearth deliveries` shows what failed. Once delivered or given up, a row only
tells that story: rows finished more than `federation.delivery_history_days` ago are forgotten
every hour, oldest first and in batches, and then the activities older than that with no
delivery left. A pending delivery is never forgotten, nor is its activity; but one still
waiting after those days for a domain paused since (failing, and not heard from) is given up
first, as a dead letter `hearth deliveries retry` can revive: a domain gone for good would
otherwise keep a row for everything sent its way. Kept: a Group's boost of a post (whether it
was sent decides whether the post's deletion undoes it), one per public post of a space.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

from federation.outbox import BOOST_SUFFIX
from node.background import Pruner
from node.clock import iso
from node.ids import guid_floor
from node.store import deliveries as delivery_store

log = logging.getLogger("hearth.delivery")

BATCH = 5_000  # rows per transaction, so the writer is never held for long
PAUSED_TOO_LONG = "domain paused too long"  # why a delivery still waiting was given up


class Pruned(NamedTuple):
    given_up: int  # deliveries that waited too long for a paused domain
    deliveries: int  # finished deliveries forgotten
    activities: int  # activities forgotten


class DeliveryHistory(Pruner):
    """Finished deliveries, and the activities no delivery needs, kept for `keep`."""

    NAME = "hearth-delivery-history"
    LOG = log

    async def prune_once(self) -> Pruned:
        """Give up what waited more than `keep` for a paused domain, and forget what
        finished more than `keep` ago."""
        now = self._clock.now()
        before = now - self._keep
        given_up = await self._in_batches(
            lambda tx: delivery_store.give_up_paused(
                tx, iso(before), PAUSED_TOO_LONG, iso(now), BATCH
            )
        )
        deliveries = 0
        for state in ("delivered", "dead"):
            deliveries += await self._in_batches(
                lambda tx, s=state: delivery_store.forget_finished(tx, s, iso(before), BATCH)
            )
        activities = await self._in_batches(
            lambda tx: delivery_store.forget_sent(tx, guid_floor(before), BOOST_SUFFIX, BATCH)
        )
        return Pruned(given_up, deliveries, activities)

    async def _prune(self) -> None:
        given_up, deliveries, activities = await self.prune_once()
        if given_up:
            log.warning(
                "gave up %d deliveries waiting more than %s for paused domains (%s)",
                given_up, self._keep, "hearth deliveries retry --host H sends them again",
            )  # fmt: skip
        if deliveries or activities:
            log.info(
                "forgot %d deliveries and %d activities finished more than %s ago",
                deliveries, activities, self._keep,
            )  # fmt: skip
